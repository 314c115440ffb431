"""Figures of chapter 6, inside the released model (the numbers come from :mod:`s3rec_lite.book.attention_lab`).

Every function takes measured numbers (arrays, tensors, DataFrames, dicts) and returns a matplotlib ``Figure`` at
most 7 inches wide with fonts of at least 9 points; nothing here computes a result.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap, PowerNorm

from .style import COLORS, color, style

__all__ = [
    "mask_panels", "attention_grid", "equivariance_figure", "scale_figure", "heads_figure", "mask_figure",
    "variant_curves", "ffn_figure",
]

WIDTH = 7.0  # inches: the content column, readable on a phone


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _ticks(ax, L: int, step: int) -> None:
    ticks = list(range(0, L, step))
    ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=9)
    ax.set_yticks(ticks, [str(t) for t in ticks], fontsize=9)


def _ndcg_bars(ax, ndcg: dict, colors, title: str, wrap: bool = False) -> None:
    """One bar per setting of ``ndcg`` (name -> validation NDCG@10), labelled with its value."""
    names, vals = list(ndcg), [float(v) for v in ndcg.values()]
    bars = ax.bar(range(len(names)), vals, color=colors)
    ax.set_xticks(range(len(names)), [textwrap.fill(n, 10) if wrap else n for n in names], fontsize=9)
    _bar_labels(ax, bars, vals)
    ax.set_ylim(0, max(vals) * 1.2)
    ax.set_ylabel("validation NDCG@10")
    ax.set_title(title, fontsize=10)


def _bar_labels(ax, bars, values, fmt: str = "{:.4f}") -> None:
    for bar, v in zip(bars, values):
        ax.annotate(fmt.format(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                    va="bottom", fontsize=9, xytext=(0, 2), textcoords="offset points")


def mask_panels(causal, bidirectional, labels=None):
    """Which keys each query may attend to (red: allowed, grey: blocked): the causal mask (fine-tuning,
    prediction) beside the bidirectional one (pre-training). Inputs: boolean [L, L] (True: allowed) or
    additive masks (0: allowed)."""
    style()
    panels = []
    for m in (causal, bidirectional):
        m = _np(m)
        m = m if m.dtype == bool else m == 0
        panels.append(np.broadcast_to(m.reshape(-1, m.shape[-1])[-m.shape[-1]:], (m.shape[-1],) * 2))
    L = panels[0].shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.9))
    cmap = ListedColormap(["#F2F3F4", color("S3-Rec")])
    for ax, m, name in zip(axes, panels, ("causal\n(fine-tuning, prediction)", "bidirectional\n(pre-training)")):
        ax.imshow(m, cmap=cmap, vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("key position j")
        ax.grid(False)
        if labels is not None:
            ax.set_xticks(range(L), labels, rotation=90, fontsize=9)
            ax.set_yticks(range(L), labels, fontsize=9)
    axes[0].set_ylabel("query position i")
    fig.tight_layout()
    return fig


def attention_grid(rows: dict, tick_step: int = 10, gamma: float = 0.5):
    """Attention maps of one sequence, one row of panels per model/mask and one panel per block and head.

    ``rows``: row name -> probabilities [n, h, L, L] (row i: query position i). One colour scale for all
    panels (a power scale, ``gamma``, so that small weights stay visible)."""
    style()
    mats = {name: _np(m) for name, m in rows.items()}
    n, h, L, _ = next(iter(mats.values())).shape
    cols = n * h
    fig, axes = plt.subplots(len(mats), cols, figsize=(WIDTH, 1.55 * len(mats) + 0.8), squeeze=False)
    norm = PowerNorm(gamma, vmin=0.0, vmax=1.0)
    im = None
    for r, (name, m) in enumerate(mats.items()):
        for b in range(n):
            for i in range(h):
                ax = axes[r, b * h + i]
                im = ax.imshow(m[b, i], cmap="Reds", norm=norm, aspect="equal", interpolation="nearest")
                ax.grid(False)
                _ticks(ax, L, tick_step)
                if r == 0:
                    ax.set_title(f"block {b + 1}, head {i + 1}", fontsize=9)
                if r == len(mats) - 1:
                    ax.set_xlabel("key j", fontsize=9)
                if b * h + i == 0:
                    ax.set_ylabel(f"{name}\nquery i", fontsize=9)
                else:
                    ax.set_yticklabels([])
                if r < len(mats) - 1:
                    ax.set_xticklabels([])
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.915, 0.2, 0.018, 0.6))
    fig.colorbar(im, cax=cax, label="attention probability")
    cax.tick_params(labelsize=9)
    return fig


def equivariance_figure(gaps: dict, ndcg: dict):
    """Left: how far the encoder is from permutation-equivariant (``gaps``: setting -> mean relative change,
    log scale). Right: validation NDCG@10 for each input order (``ndcg``: order -> value)."""
    style()
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 3.4), gridspec_kw={"width_ratios": [1.25, 1]})
    names, vals = list(gaps), [max(float(v), 1e-12) for v in gaps.values()]
    y = np.arange(len(names))
    a.barh(y, vals, color=[COLORS[1] if "no position" in n else COLORS[0] for n in names])
    a.set_xscale("log")
    a.set_yticks(y, names, fontsize=9)
    a.invert_yaxis()
    for yi, v in zip(y, vals):
        a.annotate(f"{v:.1e}", (v, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9)
    a.set_xlim(min(vals) / 3, max(vals) * 30)
    a.set_xlabel("relative change after shuffling\n(0 = permutation-equivariant)")
    a.set_title("Shuffle, encode, un-shuffle", fontsize=10)
    _ndcg_bars(b, ndcg, [COLORS[i % len(COLORS)] for i in range(len(ndcg))], "Next-item prediction", wrap=True)
    fig.tight_layout()
    return fig


def scale_figure(peaks: dict, saturated: float = 0.9, bins: int = 20):
    """Histograms of each row's largest attention weight, with Eq. 6's 1/sqrt(d/h) and without it.

    ``peaks``: block name -> {scale name -> 1-d array of largest weights}; one panel per block."""
    style()
    fig, axes = plt.subplots(1, len(peaks), figsize=(WIDTH, 3.2), sharey=True, squeeze=False)
    edges = np.linspace(0, 1, bins + 1)
    for ax, (block, by_scale) in zip(axes[0], peaks.items()):
        for k, (name, values) in enumerate(by_scale.items()):
            v = _np(values).ravel()
            ax.hist(v, bins=edges, weights=np.full(len(v), 1.0 / max(len(v), 1)), histtype="step", linewidth=2,
                    color=COLORS[k], label=name)
        ax.axvline(saturated, color="#7F8C8D", linestyle=":", linewidth=1)
        ax.set_title(block, fontsize=10)
        ax.set_xlabel("largest weight of a row")
    axes[0, 0].set_ylabel("share of rows")
    axes[0, 0].legend(loc="upper center", title="scale", title_fontsize=9)
    fig.tight_layout()
    return fig


def heads_figure(tables: dict):
    """Do two heads of a block attend alike? ``tables``: model name -> ``attention_lab.heads_js`` frame; one
    panel per model, grouped bars per block: JS(head 1, head 2) and each head's JS from the uniform row."""
    style()
    fig, axes = plt.subplots(1, len(tables), figsize=(WIDTH, 3.3), sharey=True, squeeze=False)
    for ax, (name, df) in zip(axes[0], tables.items()):
        cols = [c for c in df.columns if c != "block"]
        x = np.arange(len(df))
        w = 0.8 / len(cols)
        for k, c in enumerate(cols):
            ax.bar(x + (k - (len(cols) - 1) / 2) * w, df[c], w, color=COLORS[k], label=c)
        ax.set_xticks(x, [f"block {b}" for b in df["block"]], fontsize=9)
        ax.set_title(name, fontsize=10)
    axes[0, 0].set_ylabel("Jensen-Shannon divergence (bits)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def mask_figure(later: dict, ndcg: dict):
    """Left: the weight queries put on later positions under the bidirectional mask (``later``: model name ->
    list of values per block and head, in the order block 1 head 1, block 1 head 2, ...). Right: validation
    NDCG@10 of one model predicting with either mask (``ndcg``: mask name -> value)."""
    style()
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 3.3), gridspec_kw={"width_ratios": [1.4, 1]})
    names = list(later)
    k = len(next(iter(later.values())))
    x = np.arange(k)
    w = 0.8 / len(names)
    for i, name in enumerate(names):
        a.bar(x + (i - (len(names) - 1) / 2) * w, later[name], w, color=COLORS[i], label=name)
    h = 2 if k % 2 == 0 else 1
    a.set_xticks(x, [f"b{j // h + 1} h{j % h + 1}" for j in range(k)], fontsize=9)
    a.set_xlabel("block and head")
    a.set_ylabel("weight on later positions")
    a.set_ylim(0, 1.15)
    a.legend(loc="upper left", fontsize=9)
    a.set_title("Bidirectional mask", fontsize=10)
    _ndcg_bars(b, ndcg, [COLORS[2], COLORS[3]][: len(ndcg)], "Mask at prediction time")
    fig.tight_layout()
    return fig


def variant_curves(histories: dict, metric: str = "valid_NDCG@10"):
    """Training from scratch with pieces of the block removed: ``histories``: variant -> ``finetune`` history.
    Left: the validation metric per epoch; right: the training loss per epoch."""
    style()
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 3.3))
    markers = "os^Dv"
    for k, (name, hist) in enumerate(histories.items()):
        epochs = [r["epoch"] + 1 for r in hist]
        kw = dict(color=COLORS[k], marker=markers[k % len(markers)], markersize=4, label=name)
        a.plot(epochs, [r[metric] for r in hist], **kw)
        b.plot(epochs, [r["loss"] for r in hist], **kw)
    a.set_xlabel("epoch")
    a.set_ylabel(metric.replace("valid_", "validation "))
    b.set_xlabel("epoch")
    b.set_ylabel("training loss")
    a.legend(loc="lower right", fontsize=9)
    a.set_title("Validation", fontsize=10)
    b.set_title("Training", fontsize=10)
    fig.tight_layout()
    return fig


def ffn_figure(scores: dict, metric: str = "validation NDCG@10"):
    """One horizontal bar per setting (``scores``: setting -> metric), the value written beside it."""
    style()
    names, vals = list(scores), [float(v) for v in scores.values()]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.55 * len(names) + 1.3))
    y = np.arange(len(names))
    ax.barh(y, vals, color=[COLORS[0]] + [COLORS[1]] * (len(names) - 1))
    ax.set_yticks(y, names, fontsize=9)
    ax.invert_yaxis()
    for yi, v in zip(y, vals):
        ax.annotate(f"{v:.4f}", (v, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_xlim(0, max(vals) * 1.18)
    ax.set_xlabel(metric)
    fig.tight_layout()
    return fig
