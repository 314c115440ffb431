"""FDSA (Zhang et al., "Feature-level Deeper Self-Attention Network for Sequential Recommendation",
IJCAI 2019): the S3-Rec paper's strongest baseline (Table 2, Fig. 2).

Two self-attention encoders run side by side and are joined at the end:

* item level: item embedding + position, the self-attention blocks (causal), as SASRec;
* feature level: each item's attributes are pooled by *vanilla attention*,
  ``f_i = sum_j alpha_j a_j`` with ``alpha = softmax_j(w^T ReLU(W a_j + b))`` over the item's attributes
  (:meth:`AttributeTable.attend`), then position embeddings and a second stack of blocks (causal);
* ``O_t = W_O [O^item_t ; O^feature_t] + b_O`` (a fully connected layer over the concatenation), scored
  against the item embeddings (Eq. 9).

Hyper-parameters: the FDSA paper tunes them per dataset; "following the original paper" we take its
architecture and, like the S3-Rec authors, the shared sizes (2 blocks per encoder, 2 heads, d = 64,
max length 50, dropout ``arch.hidden_dropout``). The paper uses one categorical feature per item plus the
item's text; the S3-Rec datasets give a set of attributes, which the vanilla attention pools.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..model import Block, Dropout, attention_mask
from .common import AttributeTable, SequentialRecommender


class FDSA(SequentialRecommender):
    zoo_name = "FDSA"

    def __init__(self, arch, ds):
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size, attributes=True)
        d = arch.hidden_size
        self.attributes = AttributeTable(ds.item_attributes, ds.item_vocab_size)
        self.attribute_scorer = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1))  # vanilla attention
        self.item_positions = nn.Embedding(arch.max_len, d)
        self.feature_positions = nn.Embedding(arch.max_len, d)
        self.item_norm = nn.LayerNorm(d, eps=arch.layer_norm_eps)
        self.feature_norm = nn.LayerNorm(d, eps=arch.layer_norm_eps)
        self.dropout = Dropout(arch.hidden_dropout)
        self.item_blocks = nn.ModuleList(Block(arch) for _ in range(arch.num_layers))
        self.feature_blocks = nn.ModuleList(Block(arch) for _ in range(arch.num_layers))
        self.output = nn.Linear(2 * d, d)  # W_O over [item ; feature]
        self.apply(self._init_weights)

    def item_features(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """f_i for every item id: the attention-pooled attribute embeddings.  -> [V, d]
        (``items`` [U], sorted and unique: those items' f_i only, [U, d]; the packed path uses it)"""
        return self.attributes.attend(self.attribute_embeddings.weight, lambda a: self.attribute_scorer(a)[:, 0], items)

    def _stack(self, x, blocks, mask, last_only):
        for i, block in enumerate(blocks):
            x = block(x, mask, last_query_only=last_only and i == len(blocks) - 1)
        return x[:, -1] if last_only else x

    def encode(self, item_ids, causal=True, last_only=False):
        """[B, L] -> [B, L, d] (``last_only``: [B, d])."""
        L = item_ids.shape[1]
        mask = attention_mask(item_ids, causal)
        pos = torch.arange(L, device=item_ids.device)
        items = self.dropout(self.item_norm(self.item_embeddings(item_ids) + self.item_positions(pos)[None]))
        feats = self.item_features()[item_ids]  # [B, L, d]
        feats = self.dropout(self.feature_norm(feats + self.feature_positions(pos)[None]))
        h_item = self._stack(items, self.item_blocks, mask, last_only)
        h_feat = self._stack(feats, self.feature_blocks, mask, last_only)
        return self.output(torch.cat([h_item, h_feat], dim=-1))
