"""The four self-supervised objectives of S3-Rec (Section 4.3) and the fine-tuning loss (Section 4.4).

Every loss is a small pure function over tensors. Two variants of each:

``official``  what the authors' released code computes (the default, so numbers compare with theirs):
    * AAP and MAP are multi-label binary cross-entropy over the whole attribute vocabulary, no sampling;
      AAP scores the Transformer output F_t (not the item embedding E_i of Eq. 10-11), at unmasked,
      non-padding positions; MAP at masked positions.
    * MIP and SP are pairwise with one sampled negative: f = sigmoid((W h + b)^T e), and
      loss = BCE(sigmoid(f_pos - f_neg), 1) = softplus(f_neg - f_pos) (a second sigmoid on a difference
      of sigmoids).
    * Losses are summed over positions (and attributes), not averaged.
``paper``     InfoNCE (Eq. 2-3) with f as in Eq. 11, 13, 15, 17 (sigmoid of a bilinear form), averaged:
    * AAP (Eq. 10-11) pairs each item *embedding* E_i with each of its attributes, every other attribute
      being a negative; MAP (Eq. 14-15) does the same from the output at masked positions.
    * MIP (Eq. 12-13) and SP (Eq. 16-17) use the sampled negatives (``num_negatives`` of them).
    * Eq. 10-16 write the denominator over negatives only; we use Eq. 3's form, whose denominator also
      holds the positive (the usual InfoNCE, a loss >= 0). With a sigmoid inside f every score lies in
      (0, 1), so the loss cannot fall far below log(1 + K): the paper's f is a weak critic. Chapter 21
      of the book measures what that does.

Shapes: N selected positions, d hidden size, A attribute vocabulary, K negatives per positive.
The weight ``W`` and bias ``b`` are those of a head (``nn.Linear(d, d)``): f(x, y) = (W x + b)^T y.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


# ------------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------------
def bilinear(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
    """(W x + b)^T y for matching rows: x [N, d], y [N, d] -> [N]; or y [N, K, d] -> [N, K]."""
    q = F.linear(x, W, b)  # [N, d]
    if y.dim() == 3:
        return torch.einsum("nd,nkd->nk", q, y)
    return (q * y).sum(-1)


def bilinear_all(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None, table: torch.Tensor) -> torch.Tensor:
    """(W x + b)^T e_a for every row of a table: x [N, d], table [A, d] -> [N, A]."""
    return F.linear(x, W, b) @ table.T


def infonce(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Eq. 3, per row: -log( exp(pos) / (exp(pos) + sum_k exp(neg_k)) ).  pos [N], neg [N, K] -> [N]"""
    return torch.logsumexp(torch.cat([pos[:, None], neg], dim=1), dim=1) - pos


def _weighted_sum(per_row: torch.Tensor, row_weight: torch.Tensor | None) -> torch.Tensor:
    """Sum of per-row losses ([N] or [N, ...]); with 0/1 ``row_weight`` [N], only the selected rows count.

    Selecting rows by weight instead of by boolean indexing keeps every shape static (no host sync on a GPU)."""
    if row_weight is None:
        return per_row.sum()
    return (per_row.reshape(len(per_row), -1).sum(1) * row_weight).sum()


def pairwise_official(x, W, b, pos, neg, row_weight=None) -> torch.Tensor:
    """The released code's MIP/SP loss: softplus(f_neg - f_pos) with f = sigmoid((W x + b)^T y), summed.

    x [N, d]; pos [N, d]; neg [N, d] or [N, K, d] (K > 1: each negative is a separate pair)."""
    f_pos = torch.sigmoid(bilinear(x, W, b, pos))  # [N]
    f_neg = torch.sigmoid(bilinear(x, W, b, neg))  # [N] or [N, K]
    if f_neg.dim() == 2:
        f_pos = f_pos[:, None]
    return _weighted_sum(F.softplus(f_neg - f_pos), row_weight)  # BCE(sigmoid(f_pos - f_neg), 1), summed


def pairwise_paper(x, W, b, pos, neg, row_weight=None) -> torch.Tensor:
    """InfoNCE with sampled negatives and f = sigmoid((W x + b)^T y), averaged over (selected) rows."""
    f_pos = torch.sigmoid(bilinear(x, W, b, pos))  # [N]
    f_neg = torch.sigmoid(bilinear(x, W, b, neg if neg.dim() == 3 else neg[:, None, :]))  # [N, K]
    n_rows = torch.as_tensor(float(len(f_pos)), device=x.device) if row_weight is None else row_weight.sum()
    return _weighted_sum(infonce(f_pos, f_neg), row_weight) / n_rows.clamp(min=1.0)


def attribute_bce_official(x, W, b, attribute_table, targets, row_weight=None) -> torch.Tensor:
    """Released AAP/MAP: multi-label BCE of sigmoid((W x + b)^T e_a) against 0/1 targets, summed over
    positions and the whole attribute vocabulary.  x [N, d], attribute_table [A, d], targets [N, A]."""
    logits = bilinear_all(x, W, b, attribute_table)  # [N, A]
    if row_weight is None:
        return F.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
    return _weighted_sum(F.binary_cross_entropy_with_logits(logits, targets, reduction="none"), row_weight)


def attribute_infonce_paper(x, W, b, attribute_table, targets, row_weight=None) -> torch.Tensor:
    """Eq. 10 / 14: for each (position, attribute of its item) pair, InfoNCE of f = sigmoid((W x + b)^T e_a)
    with every attribute the item does not have as negatives (padding attribute 0 excluded); averaged."""
    f = torch.sigmoid(bilinear_all(x, W, b, attribute_table))  # [N, A]
    is_pos = targets > 0  # [N, A]
    neg_scores = f.masked_fill(is_pos, float("-inf"))
    neg_scores[:, 0] = float("-inf")  # attribute id 0 is padding, never a negative
    neg_lse = torch.logsumexp(neg_scores, dim=1, keepdim=True)  # [N, 1] log sum over negatives
    per_pair = torch.logaddexp(neg_lse, f) - f  # [N, A] -log( e^f_pos / (e^f_pos + sum_neg e^f) )
    pair_weight = is_pos.to(f.dtype) if row_weight is None else is_pos * row_weight[:, None]  # [N, A]
    return (per_pair * pair_weight).sum() / pair_weight.sum().clamp(min=1)


# ------------------------------------------------------------------------------------------------
# The four objectives, as the equations name them
# ------------------------------------------------------------------------------------------------
def attribute_loss(x, W, b, attribute_table, targets, variant: str = "official", row_weight=None) -> torch.Tensor:
    """Associated Attribute Prediction (AAP, Eq. 10-11) and Masked Attribute Prediction (MAP, Eq. 14-15): the
    same loss, between a vector and the attributes of an item, against every attribute it does not have.
    AAP: x = F_t at unmasked positions (official; the paper: E_i, the item embedding) and that item's
    attributes; MAP: x = F_t at a masked position and the masked item's attributes.
    ``row_weight`` (optional, [N] of 0/1) selects rows without changing shapes, in every function below."""
    fn = attribute_bce_official if variant == "official" else attribute_infonce_paper
    return fn(x, W, b, attribute_table, targets, row_weight)


aap_loss = attribute_loss  # Eq. 10-11
map_loss = attribute_loss  # Eq. 14-15


def mip_loss(x, W, b, pos_items, neg_items, variant: str = "official", row_weight=None) -> torch.Tensor:
    """Masked Item Prediction, Eq. 12-13: the output F_t at a masked position and the masked item's
    embedding e_{i_t}, against sampled items.  x [N, d], pos_items [N, d], neg_items [N, d] or [N, K, d]."""
    fn = pairwise_official if variant == "official" else pairwise_paper
    return fn(x, W, b, pos_items, neg_items, row_weight)


def sp_loss(context, W, b, pos_segment, neg_segment, variant: str = "official") -> torch.Tensor:
    """Segment Prediction, Eq. 16-17: the sequence with a segment masked (its last output s̃) and the
    segment itself (s), against a segment cut from other users.  [B, d] each (neg: [B, d] or [B, K, d])."""
    fn = pairwise_official if variant == "official" else pairwise_paper
    return fn(context, W, b, pos_segment, neg_segment)


def finetune_loss(pos_logits: torch.Tensor, neg_logits: torch.Tensor, is_target: torch.Tensor,
                  variant: str = "official") -> torch.Tensor:
    """Next-item loss over all target positions, averaged. logits [B, L] = e_i^T F_t (Eq. 9).

    official: BCE on logits, -log σ(pos) - log(1 - σ(neg)) (the authors' code);
    paper: Eq. 18, the pairwise -log σ(pos - neg)."""
    w = is_target.to(pos_logits.dtype)
    if variant == "official":
        per_pos = F.softplus(-pos_logits) + F.softplus(neg_logits)
    else:
        per_pos = F.softplus(neg_logits - pos_logits)
    return (per_pos * w).sum() / w.sum().clamp(min=1.0)


# ------------------------------------------------------------------------------------------------
# A registry of objectives: the pre-training loop calls whatever is registered with a weight > 0
# ------------------------------------------------------------------------------------------------
@dataclass
class Objective:
    """A registered pre-training objective. ``fn(ctx) -> scalar loss``; ``needs_segments`` asks the loop
    to encode the three SP views as well (costs 3 more encoder passes)."""

    name: str
    fn: Callable
    needs_segments: bool = False


OBJECTIVES: dict[str, Objective] = {}


def register_objective(name: str, needs_segments: bool = False):
    """Decorator: ``@register_objective("myobj")`` on ``def myobj(ctx) -> loss``; then give it a weight,
    ``cfg.replace(loss_weights={"myobj": 0.5})``. ``ctx`` is a :class:`ObjectiveContext`."""

    def wrap(fn):
        OBJECTIVES[name] = Objective(name, fn, needs_segments)
        return fn

    return wrap


@dataclass
class ObjectiveContext:
    """What an objective sees in one pre-training step."""

    model: torch.nn.Module
    batch: object  # a PretrainBatch
    hidden: torch.Tensor  # [B, L, d] bidirectional encoding of the masked sequence
    segment_context: torch.Tensor | None  # [B, d] last output of the sequence with the segment masked
    segment_pos: torch.Tensor | None  # [B, d] last output of the positive segment view
    segment_neg: torch.Tensor | None  # [B, d] or [B, K, d] last output of the negative segment view(s)
    variant: str
    attribute_matrix: torch.Tensor  # [V, A] multi-hot item -> attributes (float)
    dense: bool = False  # select positions by 0/1 weights over all B*L rows (static shapes, GPU) not by indexing

    def head(self, name: str):
        lin = self.model.heads[name]
        return lin.weight, lin.bias

    def rows(self, sel: torch.Tensor, *tensors: torch.Tensor):
        """The rows of [B, L, ...] tensors at the positions ``sel`` [B, L], and their weights.

        Sparse (CPU default): boolean indexing, [N, ...] and weight None. Dense: every row, [B*L, ...], with
        weight = sel as 0/1 floats."""
        if self.dense:
            return [t.reshape(-1, *t.shape[2:]) for t in tensors], sel.reshape(-1).to(self.hidden.dtype)
        return [t[sel] for t in tensors], None


@register_objective("aap")
def _aap(ctx: ObjectiveContext) -> torch.Tensor:
    bt = ctx.batch
    W, b = ctx.head("aap")
    table = ctx.model.attribute_embeddings.weight  # [A, d]
    if ctx.variant == "official":
        (x, items), weight = ctx.rows(bt.aap_positions, ctx.hidden, bt.items)  # F_t at unmasked real items
    else:
        (items,), weight = ctx.rows(bt.items > 0, bt.items)  # every real item of the (unmasked) sequence
        x = ctx.model.item_embeddings(items)  # [N, d] E_i, Eq. 10
    targets = ctx.attribute_matrix[items]  # [N, A]
    return aap_loss(x, W, b, table, targets, ctx.variant, weight)


@register_objective("mip")
def _mip(ctx: ObjectiveContext) -> torch.Tensor:
    bt = ctx.batch
    W, b = ctx.head("mip")
    emb = ctx.model.item_embeddings
    (x, items, negatives), weight = ctx.rows(bt.masked_positions, ctx.hidden, bt.items, bt.negative_items)
    pos = emb(items)  # [N, d] e_{i_t}, the masked item
    neg = emb(negatives)  # [N, K, d]
    if ctx.variant == "official" and neg.shape[1] == 1:
        neg = neg[:, 0]
    return mip_loss(x, W, b, pos, neg, ctx.variant, weight)


@register_objective("map")
def _map(ctx: ObjectiveContext) -> torch.Tensor:
    bt = ctx.batch
    W, b = ctx.head("map")
    (x, items), weight = ctx.rows(bt.masked_positions, ctx.hidden, bt.items)
    targets = ctx.attribute_matrix[items]  # [N, A]
    return map_loss(x, W, b, ctx.model.attribute_embeddings.weight, targets, ctx.variant, weight)


@register_objective("sp", needs_segments=True)
def _sp(ctx: ObjectiveContext) -> torch.Tensor:
    W, b = ctx.head("sp")
    neg = ctx.segment_neg
    if ctx.variant == "official" and neg.dim() == 3 and neg.shape[1] == 1:
        neg = neg[:, 0]
    return sp_loss(ctx.segment_context, W, b, ctx.segment_pos, neg, ctx.variant)
