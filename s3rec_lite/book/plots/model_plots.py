"""Figures about the model and the objectives (chapters 4, 5, 8-11 and 21 of the book).

Every function returns a matplotlib ``Figure`` with labelled axes and a title. Inputs are plain arrays
or tensors (converted with numpy), so the functions can be tested on small made-up inputs.
"""
from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from .style import COLORS, color, style

__all__ = [
    "attention_heatmap", "attention_heads", "attention_masks", "activation_functions", "learning_curve", "masking_picture",
    "segment_views", "attribute_targets", "loss_curves", "setting_comparison", "pairwise_loss_shapes",
    "finetune_loss_shapes",
]


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _labels(ids, mask_id=None) -> list[str]:
    out = []
    for i in _np(ids).tolist():
        out.append("" if i == 0 else ("[M]" if mask_id is not None and i == mask_id else str(i)))
    return out


def attention_heatmap(weights, labels=None, title: str = "Attention weights", ax=None):
    """A [L, L] matrix of attention probabilities (row: query position, column: key position)."""
    style()
    w = _np(weights)
    fig = ax.figure if ax is not None else plt.figure(figsize=(5.2, 4.4))
    ax = ax or fig.add_subplot(111)
    im = ax.imshow(w, cmap="Reds", vmin=0, vmax=max(float(w.max()), 1e-9), aspect="equal")
    ax.set_xlabel("key position j (attended to)")
    ax.set_ylabel("query position i (attending)")
    ax.set_title(title)
    ax.grid(False)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention probability")
    return fig


def attention_heads(maps, labels=None, title: str = "Attention weights per head"):
    """One heat map per head: ``maps`` [h, L, L] attention probabilities of one block for one sequence."""
    style()
    maps = _np(maps)
    h = maps.shape[0]
    fig, axes = plt.subplots(1, h, figsize=(4.6 * h, 4.4), squeeze=False)
    for i in range(h):
        attention_heatmap(maps[i], labels, title=f"head {i + 1}", ax=axes[0, i])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def attention_masks(causal, bidirectional, labels=None):
    """Two panels: which keys each query may attend to, under the causal (fine-tuning) and the
    bidirectional (pre-training) masks. Inputs: additive masks broadcastable to [L, L] (0 = allowed)."""
    style()
    c = _np(causal)
    b = _np(bidirectional)
    L = c.shape[-1]
    c = np.broadcast_to(c.reshape(-1, L)[-L:] if c.ndim > 1 else c, (L, L)) == 0
    b = np.broadcast_to(b.reshape(-1, L)[-L:] if b.ndim > 1 else b, (L, L)) == 0
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    cmap = ListedColormap(["#F2F3F4", color("S3-Rec")])
    for ax, m, name in ((axes[0], c, "causal (fine-tuning, prediction)"), (axes[1], b, "bidirectional (pre-training)")):
        ax.imshow(m, cmap=cmap, vmin=0, vmax=1)
        ax.set_title(name)
        ax.set_xlabel("key position j")
        ax.set_ylabel("query position i")
        ax.grid(False)
        if labels is not None:
            ax.set_xticks(range(L), labels, rotation=90, fontsize=7)
            ax.set_yticks(range(L), labels, fontsize=7)
    fig.suptitle("Attention masks: red = query i may attend to key j (grey: blocked)")
    fig.tight_layout()
    return fig


def activation_functions(x_min: float = -4.0, x_max: float = 4.0):
    """GELU (erf form, the authors' code) against ReLU (the paper's Eq. 7)."""
    style()
    x = np.linspace(x_min, x_max, 401)
    erf = np.vectorize(math.erf)
    gelu = 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    fig, ax = plt.subplots()
    ax.plot(x, np.maximum(x, 0), label="ReLU (paper, Eq. 7)", color=COLORS[1])
    ax.plot(x, gelu, label="GELU (authors' code, ours)", color=COLORS[0])
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel("activation")
    ax.set_title("The point-wise feed-forward network's non-linearity")
    ax.legend()
    return fig


def learning_curve(history, metric: str = "valid_NDCG@10", title: str = "Fine-tuning: loss and validation metric"):
    """Training loss (left axis) and a validation metric (right axis) per epoch, from a ``finetune``
    history (a list of dicts with "epoch", "loss" and ``metric``)."""
    style()
    epochs = [r["epoch"] for r in history]
    fig, ax = plt.subplots()
    ax.plot(epochs, [r["loss"] for r in history], "o-", color=COLORS[1], label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss", color=COLORS[1])
    ax2 = ax.twinx()
    ax2.plot(epochs, [r[metric] for r in history], "s-", color=COLORS[0], label=metric)
    ax2.set_ylabel(metric.replace("_", " "), color=COLORS[0])
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    ax.set_title(title)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    return fig


def _grid(rows: list[list[str]], row_names: list[str], highlight: np.ndarray, title: str, xlabel: str,
          colors: np.ndarray | None = None):
    """One column per view (``row_names``), one row per position (oldest on top): a tall table that stays
    narrow enough for a phone whatever the sequence length, with 9-pt text in every cell."""
    L = len(rows[0])
    fig, ax = plt.subplots(figsize=(min(7.0, 1.45 * len(rows) + 1.2), 0.27 * L + 1.5))
    shade = (highlight.astype(float) if colors is None else colors).T  # [L, views]
    ax.imshow(shade, cmap=ListedColormap(["#FFFFFF", "#F5B7B1", "#AED6F1", "#D5DBDB"]), vmin=0, vmax=3, aspect="auto")
    for r, row in enumerate(rows):
        for j, text in enumerate(row):
            ax.text(r, j, text, ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(rows)), [textwrap.fill(name, 12) for name in row_names], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(range(L), [str(j) for j in range(L)], fontsize=9)
    ax.set_xticks(np.arange(-0.5, len(rows), 1), minor=True)
    ax.set_yticks(np.arange(-0.5, L, 1), minor=True)
    ax.grid(False)
    ax.grid(which="minor", color="#BBBBBB", linewidth=0.5)
    ax.tick_params(which="both", length=0)
    ax.set_ylabel(xlabel)
    ax.set_xlabel("view")
    ax.set_title(title, pad=12)
    return fig


def masking_picture(items, inputs, masked, negatives, mask_id: int, title: str = "Masked item prediction"):
    """One sequence: the original items, what the encoder sees (masked positions -> [M]) and the sampled
    negative at each masked position (red cells: masked). All inputs are 1-D over positions (negatives:
    the first negative per position)."""
    style()
    items, inputs, masked, negatives = _np(items), _np(inputs), _np(masked).astype(bool), _np(negatives)
    if negatives.ndim == 2:
        negatives = negatives[:, 0]
    keep = items > 0
    items, inputs, masked, negatives = items[keep], inputs[keep], masked[keep], negatives[keep]
    rows = [_labels(items), _labels(inputs, mask_id), [str(n) if m else "" for n, m in zip(negatives.tolist(), masked)]]
    hl = np.vstack([np.zeros_like(masked), masked, masked]).astype(int)
    return _grid(rows, ["original item", "encoder input", "negative item"], hl, title, "position in the sequence (oldest on top)")


def segment_views(items, context, positive, negative, mask_id: int, title: str = "Segment prediction: the three views"):
    """The four rows of segment prediction: the sequence, the context (segment masked), the positive
    segment (everything else masked) and the negative segment (cut from other sequences)."""
    style()
    items, context, positive, negative = (_np(a) for a in (items, context, positive, negative))
    keep = items > 0
    items, context, positive, negative = items[keep], context[keep], positive[keep], negative[keep]
    in_seg = context == mask_id
    rows = [_labels(items), _labels(context, mask_id), _labels(positive, mask_id), _labels(negative, mask_id)]
    colors = np.vstack([np.zeros(len(items)), np.where(in_seg, 1, 0), np.where(in_seg, 2, 3), np.where(in_seg, 1, 3)])
    return _grid(rows, ["sequence", "context s~ (segment masked)", "positive segment s", "negative segment s-"],
                 in_seg, title, "position in the sequence (oldest on top)", colors=colors)


def attribute_targets(items, attribute_matrix, title: str = "Items and their attributes", max_attributes: int = 30):
    """The multi-hot item-attribute matrix of a sequence's items as a seaborn heat map (rows: items, columns:
    the attributes any of them carries, the ``max_attributes`` most shared among them first, ties by id).
    ``attribute_matrix`` is [V, A] (``ds.attribute_matrix()``)."""
    import seaborn as sns

    style()
    items = _np(items)
    items = items[items > 0]
    sub = _np(attribute_matrix)[items]  # [n, A]
    counts = sub.astype(int).sum(0)  # [A] how many of the items carry each attribute
    present = np.flatnonzero(counts)
    cols = present[np.argsort(-counts[present], kind="stable")][:max_attributes]
    fig, ax = plt.subplots(figsize=(min(7.0, 0.19 * len(cols) + 1.8), 0.27 * len(items) + 1.6))
    sns.heatmap(sub[:, cols], cmap=ListedColormap(["#FFFFFF", color("S3-Rec")]), vmin=0, vmax=1, cbar=False,
                linewidths=0.5, linecolor="#D5DBDB", square=False, ax=ax,
                xticklabels=[str(c) for c in cols.tolist()], yticklabels=[str(i) for i in items.tolist()])
    ax.tick_params(axis="x", labelrotation=90, labelsize=9)
    ax.tick_params(axis="y", labelrotation=0, labelsize=9)
    shown = "all present" if len(cols) == len(present) else f"the {len(cols)} most shared of {len(present)} present"
    ax.set_xlabel(f"attribute id ({shown})")
    ax.set_ylabel("item id (sequence order)")
    ax.set_title(title)
    return fig


def loss_curves(curves: dict, title: str = "Pre-training loss", ylabel: str = "loss", xlabel: str = "step",
                relative: bool = False, smooth: int = 1):
    """One line per named curve (a list of per-step or per-epoch values). ``relative`` divides each curve
    by its first value (compares losses of different scales); ``smooth`` is a moving-average window. Curves
    get different widths and dash patterns (the first wide and pale, the next ones thinner and dashed on
    top of it), so that two curves that coincide both stay visible."""
    style()
    fig, ax = plt.subplots()
    looks = [dict(lw=3.2, alpha=0.55), dict(lw=1.6, ls="--"), dict(lw=1.4, ls=":"), dict(lw=1.4, ls="-.")]
    for i, (name, values) in enumerate(curves.items()):
        v = np.asarray(values, dtype=float)
        if relative and len(v) and v[0] != 0:
            v = v / v[0]
        if smooth > 1 and len(v) >= smooth:
            v = np.convolve(v, np.ones(smooth) / smooth, mode="valid")
            x = np.arange(smooth - 1, smooth - 1 + len(v))
        else:
            x = np.arange(len(v))
        ax.plot(x, v, label=name, color=COLORS[i % len(COLORS)], **looks[i % len(looks)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (relative to the first value)" if relative else ""))
    ax.set_title(title)
    ax.legend()
    return fig


def setting_comparison(rows, metric: str = "test_NDCG@10", key: str = "setting",
                       title: str = "Tiny runs, one dot per seed"):
    """For each value of ``key``: a bar at the mean of ``metric`` with an error bar of one standard deviation
    (seaborn; none for a single row) and one dot per row (e.g. per seed)."""
    import pandas as pd
    import seaborn as sns

    style()
    df = pd.DataFrame([{key: str(r[key]), metric: float(r[metric])} for r in rows])
    names = list(dict.fromkeys(df[key]))
    palette = {name: COLORS[i % len(COLORS)] for i, name in enumerate(names)}
    fig, ax = plt.subplots(figsize=(min(7.0, max(4.5, 1.3 * len(names) + 2)), 3.8))
    sns.barplot(data=df, x=key, y=metric, hue=key, order=names, hue_order=names, palette=palette, alpha=0.4,
                errorbar="sd", capsize=0.15, err_kws={"linewidth": 1.2}, width=0.6, legend=False, ax=ax)
    sns.stripplot(data=df, x=key, y=metric, hue=key, order=names, hue_order=names, palette=palette, size=6,
                  jitter=0.12, legend=False, ax=ax, zorder=3)
    ax.set_xlabel(key)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title)
    return fig


def pairwise_loss_shapes(lim: float = 8.0):
    """The pairwise loss of the authors' MIP/SP code, softplus(sigmoid(s-) - sigmoid(s+)), against the
    plain BPR loss softplus(s- - s+), as functions of the score margin s+ - s- (with s- = 0)."""
    style()
    m = np.linspace(-lim, lim, 401)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    softplus = lambda z: np.log1p(np.exp(z))  # noqa: E731
    fig, ax = plt.subplots()
    ax.plot(m, softplus(-m), label="softplus(s- - s+)  (one sigmoid, BPR-like)", color=COLORS[1])
    ax.plot(m, softplus(sig(0.0) - sig(m)), label="softplus(σ(s-) - σ(s+))  (authors' double sigmoid)", color=COLORS[0])
    ax.axhline(math.log1p(math.exp(-1.0)), color="#7F8C8D", linestyle=":", label="floor log(1 + e^-1) ≈ 0.313")
    ax.set_xlabel("score margin s+ - s-  (with s- = 0)")
    ax.set_ylabel("loss per pair")
    ax.set_title("Pairwise losses: the double sigmoid saturates")
    ax.set_ylim(0, 3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1)
    return fig


def finetune_loss_shapes(lim: float = 6.0):
    """The two fine-tuning losses for one position as functions of the positive logit, for a few values
    of the negative logit: official BCE  softplus(-s+) + softplus(s-)  vs Eq. 18  softplus(s- - s+)."""
    style()
    s = np.linspace(-lim, lim, 301)
    softplus = lambda z: np.log1p(np.exp(z))  # noqa: E731
    fig, ax = plt.subplots()
    for i, neg in enumerate((-2.0, 0.0, 2.0)):
        ax.plot(s, softplus(-s) + softplus(neg), color=COLORS[i], label=f"BCE (official), s- = {neg:g}")
        ax.plot(s, softplus(neg - s), color=COLORS[i], linestyle="--", label=f"Eq. 18 (paper), s- = {neg:g}")
    ax.set_xlabel("positive logit s+ = e_{i+1}^T F_t")
    ax.set_ylabel("loss at one position")
    ax.set_title("Fine-tuning losses: BCE on logits vs the pairwise Eq. 18")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    return fig
