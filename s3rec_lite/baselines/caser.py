"""Caser (Tang and Wang, "Personalized Top-N Sequential Recommendation via Convolutional Sequence
Embedding", WSDM 2018).

The last ``W`` items form a W x d "image" of embeddings, read by two kinds of convolution:

* horizontal filters of heights h = 1..W spanning the full width d (``n_h`` per height), ReLU, max-pooled
  over time: union-level sequential patterns;
* vertical filters spanning the W rows (``n_v`` of them): weighted sums of the W embeddings, point-level.

Their outputs are concatenated, dropped out and passed through a fully connected layer (ReLU) to
z in R^d, which scores items against a separate output embedding table plus a bias: y_i = z^T w_i + b_i.

Following the original paper: W = 5 (its L), n_v = 4, n_h = 16, dropout 0.5, ReLU activations. Changes
for the shared setup, said plainly: d = ``arch.hidden_size`` (64, not 50, so S3-Rec's pre-trained
embeddings fit, Fig. 3); no user embedding (the loop passes item sequences only, and the user's
history is what the other models see too); one target per window (T = 1) with the shared loss; the
window is slid over every position of the sequence, so each position predicts its next item.

"Caser+pretrain" (Fig. 3): Caser's architecture does not fit the self-supervised objectives, so, as in
the S3-Rec paper, only its embedding layers are initialised from S3-Rec's pre-trained item embeddings
(both the input and the output tables): ``CaserPretrained.pretrain_stage``
(:class:`~.common.BorrowsS3RecEmbeddings`) pre-trains an S3-Rec network with the four objectives and
copies them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import BorrowsS3RecEmbeddings, WindowRecommender

WINDOW = 5  # L in the Caser paper
N_VERTICAL = 4  # n_v
N_HORIZONTAL = 16  # n_h, per filter height
DROPOUT = 0.5


class Caser(WindowRecommender):
    zoo_name = "Caser"

    def __init__(self, arch, ds):
        super().__init__(arch, ds.item_vocab_size, ds.attribute_vocab_size)
        d, W = arch.hidden_size, WINDOW
        self.window = W
        self.vertical = nn.Conv2d(1, N_VERTICAL, (W, 1))  # [N, 1, W, d] -> [N, n_v, 1, d]
        self.horizontal = nn.ModuleList(nn.Conv2d(1, N_HORIZONTAL, (h, d)) for h in range(1, W + 1))
        self.dropout = nn.Dropout(DROPOUT)
        self.fc = nn.Linear(N_VERTICAL * d + N_HORIZONTAL * W, d)
        self._init_output_table(ds.item_vocab_size, d)  # w_i, b_i
        self.apply(self._init_weights)
        self._after_init()

    def encode(self, item_ids, causal=True, last_only=False):
        """z for every position: [B, L] -> [B, L, d] (``last_only``: [B, d])."""
        win = self.windows(item_ids, last_only)  # [B, L', W]
        B, Lw, W = win.shape
        E = self.item_embeddings(win).reshape(B * Lw, 1, W, -1)  # [N, 1, W, d]
        v = self.vertical(E).flatten(1)  # [N, n_v * d]
        hs = [F.relu(conv(E)).squeeze(3).amax(2) for conv in self.horizontal]  # each [N, n_h]
        z = F.relu(self.fc(self.dropout(torch.cat([v, *hs], dim=1))))  # [N, d]
        z = z.view(B, Lw, -1)
        return z[:, 0] if last_only else z


class CaserPretrained(BorrowsS3RecEmbeddings, Caser):
    """Caser whose embedding tables (input and output) start from S3-Rec's pre-trained item embeddings."""

    zoo_name = "Caser+pretrain"
    borrowed = (("item_embeddings", "item_embeddings"), ("output_embeddings", "item_embeddings"))
