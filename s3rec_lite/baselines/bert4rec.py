"""BERT4Rec (Sun et al., "BERT4Rec: Sequential Recommendation with Bidirectional Encoder Representations
from Transformer", CIKM 2019).

A bidirectional Transformer (S3-Rec's blocks, attending both ways) trained with the Cloze objective:
items of the training sequence are replaced by the mask token at random, and the model predicts each
masked item from both sides, with a softmax over all items (cross-entropy). To recommend, the mask token
is appended after the history and its output ranks the items.

Following the original paper (its Beauty settings, the sparsest of its datasets like the S3-Rec ones):
2 blocks, 2 heads, d = 64, max length 50, mask proportion rho = 0.6 (:data:`CLOZE_PROB`), dropout 0.1,
an output layer GELU(W h + b) with LayerNorm, scored against the shared item embeddings plus a per-item
bias. The optimiser, epochs and early stopping are the shared loop's.

The shared loop calls :meth:`BERT4Rec.next_item_loss` instead of its next-item loss; the sampled
negatives it passes are not used (the Cloze loss normalises over every item).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model import S3RecModel

CLOZE_PROB = 0.6  # rho, the share of items masked in a training sequence (BERT4Rec, Beauty)
DROPOUT = 0.1  # BERT4Rec's dropout


def cloze_mask(seq: torch.Tensor, prob: float, mask_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask each real item (id > 0) with probability ``prob``; a row that drew no mask gets its newest item
    masked, so every non-empty row has a target. seq [B, L] -> (inputs [B, L], masked [B, L] bool)."""
    real = seq > 0
    masked = (torch.rand(seq.shape, device=seq.device) < prob) & real
    none = ~masked.any(1) & real[:, -1]  # rows with no mask (the newest slot is real when a row is non-empty)
    masked[:, -1] |= none
    return torch.where(masked, torch.full_like(seq, mask_id), seq), masked


def training_sequence(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The window of the last L items of ``seq[:-2]`` from the loop's inputs x = ``seq[:-3]`` and
    targets y = ``seq[1:-2]`` (both left-padded to L): y, plus the first item of x where y has room.
    x, y [B, L] -> [B, L]"""
    B, L = y.shape
    n = (y > 0).sum(1)  # [B] items in y (= in x)
    room = (n < L) & (n > 0)
    first = x.gather(1, (L - n).clamp(max=L - 1)[:, None])  # [B, 1] x's oldest item
    slot = (L - n - 1).clamp(min=0)[:, None]  # [B, 1] the slot left of y's oldest item
    return torch.where(room[:, None], y.scatter(1, slot, first), y)


class BERT4Rec(S3RecModel):
    zoo_name = "BERT4Rec"
    causal_pretraining = False

    def __init__(self, arch, ds):
        arch = arch.replace(hidden_dropout=DROPOUT, attention_dropout=DROPOUT)
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size)
        d = arch.hidden_size
        self.cloze_prob = CLOZE_PROB
        self.output_transform = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d, eps=arch.layer_norm_eps))
        self.output_bias = nn.Parameter(torch.zeros(ds.item_vocab_size))
        self._init_weights(self.output_transform[0])

    def encode(self, item_ids, causal=False, last_only=False):
        """Always bidirectional (``causal`` is ignored).  [B, L] -> [B, L, d] (``last_only``: [B, d])"""
        return super().encode(item_ids, causal=False, last_only=last_only)

    def _logits_all(self, h: torch.Tensor) -> torch.Tensor:
        """Output layer against every item: h [N, d] -> [N, V]; padding and the mask token never win."""
        logits = self.output_transform(h) @ self.item_embeddings.weight.T + self.output_bias
        logits[:, 0] = -torch.inf
        logits[:, self.mask_id] = -torch.inf
        return logits

    def next_item_loss(self, x, y, neg, variant="official"):
        """The Cloze loss: cross-entropy of each masked item against all items, averaged."""
        seq = training_sequence(x, y)  # [B, L]
        inputs, masked = cloze_mask(seq, self.cloze_prob, self.mask_id)
        hidden = self.encode(inputs)[masked]  # [N, d]
        total = F.cross_entropy(self._logits_all(hidden), seq[masked], reduction="sum")
        return total / masked.sum().clamp(min=1)  # a mean that is 0, not NaN, for a batch of empty histories

    def user_representation(self, item_ids):
        """Append the mask token after the history (the oldest item drops out of a full window) and
        read its output.  [B, L] -> [B, d]"""
        mask = torch.full_like(item_ids[:, :1], self.mask_id)
        h = self.encode(torch.cat([item_ids[:, 1:], mask], dim=1), last_only=True)
        return self.output_transform(h)

    def score_candidates(self, hidden, candidates):
        return torch.einsum("bcd,bd->bc", self.item_embeddings(candidates), hidden) + self.output_bias[candidates]

    def score_all(self, hidden):
        return hidden @ self.item_embeddings.weight.T + self.output_bias

    def next_item_logits(self, item_ids, targets, negatives):
        """BERT4Rec has no next-item loss at every position: its output at a position sees the future.
        The shared loop calls :meth:`next_item_loss` instead."""
        raise NotImplementedError("BERT4Rec trains with next_item_loss (the Cloze objective)")
