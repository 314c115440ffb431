"""GRU4Rec (Hidasi et al., "Session-based recommendations with recurrent neural networks", ICLR 2016),
and GRU4Rec_F, its variant with item attributes (Table 2 of the S3-Rec paper).

As the S3-Rec paper does, the GRU reads item *embeddings* (the original reads one-hot vectors). From the
original paper: one GRU layer, dropout 0.5 on its input, the final hidden state (here every step's) as
the user's state. From the S3-Rec setup, so every model is compared on equal terms: embedding and hidden
size d = ``arch.hidden_size`` (64), Adam, the shared fine-tuning loss, early stopping and evaluation. The
GRU's output at each step is projected back to d and scored against the item embeddings (Eq. 9).

GRU4Rec_F concatenates each item's embedding with the mean of its attributes' embeddings (the S3-Rec
paper: "item and attribute representations concatenated as input"), a [2d] input.

Padding: inputs are left-padded with 0. A GRU is not blind to padding (its biases move the state even
on a zero input), so the real items are moved to the front of each row and the rows are *packed*
(``pack_padded_sequence``): the GRU never sees a padding step, and the outputs are moved back to their
positions. An input with more padding gives exactly the same outputs at the real positions.

The GRU is unidirectional, and stays so in pre-training: ``encode`` ignores ``causal``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..model import Dropout
from .common import AttributeTable, SequentialRecommender, left_to_right_padding, right_to_left


class GRU4Rec(SequentialRecommender):
    zoo_name = "GRU4Rec"
    use_attributes = False

    def __init__(self, arch, ds, pretrainable: bool = False):
        # pretrainable: attribute embeddings and the objective heads, for pre-training (Fig. 3)
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size, attributes=self.use_attributes,
                         pretrainable=pretrainable)
        d = arch.hidden_size
        if self.use_attributes:
            self.attributes = AttributeTable(ds.item_attributes, ds.item_vocab_size)
        self.input_dropout = Dropout(arch.hidden_dropout)  # 0.5, as the original paper's best runs
        self.gru = nn.GRU(2 * d if self.use_attributes else d, d, num_layers=1, batch_first=True)
        self.output = nn.Linear(d, d)  # back to the item-embedding space
        self.apply(self._init_weights)

    def inputs(self, item_ids: torch.Tensor) -> torch.Tensor:
        """[B, L] -> [B, L, d] item embeddings (GRU4Rec_F: [B, L, 2d], with the attributes' mean)."""
        x = self.item_embeddings(item_ids)
        if self.use_attributes:
            attr = self.attributes.mean(self.attribute_embeddings.weight)  # [V, d]
            x = torch.cat([x, attr[item_ids]], dim=-1)  # [B, L, 2d]
        return x

    def encode(self, item_ids, causal=True, last_only=False):
        """[B, L] -> [B, L, d] (``last_only``: [B, d]). Padding outputs are zero."""
        right, lengths, _ = left_to_right_padding(item_ids)  # real items first
        x = self.input_dropout(self.inputs(right))  # [B, L, d_in]
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=item_ids.shape[1])  # [B, L, d]
        out = self.output(right_to_left(out, lengths))  # back to left padding
        out = out * (item_ids > 0)[..., None]  # padding positions carry nothing
        return out[:, -1] if last_only else out


class GRU4RecF(GRU4Rec):
    zoo_name = "GRU4Rec_F"
    use_attributes = True
