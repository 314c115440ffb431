"""Evaluation metrics: HR@k, NDCG@k and MRR from the rank of the true item.

Rank 0 is the top. Ties are counted against the model (pessimistic): an item that scores exactly as the
true item is ranked above it, so a model that gives every item the same score gets the worst rank, not
the best. (The authors' code breaks ties by sort order, which can flatter a degenerate model.)
"""
from __future__ import annotations

import numpy as np
import torch

from .errors import TrainingFault

SAMPLED_METRICS = ("HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR")
FULL_METRICS = ("HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20", "NDCG@20")


def _check_scores(scores: torch.Tensor) -> None:
    """A NaN score compares false with everything, so the true item would rank first: refuse it. (-inf is the
    mask of excluded items and fine; +inf or NaN only come from a diverged model.)"""
    top = scores.max()  # one pass: max is NaN if any score is NaN, +inf if any is +inf
    if torch.isnan(top) or torch.isposinf(top):
        raise TrainingFault("the model's scores are NaN or infinite (its weights diverged): no metric can be computed")


def rank_of_first(scores: torch.Tensor) -> torch.Tensor:
    """Pessimistic 0-based rank of column 0 among all columns.  scores [B, 1 + C] -> ranks [B]"""
    _check_scores(scores)
    return (scores[:, 1:] >= scores[:, :1]).sum(dim=1)


def rank_of_target(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pessimistic 0-based rank of ``target`` among all columns.  scores [B, V], target [B] -> [B]"""
    _check_scores(scores)
    s = scores.gather(1, target[:, None])  # [B, 1]
    return (scores >= s).sum(dim=1) - 1  # minus the target itself


def metrics_from_ranks(ranks, names=SAMPLED_METRICS) -> dict[str, float]:
    """Average HR@k (rank < k), NDCG@k (1/log2(rank+2) if rank < k) and MRR (1/(rank+1)) over users."""
    r = np.asarray(ranks.cpu() if isinstance(ranks, torch.Tensor) else ranks, dtype=np.float64)
    out = {}
    for name in names:
        if name == "MRR":
            out[name] = float(np.mean(1.0 / (r + 1.0)))
            continue
        kind, k = name.split("@")
        hit = r < int(k)
        if kind == "HR":
            out[name] = float(np.mean(hit))
        elif kind == "NDCG":
            out[name] = float(np.mean(np.where(hit, 1.0 / np.log2(r + 2.0), 0.0)))
        else:
            raise ValueError(f"unknown metric {name}")
    return out
