"""PopRec: rank items by how often they occur in the training data. No parameters to learn.

Table 2 of the S3-Rec paper lists it as the simplest baseline. "Training data" here is every user's
sequence without its validation and test items (``seq[:-2]``), so neither the validated nor the tested
item is counted. The score of an item is its count; it ignores the user, so every user gets the same
ranking. Ties (items with equal counts) count against the model, as everywhere in
:mod:`s3rec_lite.metrics`.

``trainable = False`` tells :func:`s3rec_lite.train.finetune` to skip the training epochs and only
evaluate.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from .common import SequentialRecommender


class PopRec(SequentialRecommender):
    zoo_name = "PopRec"
    trainable = False

    def __init__(self, arch, ds):
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size)
        self.item_embeddings.weight.requires_grad_(False)  # interface only; never used for scores
        train_users = range(ds.num_users) if ds.train_users is None else ds.train_users
        counts = np.zeros(ds.item_vocab_size, dtype=np.float32)
        for u in train_users:
            np.add.at(counts, ds.sequences[u][:-2], 1.0)
        counts[0] = counts[self.mask_id] = 0.0  # padding and the mask token are never recommended
        self.popularity = nn.Parameter(torch.as_tensor(counts), requires_grad=False)  # [V], saved in checkpoints

    def encode(self, item_ids, causal=True, last_only=False):
        """Every user is represented by the same constant (a [B, 1] of ones): the history is ignored."""
        ones = torch.ones(item_ids.shape[0], 1, device=item_ids.device)
        return ones if last_only else ones[:, None].expand(-1, item_ids.shape[1], -1)

    def score_candidates(self, hidden, candidates):
        """hidden [B, 1], candidates [B, C] -> training counts [B, C]."""
        return self.popularity[candidates] * hidden

    def score_all(self, hidden):
        return hidden * self.popularity[None, :]

    def next_item_logits(self, item_ids, targets, negatives):
        return self.popularity[targets], self.popularity[negatives]
