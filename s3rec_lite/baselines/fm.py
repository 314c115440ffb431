"""FM (Rendle, "Factorization Machines", ICDM 2010): a non-sequential, feature-based baseline of Table 2.

A factorization machine scores a feature vector by a bias, linear weights and the factorised pairwise
interactions ``sum_{f < g} <v_f, v_g>`` of its active features. Our features for (user, candidate item j):

* the user, as the bag of items in the history so far (the mean of their embeddings ``u``: our loop has
  no user ids, and a bag of items is how feature-based models such as FISM describe a user);
* the candidate item j (embedding ``v_j``, bias ``w_j``);
* the candidate's attributes (the mean of their embeddings, ``a_j``).

With three fields the pairwise part is ``<u, v_j> + <u, a_j> + <v_j, a_j>``, so
``score(u, j) = w_0 + w_j + <u, v_j + a_j> + <v_j, a_j>``, linear in ``u``: it plugs into the shared
loop's ``score_candidates(hidden, candidates)`` with ``hidden = u``. Terms that depend on the user only
(the history's own interactions) are the same for every candidate and are left out. The order of the
history is ignored, which is the point of this baseline. d = ``arch.hidden_size``; loss, optimiser and
early stopping are the shared loop's.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .common import AttributeTable, SequentialRecommender


class FM(SequentialRecommender):
    zoo_name = "FM"

    def __init__(self, arch, ds):
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size, attributes=True)
        d = arch.hidden_size
        self.attributes = AttributeTable(ds.item_attributes, ds.item_vocab_size)
        self.history_embeddings = nn.Embedding(ds.item_vocab_size, d)  # an item as a feature of the user
        self.item_bias = nn.Embedding(ds.item_vocab_size, 1)  # w_j
        self.global_bias = nn.Parameter(torch.zeros(1))  # w_0
        self.apply(self._init_weights)
        nn.init.zeros_(self.item_bias.weight)

    def encode(self, item_ids, causal=True, last_only=False):
        """u_t, the mean embedding of the items up to t (a bag: order ignored).  [B, L] -> [B, L, d]"""
        real = (item_ids > 0).unsqueeze(-1).float()  # [B, L, 1]
        e = self.history_embeddings(item_ids) * real
        if last_only:
            return e.sum(1) / real.sum(1).clamp(min=1.0)
        return e.cumsum(1) / real.cumsum(1).clamp(min=1.0)

    def _item_side(self, items: torch.Tensor):
        """(v_j + a_j, w_0 + w_j + <v_j, a_j>) for item ids of any shape: ([..., d], [...])."""
        v = self.item_embeddings(items)
        a = self.attributes.mean(self.attribute_embeddings.weight)[items]
        return v + a, self.global_bias + self.item_bias(items)[..., 0] + (v * a).sum(-1)

    def score_candidates(self, hidden, candidates):
        side, const = self._item_side(candidates)  # [B, C, d], [B, C]
        return torch.einsum("bcd,bd->bc", side, hidden) + const

    def score_all(self, hidden):
        side, const = self._item_side(torch.arange(self.item_vocab_size, device=hidden.device))
        return hidden @ side.T + const

    def next_item_logits(self, item_ids, targets, negatives):
        u = self.encode(item_ids)  # [B, L, d]
        (ps, pc), (ns, nc) = self._item_side(targets), self._item_side(negatives)
        return (u * ps).sum(-1) + pc, (u * ns).sum(-1) + nc
