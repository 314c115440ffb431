"""AutoInt (Song et al., "AutoInt: Automatic Feature Interaction Learning via Self-Attentive Neural
Networks", CIKM 2019): a feature-based baseline of Table 2 that learns high-order feature interactions.

The same three feature fields as :mod:`.fm` for a (user, candidate j) pair: the user as the bag of items
in the history so far (``u``), the candidate item (``v_j``) and the mean of its attributes' embeddings
(``a_j``). *Interacting layers* let each field attend to the others (multi-head self-attention over the
M = 3 fields, with a residual connection and ReLU):

    e_m^(h) = sum_k softmax_k(<W_Q^(h) e_m, W_K^(h) e_k>) W_V^(h) e_k,   e_m' = ReLU([e_m^(1); ...; e_m^(H)] + W_Res e_m)

and the score is ``w^T [e_1'; e_2'; e_3'] + b``. Following the original paper: 3 interacting layers, 2
heads, attention size d' = 32 per head, residual connections. Field embeddings have d = ``arch.hidden_size``
(so S3-Rec's pre-trained embeddings fit them, Fig. 3); loss, optimiser and early stopping are the shared
loop's. Unlike FM the score is not linear in ``u``, so every (user, candidate) pair is run through the
layers (``score_all`` in chunks of items).

"AutoInt+pretrain" (Fig. 3): only the embedding layers start from S3-Rec's pre-trained ones (items, for
both the history and the candidate tables, and attributes).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import BorrowsS3RecEmbeddings
from .fm import FM

N_LAYERS = 3
N_HEADS = 2
HEAD_SIZE = 32  # d'
SCORE_CHUNK = 256  # items per chunk in score_all (memory: users x chunk x 3 fields x 3 d)


class InteractingLayer(nn.Module):
    """Multi-head self-attention across fields, residual, ReLU.  [N, M, d_in] -> [N, M, H d']"""

    def __init__(self, d_in: int, heads: int = N_HEADS, head_size: int = HEAD_SIZE):
        super().__init__()
        self.heads, self.head_size = heads, head_size
        self.qkv = nn.Linear(d_in, 3 * heads * head_size, bias=False)  # W_Q, W_K, W_V of every head
        self.residual = nn.Linear(d_in, heads * head_size, bias=False)  # W_Res

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        N, M, _ = e.shape
        q, k, v = self.qkv(e).view(N, M, 3, self.heads, self.head_size).permute(2, 0, 3, 1, 4)  # [N, H, M, d']
        alpha = torch.softmax(q @ k.transpose(-1, -2), dim=-1)  # [N, H, M, M], the paper's psi: no scaling
        out = (alpha @ v).transpose(1, 2).reshape(N, M, -1)  # [N, M, H d']
        return F.relu(out + self.residual(e))


class AutoInt(FM):
    zoo_name = "AutoInt"

    def __init__(self, arch, ds):
        super().__init__(arch, ds)
        d, width = arch.hidden_size, N_HEADS * HEAD_SIZE
        self.layers = nn.ModuleList(InteractingLayer(d if i == 0 else width) for i in range(N_LAYERS))
        self.output = nn.Linear(3 * width, 1)  # w, b
        for module in (self.layers, self.output):
            module.apply(self._init_weights)

    def _pair_scores(self, u: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """u [..., d] (broadcast against items [...]) -> scores [...]."""
        v = self.item_embeddings(items)
        a = self.attributes.mean(self.attribute_embeddings.weight)[items]
        e = torch.stack(torch.broadcast_tensors(u, v, a), dim=-2)  # [..., 3, d]
        shape = e.shape[:-2]
        e = e.reshape(-1, 3, e.shape[-1])
        for layer in self.layers:
            e = layer(e)
        return self.output(e.flatten(1)).view(shape)

    def score_candidates(self, hidden, candidates):
        return self._pair_scores(hidden[:, None, :], candidates)  # [B, C]

    def score_all(self, hidden):
        items = torch.arange(self.item_vocab_size, device=hidden.device)
        return torch.cat([self._pair_scores(hidden[:, None, :], items[lo:lo + SCORE_CHUNK][None, :])
                          for lo in range(0, len(items), SCORE_CHUNK)], dim=1)  # [B, V]

    def next_item_logits(self, item_ids, targets, negatives):
        u = self.encode(item_ids)  # [B, L, d]
        return self._pair_scores(u, targets), self._pair_scores(u, negatives)


class AutoIntPretrained(BorrowsS3RecEmbeddings, AutoInt):
    """AutoInt whose embedding tables start from S3-Rec's pre-trained item and attribute embeddings."""

    zoo_name = "AutoInt+pretrain"
    borrowed = (("item_embeddings", "item_embeddings"), ("history_embeddings", "item_embeddings"),
                ("attribute_embeddings", "attribute_embeddings"))
