"""What every baseline shares: the interface of the shared training loop, and attribute pooling.

The shared loop (:func:`s3rec_lite.train.finetune`, :func:`~s3rec_lite.train.evaluate`) needs from a model
the :class:`~s3rec_lite.recommender.Recommender` interface, which provides everything from one method,
``encode(ids, causal, last_only)`` (``[B, L] -> [B, L, d]``, or ``[B, d]`` with ``last_only``), the one a
subclass writes. Pre-training with
the four S3-Rec objectives (:func:`s3rec_lite.train.pretrain`) also uses ``encode`` (with
``causal=False``, which unidirectional models ignore), ``heads`` and ``attribute_embeddings``:
``pretrainable=True`` adds those (``attributes=True`` only the attribute embeddings).

:class:`AttributeTable` holds each item's attribute ids as one flat list (LastFM has up to 625 attributes
per item, so no padded [V, K] table) and pools their embeddings per item: a mean (the ``_F`` baselines)
or FDSA's vanilla attention.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..recommender import Recommender

OBJECTIVE_HEADS = ("aap", "mip", "map", "sp")


class SequentialRecommender(Recommender):
    """Base class of the baselines: a :class:`~s3rec_lite.recommender.Recommender` (item embeddings, the
    scoring interface of the shared loop) that may also carry what pre-training needs.

    ``attributes=True`` adds the attribute embeddings; ``pretrainable=True`` adds them and the four objective
    heads, so that the S3-Rec objectives can pre-train the model (Fig. 3). Baselines are unidirectional unless
    they say otherwise (``causal_pretraining``).
    """

    def __init__(self, arch, item_vocab_size: int, attribute_vocab_size: int, attributes: bool = False,
                 pretrainable: bool = False):
        super().__init__(arch, item_vocab_size, attribute_vocab_size)
        d = self.arch.hidden_size
        if attributes or pretrainable:
            self.attribute_embeddings = nn.Embedding(attribute_vocab_size, d, padding_idx=0)  # E_A
        if pretrainable:
            self.heads = nn.ModuleDict({name: nn.Linear(d, d) for name in OBJECTIVE_HEADS})  # W_AAP ... W_SP


class AttributeTable(nn.Module):
    """Each item's attributes as a flat list: ``attr_ids [T]`` and the item each belongs to, ``owner [T]``.

    Built from the dataset's ``item_attributes`` (attribute 0, padding, never appears). Items without
    attributes (padding 0, the mask token) pool to a zero vector. Buffers, not parameters: they move with
    the model and are rebuilt from the dataset, so checkpoints do not store them.
    """

    def __init__(self, item_attributes: dict, item_vocab_size: int):
        super().__init__()
        owners, attrs = [], []
        for item, ids in sorted(item_attributes.items()):
            ids = sorted({int(a) for a in ids if int(a) > 0})
            owners.extend([int(item)] * len(ids))
            attrs.extend(ids)
        self.item_vocab_size = item_vocab_size
        self.register_buffer("owner", torch.as_tensor(np.asarray(owners, dtype=np.int64)), persistent=False)
        self.register_buffer("attr_ids", torch.as_tensor(np.asarray(attrs, dtype=np.int64)), persistent=False)
        counts = torch.bincount(self.owner, minlength=item_vocab_size).float()  # [V]
        self.register_buffer("counts", counts, persistent=False)

    def mean(self, attribute_embeddings: torch.Tensor) -> torch.Tensor:
        """Mean of each item's attribute embeddings.  table [A, d] -> [V, d] (zero rows without attributes)."""
        V, d = self.item_vocab_size, attribute_embeddings.shape[1]
        sums = torch.zeros(V, d, dtype=attribute_embeddings.dtype, device=attribute_embeddings.device)
        sums.index_add_(0, self.owner, attribute_embeddings[self.attr_ids])  # [V, d]
        return sums / self.counts.clamp(min=1)[:, None]

    def attention_weights(self, scores: torch.Tensor, owner: torch.Tensor | None = None,
                          n_items: int | None = None) -> torch.Tensor:
        """Softmax of per-(item, attribute) scores [T] within each item: weights [T] that sum to 1 per item.
        ``owner`` [T] / ``n_items``: another grouping (default: every item's attributes, :attr:`owner`)."""
        owner = self.owner if owner is None else owner
        V = self.item_vocab_size if n_items is None else n_items
        top = torch.full((V,), -torch.inf, dtype=scores.dtype, device=scores.device)
        top = top.scatter_reduce(0, owner, scores, reduce="amax")  # [V] per-item maximum (stability)
        e = torch.exp(scores - top[owner])  # [T]
        total = torch.zeros(V, dtype=scores.dtype, device=scores.device).index_add_(0, owner, e)  # [V]
        return e / total[owner]

    def attend(self, attribute_embeddings: torch.Tensor, scorer, items: torch.Tensor | None = None) -> torch.Tensor:
        """Vanilla attention pooling: sum_j alpha_j a_j, alpha = softmax_j(scorer(a_j)) within each item.
        table [A, d], scorer: [T, d] -> [T] -> [V, d]. ``items`` [U] (sorted, unique): those items' rows only,
        [U, d], the same values (an item's pooling reads its own attributes only) for a fraction of the work."""
        owner, attr_ids, n = self.owner, self.attr_ids, self.item_vocab_size
        if items is not None:
            keep = torch.isin(owner, items)  # [T] attributes of the asked items
            owner, attr_ids, n = torch.searchsorted(items, owner[keep]), attr_ids[keep], len(items)
        a = attribute_embeddings[attr_ids]  # [T, d]
        alpha = self.attention_weights(scorer(a), owner, n)  # [T]
        out = torch.zeros(n, a.shape[1], dtype=a.dtype, device=a.device)
        return out.index_add_(0, owner, alpha[:, None] * a)  # [V, d] (``items``: [U, d])


def left_to_right_padding(item_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Move each row's real items (ids > 0, left-padded input) to the front.

    Returns (right-padded ids [B, L], lengths [B], index [B, L]) with ``right = ids.gather(1, index)``;
    ``index`` also maps outputs back: ``left_outputs = right_outputs.gather(1, inverse)``, see
    :func:`right_to_left`."""
    B, L = item_ids.shape
    lengths = (item_ids > 0).sum(1)  # [B]
    pos = torch.arange(L, device=item_ids.device)[None, :]  # [1, L]
    index = (pos + (L - lengths)[:, None]) % L  # right slot j holds left slot j + (L - n)
    return item_ids.gather(1, index), lengths, index


def right_to_left(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`left_to_right_padding` for outputs [B, L, d]."""
    B, L = outputs.shape[:2]
    pos = torch.arange(L, device=outputs.device)[None, :]
    index = (pos - (L - lengths)[:, None]) % L  # left slot j holds right slot j - (L - n)
    return outputs.gather(1, index[..., None].expand(-1, -1, outputs.shape[2]))


class WindowRecommender(SequentialRecommender):
    """Base of the window models (Caser, HGN): each position is represented from the ``window`` items up to
    it, and items are scored against a separate output table plus a bias, ``z^T q_j + b_j``."""

    window = 5

    def _init_output_table(self, item_vocab_size: int, d: int) -> None:
        self.output_embeddings = nn.Embedding(item_vocab_size, d)  # q_j
        self.output_bias = nn.Embedding(item_vocab_size, 1)  # b_j

    def _after_init(self) -> None:
        nn.init.zeros_(self.output_bias.weight)
        with torch.no_grad():
            self.item_embeddings.weight[0].zero_()  # padding inside a window contributes nothing

    def windows(self, item_ids: torch.Tensor, last_only: bool) -> torch.Tensor:
        """The ``window`` items up to and including each position (0 before the sequence starts).
        [B, L] -> [B, L, W] (``last_only``: [B, 1, W])."""
        W = self.window
        if last_only:
            x = item_ids[:, -W:]
            return torch.nn.functional.pad(x, (W - x.shape[1], 0))[:, None]
        return torch.nn.functional.pad(item_ids, (W - 1, 0)).unfold(1, W, 1)

    def score_candidates(self, hidden, candidates):
        return torch.einsum("bcd,bd->bc", self.output_embeddings(candidates), hidden) + self.output_bias(candidates)[..., 0]

    def score_all(self, hidden):
        return hidden @ self.output_embeddings.weight.T + self.output_bias.weight[:, 0]

    def next_item_logits(self, item_ids, targets, negatives):
        z = self.encode(item_ids)  # [B, L, d]
        pos = (z * self.output_embeddings(targets)).sum(-1) + self.output_bias(targets)[..., 0]
        neg = (z * self.output_embeddings(negatives)).sum(-1) + self.output_bias(negatives)[..., 0]
        return pos, neg


class BorrowsS3RecEmbeddings:
    """Mixin for Fig. 3's models whose architecture does not fit the self-supervised objectives (Caser,
    AutoInt): as in the S3-Rec paper, only their embedding layers start from S3-Rec's pre-trained ones.

    ``borrowed``: pairs (this model's ``nn.Embedding`` attribute, the S3-Rec model's) to copy. The zoo declares
    these models ``pretrain="borrow"``: :func:`s3rec_lite.zoo.pretrain_model` pre-trains an S3-Rec network with
    the four objectives (same seed, same settings), then copies the tables."""

    borrowed: tuple = (("item_embeddings", "item_embeddings"),)

    def borrow_from(self, donor: nn.Module) -> None:
        with torch.no_grad():
            for mine, theirs in self.borrowed:
                getattr(self, mine).weight.copy_(getattr(donor, theirs).weight)


__all__ = ["SequentialRecommender", "WindowRecommender", "BorrowsS3RecEmbeddings", "AttributeTable", "left_to_right_padding", "right_to_left",
           "OBJECTIVE_HEADS"]
