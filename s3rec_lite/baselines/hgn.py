"""HGN (Ma, Kang and Liu, "Hierarchical Gating Networks for Sequential Recommendation", KDD 2019).

The last ``W`` items (embeddings ``E`` [W, d]) pass two gates, then are pooled:

* feature gating: ``E_F = E * sigmoid(E W_1 + b_1)``, which features of each item matter;
* instance gating: ``E_I = E_F * sigmoid(E_F w_2 + b_2)``, one weight per item, which items matter;
* average pooling of ``E_I`` over the window's real items gives ``s``, and the item-item product adds
  the plain embeddings of the window: ``z = s + sum_i e_i``; items score ``z^T q_j + b_j`` against a
  separate output table ``q`` (Eq. in Section 3.5 of the HGN paper, without the user term).

Following the original paper: window W = 5 (its L for the Amazon data), sigmoid gates, the item-item
product. Changes for the shared setup: no user embedding (the loop passes item sequences only; the user
terms ``u W_g2`` and ``u^T q_j`` are dropped), d = ``arch.hidden_size``, one target per window (T = 1) with
the shared loss, Adam; the window slides over every position, so each position predicts its next item.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .common import WindowRecommender

WINDOW = 5  # L in the HGN paper (Amazon datasets)


class HGN(WindowRecommender):
    zoo_name = "HGN"

    def __init__(self, arch, ds):
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size)
        d = arch.hidden_size
        self.window = WINDOW
        self.feature_gate = nn.Linear(d, d)  # W_1, b_1
        self.instance_gate = nn.Linear(d, 1)  # w_2, b_2
        self._init_output_table(ds.item_vocab_size, d)  # q_j, b_j
        self.apply(self._init_weights)
        self._after_init()

    def encode(self, item_ids, causal=True, last_only=False):
        """z for every position: [B, L] -> [B, L, d] (``last_only``: [B, d])."""
        win = self.windows(item_ids, last_only)  # [B, L', W]
        real = (win > 0).unsqueeze(-1).float()  # [B, L', W, 1]
        E = self.item_embeddings(win)  # [B, L', W, d]
        E_F = E * torch.sigmoid(self.feature_gate(E))  # feature gating
        E_I = E_F * torch.sigmoid(self.instance_gate(E_F))  # instance gating
        s = (E_I * real).sum(2) / real.sum(2).clamp(min=1.0)  # average over the real items, [B, L', d]
        z = s + (E * real).sum(2)  # + item-item product
        return z[:, 0] if last_only else z
