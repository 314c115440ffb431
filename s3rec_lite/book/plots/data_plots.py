"""Figures about data, evaluation, mutual information and the book itself (chapters 1, 2, 7 and 13).

Every function returns a matplotlib ``Figure`` with labelled axes; the numbers come from the caller (a
dataset, a results dict, a sweep from :mod:`s3rec_lite.infonce_demo`), never from inside the plot.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "dataset_stats_table", "plot_length_distributions", "plot_leave_one_out", "plot_toy_ranking",
    "plot_item_popularity", "plot_infonce_sweep", "plot_infonce_negatives", "plot_book_map",
    "plot_pretrain_history", "plot_finetune_history", "plot_tiny_experiment", "toy_ranking_metrics",
]


def _fig(*args, **kwargs):
    import matplotlib.pyplot as plt

    from .style import style

    style()
    return plt.subplots(*args, **kwargs)


# ------------------------------------------------------------------------------------------------
# Chapter 2: datasets and evaluation
# ------------------------------------------------------------------------------------------------
def dataset_stats_table(datasets):
    """A pandas DataFrame of ``SequenceDataset.stats()`` rows (one per dataset, its name in the first column)
    plus two columns: ``distinct attrs/item``, the mean number of *distinct* attributes per item (the positives
    of an item's multi-hot attribute row; ``attrs/item`` counts the entries of the attribute file, where LastFM
    repeats some tags of an artist), and the pre-training prefixes; the density as a percentage string."""
    import pandas as pd

    rows = []
    for ds in datasets:
        row = {}
        for key, value in ds.stats().items():
            row[key] = value
            if key == "attrs/item":
                row["distinct attrs/item"] = round(float(np.mean(
                    [len(set(ds.item_attributes.get(i, ()))) for i in range(1, ds.n_items + 1)])), 1)
        row["pre-training prefixes"] = int(sum(len(p) for p in ds.pretrain_parts(50)))
        rows.append(row)
    df = pd.DataFrame(rows)
    df["density"] = df["density"].map(lambda v: f"{100 * v:.3f}%")
    return df


def plot_length_distributions(datasets, max_len: int = 50):
    """Histogram (log-spaced bins) of each dataset's sequence lengths, with the model's window ``max_len``."""
    fig, ax = _fig(figsize=(7.0, 3.8))
    from .style import COLORS

    longest = max(max(len(s) for s in ds.sequences) for ds in datasets)
    bins = np.unique(np.logspace(np.log10(5), np.log10(longest + 1), 40).astype(int))
    for i, ds in enumerate(datasets):
        lengths = np.array([len(s) for s in ds.sequences])
        ax.hist(lengths, bins=bins, histtype="step", lw=1.6, density=True, color=COLORS[i % len(COLORS)],
                label=f"{ds.name} (median {int(np.median(lengths))})")
    ax.axvline(max_len, color="k", ls="--", lw=1)
    ax.text(max_len * 1.05, ax.get_ylim()[1] * 0.9, f"max_len = {max_len}", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("interactions per user (log scale)")
    ax.set_ylabel("share of users (density, log scale)")
    ax.set_title("Sequence lengths of the five datasets")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    return fig


def plot_leave_one_out(sequence, max_len: int = 50, user: str = "user"):
    """One user's sequence as a strip: training part, validation item, test item; each input window."""
    seq = np.asarray(sequence)
    n = len(seq)
    fig, ax = _fig(figsize=(7.0, 2.8))
    from .style import COLORS

    import matplotlib.patches as mpatches

    colors = [COLORS[1]] * (n - 2) + [COLORS[3], COLORS[0]]
    ax.bar(np.arange(n), np.ones(n), width=0.9, color=colors)
    for label, stop, y in (("test input", n - 1, 1.25), ("validation input", n - 2, 1.55), ("training input", n - 3, 1.85)):
        start = max(0, stop - max_len)
        ax.annotate("", xy=(stop - 0.5, y), xytext=(start - 0.5, y), arrowprops=dict(arrowstyle="<->", lw=1, color="k"))
        ax.text(start, y + 0.07, f"{label}: positions {start}..{stop - 1}", fontsize=9)
    ax.legend(handles=[mpatches.Patch(color=c, label=t) for c, t in
                       ((COLORS[1], "training items"), (COLORS[3], "validation target"), (COLORS[0], "test target"))],
              loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
    ax.set_ylim(0, 2.15)
    ax.set_yticks([])
    ax.set_xlabel(f"position in {user}'s sequence (time order)")
    ax.set_title(f"Leave-one-out split of {user} ({n} interactions)")
    ax.grid(False)
    return fig


def toy_ranking_metrics(scores, true_index: int = 0) -> dict:
    """The rank of the true candidate (0 = top, ties counted against it) and HR@k/NDCG@k/MRR by formula."""
    from ...metrics import metrics_from_ranks

    scores = np.asarray(scores, dtype=float)
    rank = int((np.delete(scores, true_index) >= scores[true_index]).sum())
    return {"rank": rank, **metrics_from_ranks([rank], ("MRR", "HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10"))}


def plot_toy_ranking(scores, true_index: int = 0, top: int = 15):
    """Candidates sorted by score; the true item highlighted, with the metrics it earns."""
    scores = np.asarray(scores, dtype=float)
    m = toy_ranking_metrics(scores, true_index)
    order = np.argsort(-scores, kind="stable")[:top]
    fig, ax = _fig(figsize=(7.0, 3.6))
    from .style import color

    cols = [color("S3-Rec") if i == true_index else color("PopRec") for i in order]
    ax.bar(np.arange(len(order)), scores[order], color=cols)
    ax.axvline(4.5, color="k", ls=":", lw=1)
    ax.axvline(9.5, color="k", ls=":", lw=1)
    ax.text(4.4, ax.get_ylim()[1] * 0.95, "top 5", fontsize=9, ha="right")
    ax.text(9.4, ax.get_ylim()[1] * 0.95, "top 10", fontsize=9, ha="right")
    ax.set_xticks(np.arange(len(order)), [("true" if i == true_index else f"n{i}") for i in order], rotation=60, fontsize=9)
    ax.set_xlabel("candidates, sorted by the model's score (highest first)")
    ax.set_ylabel("score")
    ax.set_title(f"True item at rank {m['rank'] + 1}: HR@5 = {m['HR@5']:.0f}, NDCG@5 = {m['NDCG@5']:.3f}, "
                 f"HR@10 = {m['HR@10']:.0f}, MRR = {m['MRR']:.3f}", fontsize=10)
    return fig


def plot_item_popularity(counts, name: str = ""):
    """Items ranked by training interactions (log-log): the long tail PopRec relies on."""
    counts = np.sort(np.asarray(counts))[::-1]
    counts = counts[counts > 0]
    fig, ax = _fig()
    ax.loglog(np.arange(1, len(counts) + 1), counts, color="#2E86C1")
    top = counts[: max(1, len(counts) // 10)].sum() / counts.sum()
    ax.set_xlabel("item rank by popularity (log scale)")
    ax.set_ylabel("training interactions (log scale)")
    ax.set_title(f"{name} item popularity: the top 10% of items get {100 * top:.0f}% of the interactions")
    return fig


# ------------------------------------------------------------------------------------------------
# Chapter 7: InfoNCE on correlated Gaussians
# ------------------------------------------------------------------------------------------------
def plot_infonce_sweep(sweep: dict, ylim: tuple[float, float] | None = None, title: str | None = None):
    """InfoNCE estimates vs correlation for several numbers of negatives, the true MI and each log N ceiling
    (dashed, the colour of its curve). The legend sits below the axes, where no line crosses it; ``ylim``
    fixes the y range (figures meant to be compared, e.g. one per K, share it)."""
    from matplotlib.lines import Line2D

    from .style import COLORS

    fig, ax = _fig(figsize=(7.0, 4.6))
    ax.plot(sweep["rho"], sweep["true_mi"], color="k", lw=2, label="true MI  $-\\frac{d}{2}\\log(1-\\rho^2)$")
    for i, K in enumerate(sweep["negatives"]):
        c = COLORS[i % len(COLORS)]
        ax.plot(sweep["rho"], sweep["estimate"][i], "o-", color=c, ms=4, label=f"InfoNCE, K = {K} negatives")
        ax.axhline(sweep["ceiling"][i], color=c, ls="--", lw=0.9)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="#7F8C8D", ls="--", lw=0.9))
    labels.append("ceiling log(K + 1), colour of its K")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("correlation $\\rho$ of each coordinate pair")
    ax.set_ylabel("mutual information (nats)")
    ax.set_title(title or f"InfoNCE ({sweep['critic']} critic, d = {sweep['dim']}) is capped at log(K + 1)")
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return fig


def plot_infonce_negatives(sweep: dict, ax=None):
    """The estimate for one correlation as the number of negatives grows (log x axis): the mean over seeds
    with a band of one standard deviation (seaborn, from ``sweep["estimates"]`` [seeds, K]), the ceiling
    and the true value."""
    import pandas as pd
    import seaborn as sns

    if ax is None:
        fig, ax = _fig()
    else:
        fig = ax.figure
    K = sweep["negatives"]
    est = np.asarray(sweep["estimates"])  # [seeds, K]
    long = pd.DataFrame({"K": np.tile(K, est.shape[0]), "estimate": est.ravel()})
    sns.lineplot(data=long, x="K", y="estimate", errorbar="sd", marker="o", color="#C0392B", ax=ax,
                 label=f"InfoNCE estimate (mean ± sd, {est.shape[0]} seeds)")
    ax.set_xscale("log")
    ax.plot(K, sweep["ceiling"], "--", color="#7F8C8D", label="ceiling log(K + 1)")
    ax.axhline(sweep["true_mi"], color="k", lw=1.5, label=f"true MI = {sweep['true_mi']:.2f} nats")
    ax.set_xlabel("number of negatives K (log scale)")
    ax.set_ylabel("mutual information (nats)")
    ax.set_title(f"More negatives tighten the bound ($\\rho$ = {sweep['rho']}, d = {sweep['dim']})")
    ax.legend(loc="upper left")
    return fig


# ------------------------------------------------------------------------------------------------
# Chapter 1: the map of the book
# ------------------------------------------------------------------------------------------------
BOOK_PARTS = [
    ("Foundations", ["1 Welcome", "2 Data &\nevaluation", "3 Sequential\nrecomm.", "4 Self-\nattention",
                     "5 Base\nmodel", "6 Released\nmodel"]),
    ("Mutual info.\n& objectives", ["7 Mutual\ninformation", "8 AAP", "9 MIP", "10 MAP", "11 SP",
                                     "12 Represen-\ntations"]),
    ("Putting it\ntogether", ["13 Pre-train,\nfine-tune", "14 From\nscratch"]),
    ("Results", ["15 Table 2", "16 Ablation", "17 Other\nmodels", "18 Sparsity", "19 Pre-train\nepochs",
                 "20 Conver-\ngence"]),
    ("Beyond\nthe paper", ["21 Paper\nvs code", "22 After\nS3-Rec", "23 Closing"]),
    ("Course", ["Teacher's\nguide", "A1-A5\nassignments"]),
    ("Appendix", ["Notation", "Glossary"]),
]


def plot_book_map():
    """The chapters as boxes in reading order, grouped by part."""
    import matplotlib.patches as mpatches

    fig, ax = _fig(figsize=(8.0, 5.2))
    from .style import COLORS

    x0, width, gap = 0.0, 1.3, 0.12
    for p, (part, chapters) in enumerate(BOOK_PARTS):
        x = x0 + p * (width + gap)
        c = COLORS[p % len(COLORS)]
        ax.text(x + width / 2, 5.4, part, ha="center", va="bottom", fontsize=9, weight="bold", color=c)
        for j, ch in enumerate(chapters):
            y = 4.9 - j * 1.0
            ax.add_patch(mpatches.FancyBboxPatch((x, y - 0.38), width, 0.76, boxstyle="round,pad=0.03",
                                                 fc=c, ec=c, alpha=0.18))
            ax.text(x + width / 2, y, ch, ha="center", va="center", fontsize=8, linespacing=1.0)
    ax.set_xlim(-0.1, len(BOOK_PARTS) * (width + gap))
    ax.set_ylim(-0.7, 6.1)
    ax.set_xlabel("reading order: left to right, top to bottom")
    ax.set_ylabel("chapters of each part")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title("A map of the book")
    return fig


# ------------------------------------------------------------------------------------------------
# Chapter 13: pre-train, then fine-tune
# ------------------------------------------------------------------------------------------------
def plot_pretrain_history(history, ax=None):
    """Each objective's (unweighted) pre-training loss per epoch, normalised by its first epoch."""
    if ax is None:
        fig, ax = _fig()
    else:
        fig = ax.figure
    from .style import COLORS

    keys = [k for k in ("aap", "mip", "map", "sp") if history and k in history[0]]
    epochs = [r["epoch"] + 1 for r in history]
    for i, k in enumerate(keys):
        v = np.array([r[k] for r in history], dtype=float)
        ax.plot(epochs, v / v[0], "o-", color=COLORS[i], label=k.upper())
    ax.set_xlabel("pre-training epoch")
    ax.set_ylabel("loss / loss after epoch 1")
    ax.set_title("Pre-training losses (each relative to its first epoch)")
    if keys:
        ax.legend()
    return fig


def plot_finetune_history(runs: dict, metric: str = "NDCG@10", ax=None):
    """Validation ``metric`` per fine-tuning epoch for each named run (``{"name": finetune result}``)."""
    if ax is None:
        fig, ax = _fig()
    else:
        fig = ax.figure
    from .style import color

    for name, res in runs.items():
        h = res["history"]
        ax.plot([r["epoch"] + 1 for r in h], [r[f"valid_{metric}"] for r in h], "o-", color=color(name), label=name)
        if res.get("best_epoch", -1) >= 0:
            ax.plot([res["best_epoch"] + 1], [h[res["best_epoch"]][f"valid_{metric}"]], "*", ms=12, color=color(name))
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title(f"Fine-tuning: validation {metric} per epoch (star: best, restored for the test)")
    ax.legend()
    return fig


def plot_tiny_experiment(result: dict):
    """The widget's figure: pre-training losses (left), fine-tuning curves and test metrics (right). Each panel's
    legend sits below its axes, never on the lines."""
    fig, axes = _fig(1, 2, figsize=(7.0, 3.8))  # at most 7 in wide (the book's column)
    if result.get("pretrain_history"):
        plot_pretrain_history(result["pretrain_history"], ax=axes[0])
    else:
        axes[0].text(0.5, 0.5, "no pre-training\n(every weight is 0)", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_xlabel("pre-training epoch")
        axes[0].set_ylabel("loss")
    runs = {"S3-Rec": result["finetune"]}
    if result.get("baseline") is not None:
        runs["SASRec"] = result["baseline"]
    plot_finetune_history(runs, ax=axes[1])
    w = result["weights"]
    t = result["finetune"]["test"]
    line = (f"mask {result['mask_ratio']:.2f}, AAP {w['aap']:.1f} MIP {w['mip']:.1f} MAP {w['map']:.1f} "
            f"SP {w['sp']:.1f}\ntest NDCG@10 {t['NDCG@10']:.3f}")
    if result.get("baseline") is not None:
        line += f" (no pre-training: {result['baseline']['test']['NDCG@10']:.3f})"
    axes[1].set_title("Fine-tuning (validation)", fontsize=10)
    # each panel's legend below its axes, where no line or star can sit under it
    for ax, ncol in ((axes[0], 4), (axes[1], 2)):
        if ax.get_legend() is not None:
            ax.get_legend().remove()
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, fontsize=8, frameon=False,
                      handlelength=1.5, columnspacing=1.0)
    fig.suptitle(line, fontsize=10)
    fig.tight_layout()
    return fig
