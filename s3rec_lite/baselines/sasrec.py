"""SASRec (Kang and McAuley, "Self-attentive sequential recommendation", ICDM 2018) and SASRec_F.

SASRec *is* S3-Rec's encoder fine-tuned without pre-training (:class:`s3rec_lite.model.S3RecModel`,
registered as "SASRec" in :mod:`s3rec_lite.zoo`), with the S3-Rec paper's sizes: 2 blocks, 2 heads,
d = 64, max length 50 (SASRec's own paper uses 2 blocks and d = 50; the S3-Rec authors share one encoder).

SASRec_F (Table 2 of the S3-Rec paper): "item and attribute representations concatenated as input".
Each position's input is ``W_F [e_i ; mean_{a in A_i} e_a] + p_t``: the item embedding and the mean of its
attributes' embeddings, concatenated and projected back to d, plus the learned position embedding; then
LayerNorm and dropout, and the same self-attention blocks.

Fig. 3, pre-training other models: SASRec is unidirectional (causal attention), and the S3-Rec paper
keeps unidirectional models unidirectional when it pre-trains them. "SASRec+pretrain" and
"SASRec_F+pretrain" set ``causal_pretraining = True``, which :func:`s3rec_lite.train.pretrain` reads to encode
causally; "S3-Rec" itself is the same network pre-trained bidirectionally.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..model import S3RecModel
from .common import AttributeTable


def sasrec_unidirectional(arch, ds) -> S3RecModel:
    """S3-Rec's network, marked unidirectional: pre-training attends causally, as fine-tuning does."""
    model = S3RecModel(arch, ds.item_vocab_size, ds.attribute_vocab_size)
    model.causal_pretraining = True
    model.zoo_name = "SASRec+pretrain"
    return model


class SASRecF(S3RecModel):
    zoo_name = "SASRec_F"
    causal_pretraining = True

    def __init__(self, arch, ds):
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size)
        self.attributes = AttributeTable(ds.item_attributes, ds.item_vocab_size)
        self.input_projection = nn.Linear(2 * arch.hidden_size, arch.hidden_size)  # W_F: [e_i ; attrs] -> d
        self._init_weights(self.input_projection)

    def embed(self, item_ids: torch.Tensor) -> torch.Tensor:
        """Dropout(LN(W_F [e_i ; mean attribute embedding] + p_t)).  [B, L] -> [B, L, d]"""
        L = item_ids.shape[1]
        attr = self.attributes.mean(self.attribute_embeddings.weight)  # [V, d]
        x = self.input_projection(torch.cat([self.item_embeddings(item_ids), attr[item_ids]], dim=-1))  # [B, L, d]
        x = x + self.position_embeddings(torch.arange(L, device=item_ids.device))[None]
        return self.embedding_dropout(self.embedding_norm(x))
