"""What pre-training does to item embeddings (the book's chapter 12): attributes, projections, linear probes.

A *linear probe* asks how much of an item's attributes (LastFM: its tags) a linear map can read from the
item's embedding alone: one logistic regression per tag, all trained at once as one multi-label linear layer
on some items and scored on items it never saw (ROC AUC per tag; 0.5 is chance). Everything here is a small
pure function on arrays; the chapter supplies the embeddings (the authors' released checkpoint, a random
initialisation, SASRec trained from scratch) and draws the figures.

Shapes: N items (ids 1..n_items, row r is item r + 1), d hidden size, k probed tags.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import S3RecError

__all__ = [
    "item_embedding_matrix", "frequent_attributes", "distinct_attributes", "attribute_targets", "exclusive_labels",
    "item_counts", "pca_2d", "roc_auc", "split_items", "fit_linear_probe", "probe_auc", "probe_table",
    "plot_embedding_maps", "plot_probe",
]


# ------------------------------------------------------------------------------------------------
# Embeddings and attributes
# ------------------------------------------------------------------------------------------------
def item_embedding_matrix(model, n_items: int) -> np.ndarray:
    """The rows of a model's item embedding table for items 1..n_items (padding 0 and the mask id left out).

    -> [N, d] float64 (a copy: later training of ``model`` does not change it)."""
    table = model.item_embeddings.weight.detach().cpu()  # [V, d], V = n_items + 2
    if table.shape[0] < n_items + 1:
        raise S3RecError(f"the model's item table has {table.shape[0]} rows; items 1..{n_items} need {n_items + 1}")
    return table[1:n_items + 1].double().numpy().copy()


def attribute_targets(ds, attributes) -> np.ndarray:
    """0/1 matrix: does item r + 1 carry attribute ``attributes[j]``?  -> [N, k] float64."""
    full = ds.attribute_matrix()[1:ds.n_items + 1]  # [N, A] uint8, duplicates in the authors' file count once
    attributes = np.asarray(attributes, dtype=np.int64)
    if attributes.size == 0 or attributes.min() < 1 or attributes.max() >= full.shape[1]:
        raise S3RecError(f"attribute ids must lie in 1..{full.shape[1] - 1}, got {attributes.tolist()}")
    return full[:, attributes].astype(np.float64)


def frequent_attributes(ds, k: int) -> np.ndarray:
    """The ``k`` attributes carried by the most items (ties: smaller id first).  -> [k] ids."""
    counts = ds.attribute_matrix()[1:ds.n_items + 1].sum(0).astype(np.int64)  # [A] items per attribute
    counts[0] = -1  # padding is no attribute
    order = np.lexsort((np.arange(len(counts)), -counts))
    if k > (counts > 0).sum():
        raise S3RecError(f"only {(counts > 0).sum()} attributes occur, {k} were asked for")
    return order[:k]


def distinct_attributes(ds, k: int, pool: int = 20) -> np.ndarray:
    """``k`` frequent attributes that rarely share an item, to colour a scatter plot: greedily, among the
    ``pool`` most frequent, the one with the most items that carry none of the ones already chosen."""
    candidates = frequent_attributes(ds, pool)
    Y = attribute_targets(ds, candidates).astype(bool)  # [N, pool]
    chosen = [0]
    while len(chosen) < k:
        taken = Y[:, chosen].any(1)  # [N]
        alone = [(Y[:, j] & ~taken).sum() if j not in chosen else -1 for j in range(len(candidates))]
        chosen.append(int(np.argmax(alone)))
    return candidates[chosen]


def exclusive_labels(targets: np.ndarray) -> np.ndarray:
    """For a [N, k] 0/1 matrix: the index of the one attribute an item carries, -1 for none or several. [N]"""
    targets = np.asarray(targets)
    one = targets.sum(1) == 1
    return np.where(one, targets.argmax(1), -1)


def item_counts(ds) -> np.ndarray:
    """How often each item occurs in the users' pre-training parts (``seq[:-2]``).  -> [N]"""
    counts = np.zeros(ds.n_items + 1, dtype=np.int64)
    for seq in ds.sequences:
        np.add.at(counts, seq[:-2], 1)
    return counts[1:]


# ------------------------------------------------------------------------------------------------
# Projection
# ------------------------------------------------------------------------------------------------
def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal components: the centred rows projected on the top two directions, and the share of the
    variance each explains.  X [N, d] -> ([N, 2], [2]). The sign of each axis is fixed (largest |loading| > 0)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 2:
        raise S3RecError(f"pca_2d needs an [N, d] matrix with N, d >= 2, got shape {X.shape}")
    Xc = X - X.mean(0)  # [N, d]
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)  # vt [d, d]
    top = vt[:2]  # [2, d]
    top = top * np.sign(top[np.arange(2), np.abs(top).argmax(1)])[:, None]
    share = s[:2] ** 2 / (s ** 2).sum()
    return Xc @ top.T, share


# ------------------------------------------------------------------------------------------------
# The linear probe
# ------------------------------------------------------------------------------------------------
def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve = P(a random positive scores above a random negative), ties counted half
    (the Mann-Whitney statistic, from average ranks).  scores [n], labels [n] of 0/1."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise S3RecError(f"roc_auc needs positives and negatives, got {n_pos} and {n_neg}")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average rank (1-based) over each run of tied scores
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def split_items(n: int, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of row indices 0..n-1 into (train, test); the test part never trains the probe."""
    if not 0 < test_fraction < 1:
        raise S3RecError(f"test_fraction must be in (0, 1), got {test_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(test_fraction * n)))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def fit_linear_probe(X: np.ndarray, Y: np.ndarray, weight_decay: float = 1e-3, steps: int = 100):
    """One logistic regression per column of ``Y``, fitted jointly (a multi-label linear layer) by L-BFGS on
    standardised features (each embedding dimension scaled to mean 0, variance 1 on these rows, so that the
    scale of a table does not matter), with an L2 penalty ``weight_decay`` on the weights.

    X [n, d], Y [n, k] of 0/1 -> a function ``scores(X_new) -> [m, k]`` (logits)."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise S3RecError(f"fit_linear_probe: X [n, d] and Y [n, k] with the same n, got {X.shape} and {Y.shape}")
    mean, std = X.mean(0), X.std(0) + 1e-12  # [d]
    Xt = torch.as_tensor((X - mean) / std)  # [n, d]
    Yt = torch.as_tensor(Y)  # [n, k]
    W = torch.zeros(X.shape[1], Y.shape[1], dtype=torch.float64, requires_grad=True)  # [d, k]
    b = torch.zeros(Y.shape[1], dtype=torch.float64, requires_grad=True)  # [k]
    opt = torch.optim.LBFGS([W, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(Xt @ W + b, Yt) + weight_decay * W.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    W_, b_ = W.detach().numpy(), b.detach().numpy()
    return lambda X_new: ((np.asarray(X_new, dtype=np.float64) - mean) / std) @ W_ + b_


def probe_auc(X: np.ndarray, Y: np.ndarray, seeds=(0, 1, 2, 3, 4), test_fraction: float = 0.3,
              weight_decay: float = 1e-3) -> np.ndarray:
    """Held-out ROC AUC of the linear probe, per split seed and per attribute: for each seed, fit on a random
    ``1 - test_fraction`` of the items and score the rest.  X [N, d], Y [N, k] -> [len(seeds), k]."""
    out = np.zeros((len(seeds), Y.shape[1]))
    for s, seed in enumerate(seeds):
        train, test = split_items(len(X), test_fraction, seed)
        scores = fit_linear_probe(X[train], Y[train], weight_decay)(X[test])  # [m, k]
        out[s] = [roc_auc(scores[:, j], Y[test, j]) for j in range(Y.shape[1])]
    return out


def probe_table(results: dict):
    """A DataFrame, one row per representation: mean held-out AUC over attributes and split seeds, its spread
    over seeds (sd of the per-seed mean), and the lowest and highest per-attribute AUC.
    ``results`` maps a name to a [seeds, k] array from :func:`probe_auc`."""
    import pandas as pd

    rows = []
    for name, auc in results.items():
        auc = np.asarray(auc)
        per_seed = auc.mean(1)  # [seeds]
        per_tag = auc.mean(0)  # [k]
        rows.append({"representation": name, "mean AUC": per_seed.mean(),
                     "sd over splits": per_seed.std(ddof=1) if len(per_seed) > 1 else float("nan"),
                     "worst tag": per_tag.min(), "best tag": per_tag.max()})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------
def plot_embedding_maps(maps: dict, labels: np.ndarray, label_names: list[str], title: str = ""):
    """One scatter per representation of its 2-D projection, coloured by the one attribute an item carries
    (grey: none or several of them, drawn first and small). ``maps``: name -> ([N, 2] points, [2] variance
    shares). A 2x2 grid for up to three maps, the legend in the free panel: it never covers points."""
    import matplotlib.pyplot as plt

    from .plots.style import COLORS, style

    style()
    if not 1 <= len(maps) <= 3:
        raise S3RecError(f"plot_embedding_maps draws 1 to 3 maps, got {len(maps)}")
    labels = np.asarray(labels)
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 6.6))
    axes = axes.ravel()
    for ax, (name, (points, share)) in zip(axes, maps.items()):
        other = labels < 0
        ax.scatter(points[other, 0], points[other, 1], s=3, c="#C8C8C8", lw=0, rasterized=True)
        for j in range(len(label_names)):
            sel = labels == j
            ax.scatter(points[sel, 0], points[sel, 1], s=7, c=COLORS[j % len(COLORS)], lw=0, alpha=0.85,
                       rasterized=True)
        ax.set_title(name, fontsize=11)
        ax.set_xlabel(f"PC 1 ({share[0]:.0%} of variance)", fontsize=10)
        ax.set_ylabel(f"PC 2 ({share[1]:.0%})", fontsize=10)
        ax.tick_params(labelsize=9)
    for ax in axes[len(maps):]:
        ax.axis("off")
    legend_ax = axes[-1]
    handles = [plt.Line2D([], [], ls="", marker="o", ms=8, color=COLORS[j % len(COLORS)]) for j in range(len(label_names))]
    handles.append(plt.Line2D([], [], ls="", marker="o", ms=6, color="#C8C8C8"))
    legend_ax.legend(handles, [*label_names, "none or several"], loc="center", fontsize=11,
                     title="items carrying only", title_fontsize=11)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def plot_probe(results: dict, attribute_names: list[str], title: str = ""):
    """Held-out AUC of the linear probe per attribute (mean over split seeds), one row of dots per
    representation, the mean over attributes as a bar; the dashed line is chance (0.5).
    ``results``: name -> [seeds, k] array from :func:`probe_auc`."""
    import matplotlib.pyplot as plt

    from .plots.style import COLORS, style

    style()
    names = list(results)
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.75 * len(names)))
    rng = np.random.default_rng(0)  # jitter only: the dots' vertical spread carries no data
    for r, name in enumerate(names):
        auc = np.asarray(results[name])
        per_tag = auc.mean(0)  # [k]
        ax.barh(r, per_tag.mean() - 0.5, left=0.5, height=0.6, color=COLORS[r % len(COLORS)], alpha=0.35)
        ax.scatter(per_tag, r + rng.uniform(-0.18, 0.18, len(per_tag)), s=22, color=COLORS[r % len(COLORS)],
                   zorder=3, lw=0)
        ax.text(max(per_tag.max(), per_tag.mean()) + 0.01, r, f"{per_tag.mean():.3f}", va="center", fontsize=10)
    ax.axvline(0.5, ls="--", color="black", lw=1)
    ax.set_yticks(range(len(names)), names, fontsize=10)
    ax.invert_yaxis()
    ax.set_xlabel(f"held-out ROC AUC per tag ({len(attribute_names)} tags; 0.5 = chance)")
    lo = min(0.45, min(np.asarray(v).mean(0).min() for v in results.values()) - 0.02)
    ax.set_xlim(lo, 1.04)
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
