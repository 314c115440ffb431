"""Table 2 and Figures 2, 4, 5, 6 drawn from the results store (``results/<preset>/<experiment>/``).

Every function reads the stored run JSONs written by ``python -m s3rec_lite experiment ...`` (whatever is
stored: no function assumes which runs exist). The ``*_seeds`` frames hold one row per stored run; the
``*_frame`` frames aggregate them over seeds (``std`` is NaN for a single seed: it has no spread);
``summary_table`` writes "mean ± sd" for a reader (``tables.mean_std``). The figures are drawn with seaborn
from the per-seed rows: bars with error bars and lines with bands of one standard deviation over seeds (none
for a single seed), the paper's number marked where the paper gives one, the legend below the panels (never
over the data), at most about 7 inches wide, and the preset and device of the runs in the title.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import reference
from ...reference import dataset_rank, in_paper_order
from ...errors import S3RecError

__all__ = [
    "results_label", "reference_model", "provenance_frame", "table2_frame", "table2_display", "plot_table2", "ablation_frame",
    "plot_ablation", "sparsity_frame", "plot_sparsity", "pretrain_epochs_frame", "plot_pretrain_epochs",
    "convergence_frame", "plot_convergence", "CONVERGENCE_MODELS", "ablation_seeds", "sparsity_seeds",
    "pretrain_epochs_seeds", "convergence_seeds", "summary_table", "provenance_table", "plot_loss_shares",
    "plot_seed_comparison", "MAX_WIDTH", "bf16_pairs", "bf16_comparison", "bf16_loss_gap",
]

SAMPLED = reference.METRICS
FULL = ("HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20", "NDCG@20")


def _root(results_root):
    from ...experiments import DEFAULT_RESULTS

    return Path(results_root) if results_root is not None else DEFAULT_RESULTS


def _load(experiment: str, preset: str, results_root) -> list[dict]:
    from ...experiments import load_results

    runs = load_results(experiment, preset, _root(results_root))
    if not runs:
        raise S3RecError(
            f"no stored results for {experiment!r} ({preset} preset) under {_root(results_root) / preset}: run "
            f"`python -m s3rec_lite experiment {experiment} --preset {preset}` first"
        )
    return runs


def _style():
    from .style import style

    style()


def _color(name):
    from .style import color

    return color(name)


def results_label(runs: list[dict], preset: str) -> str:
    """"tiny preset, CPU" / "paper preset, NVIDIA H100 ..." from the runs' provenance."""
    devices = sorted({r.get("provenance", {}).get("device", "?") for r in runs})
    kinds = sorted({"CPU" if d.startswith("CPU") else d for d in devices})
    return f"{preset} preset, {' + '.join(kinds)}"


def provenance_frame(experiment: str, preset: str = "tiny", results_root=None) -> pd.DataFrame:
    """Where the stored numbers come from: one row per run (key, command, commit, device, torch, date, wall s)."""
    rows = []
    for r in _load(experiment, preset, results_root):
        p = r.get("provenance", {})
        rows.append({"run": r["key"], "command": p.get("command"), "commit": (p.get("commit") or "")[:12] +
                     ("+dirty" if str(p.get("commit", "")).endswith("+dirty") else ""),
                     "device": p.get("device"), "torch": p.get("torch"), "date": p.get("date"),
                     "wall s": r.get("wall_seconds")})
    return pd.DataFrame(rows)


def reference_model(model: str) -> str:
    """The published model a row of ours reproduces: S3-Rec-released (the authors' pre-training + our
    fine-tuning) is compared with the published S3-Rec."""
    return "S3-Rec" if model == "S3-Rec-released" else model


def _mean_std(values) -> tuple[float, float, int]:
    """Mean, sample standard deviation (NaN for one value: no spread) and count."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if len(v) == 0:
        return np.nan, np.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else np.nan, len(v)


def _paper_order(column: pd.Series) -> pd.Series:
    """``sort_values`` key: the ``dataset`` column in the book's order (the paper's datasets first, LastFM last),
    any other column as it is."""
    return column.map(dataset_rank) if column.name == "dataset" else column


def _aggregate(seeds: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """Per-seed rows -> one row per ``by`` group: mean, std (NaN for one seed), seeds."""
    g = seeds.groupby(by, sort=False)[metric]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "seeds": g.count()}).reset_index()


def summary_table(seeds: pd.DataFrame, by, metric: str = "NDCG@10", decimals: int = 4) -> pd.DataFrame:
    """For a reader: one row per ``by`` group, ``metric`` as "mean ± sd" over its seeds (a single seed: the
    value alone) and the number of seeds. ``seeds`` is a ``*_seeds`` frame."""
    from ..tables import mean_std

    by = [by] if isinstance(by, str) else list(by)
    rows = [{**dict(zip(by, key if isinstance(key, tuple) else (key,))),
             f"{metric} (mean ± sd)": mean_std(g[metric], decimals, seeds=False), "seeds": len(g)}
            for key, g in seeds.groupby(by, sort=False)]
    return pd.DataFrame(rows)


def provenance_table(experiments, preset: str, results_root=None) -> pd.DataFrame:
    """:func:`provenance_frame` of several experiments, one after the other; an experiment with nothing
    stored is skipped (empty frame if none is stored)."""
    frames = []
    for exp in [experiments] if isinstance(experiments, str) else experiments:
        try:
            frames.append(provenance_frame(exp, preset, results_root))
        except S3RecError:
            continue
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


#: The widest figure the book's content column shows without shrinking its text (inches at 100 dpi).
MAX_WIDTH = 7.0


def _panels(n: int, width: float, height: float = 3.2, sharey: bool = False):
    """A grid of ``n`` panels of about ``width`` x ``height`` inches, wrapped to rows so that the figure is
    at most :data:`MAX_WIDTH` wide."""
    cols = max(1, min(n, int(MAX_WIDTH // width)))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(min(MAX_WIDTH, width * cols), height * rows), squeeze=False,
                             sharey=sharey)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def _legend_below(fig, axes, ncol: int = 3, title: str | None = None) -> None:
    """One legend for the whole figure, below the panels (it never covers data); duplicate labels merged;
    ``title`` becomes the figure's suptitle (set before the layout, so that it never overlaps a panel)."""
    if title:
        fig.suptitle(title, fontsize=11)
    handles = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.tight_layout()
    if handles:
        column = 0.7 + 0.075 * max(len(label) for label in handles)  # inches a column needs (9-pt text)
        fits = max(1, int(fig.get_figwidth() // column))  # columns that fit the figure's width
        fig.legend(handles.values(), handles.keys(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(ncol, len(handles), fits), frameon=False)


# ------------------------------------------------------------------------------------------------
# Table 2
# ------------------------------------------------------------------------------------------------
def table2_frame(preset: str = "tiny", results_root=None, experiment: str = "table2") -> pd.DataFrame:
    """Long table, one row per (dataset, model, metric): ours (mean, std (NaN for one seed), seeds; sampled
    metrics and full ranking ``full_*``), the paper's Table 2 and the authors' repository's numbers (NaN
    where none)."""
    runs = [r for r in _load(experiment, preset, results_root) if r.get("test")]
    groups: dict = {}
    for r in runs:
        groups.setdefault((r["dataset"], r["model"]), []).append(r)
    rows = []
    for (d, m), rs in sorted(groups.items()):
        for metric in SAMPLED:
            mean, std, n = _mean_std(r["test"].get(metric) for r in rs)
            ref = reference_model(m)
            rows.append({"dataset": d, "model": m, "metric": metric, "ours": mean, "ours_std": std, "seeds": n,
                         "paper": reference.paper_value(d, ref, metric), "authors_repo": reference.authors_value(d, ref, metric)})
        for metric in FULL:
            mean, std, n = _mean_std((r.get("test_full_ranking") or {}).get(metric) for r in rs)
            rows.append({"dataset": d, "model": m, "metric": f"full_{metric}", "ours": mean, "ours_std": std,
                         "seeds": n, "paper": None, "authors_repo": None})
    return pd.DataFrame(rows).astype({"paper": float, "authors_repo": float})


def table2_display(preset: str = "tiny", results_root=None, metrics=SAMPLED) -> pd.DataFrame:
    """Table 2 side by side: rows (dataset, model, source in ours / paper / authors' repo), columns metrics."""
    long = table2_frame(preset, results_root)
    long = long[long.metric.isin(metrics)]
    parts = []
    for source, col in (("ours", "ours"), ("paper", "paper"), ("authors' repo", "authors_repo")):
        wide = long.pivot_table(index=["dataset", "model"], columns="metric", values=col, dropna=False)
        wide["source"] = source
        parts.append(wide.reset_index())
    out = pd.concat(parts)
    out["source"] = pd.Categorical(out.source, ["ours", "paper", "authors' repo"], ordered=True)
    models = [m for m in reference.PAPER_MODELS if m in set(out.model)] + sorted(set(out.model) - set(reference.PAPER_MODELS))
    out["model"] = pd.Categorical(out.model, models, ordered=True)  # the paper's column order
    out = out.set_index(["dataset", "model", "source"]).sort_index()
    out = out[[m for m in metrics if m in out.columns]].dropna(how="all")  # no row for what a source lacks
    out.columns.name = None
    return out.round(4)


SOURCES = {"ours": "#4A4A4A", "paper (Table 2)": "#FFFFFF", "authors' repo": "#BDBDBD"}


def plot_table2(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", models=("SASRec", "S3-Rec")):
    """Bars per model: ours (mean over seeds, error bar one standard deviation; none for one seed), the
    paper's Table 2 (white, hatched) and the authors' repository's re-run (grey), one panel per dataset."""
    import seaborn as sns

    _style()
    runs = [r for r in _load("table2", preset, results_root) if r.get("test") and r["model"] in models]
    if not runs:
        raise S3RecError(f"no stored table2 run of {', '.join(models)} ({preset} preset)")
    rows = [{"dataset": r["dataset"], "model": r["model"], "source": "ours", metric: r["test"][metric]} for r in runs]
    for d, m in sorted({(r["dataset"], r["model"]) for r in runs}):
        for source, fn in (("paper (Table 2)", reference.paper_value), ("authors' repo", reference.authors_value)):
            value = fn(d, reference_model(m), metric)
            if value is not None:
                rows.append({"dataset": d, "model": m, "source": source, metric: value})
    df = pd.DataFrame(rows)
    datasets = list(dict.fromkeys(r["dataset"] for r in runs))
    order = [m for m in models if m in set(df.model)]
    fig, axes = _panels(len(datasets), max(3.4, 1.6 * len(order)), sharey=True)
    for ax, d in zip(axes, datasets):
        sub = df[df.dataset == d]
        sns.barplot(sub, x="model", y=metric, hue="source", order=[m for m in order if m in set(sub.model)],
                    hue_order=list(SOURCES), palette=SOURCES, errorbar="sd", capsize=0.15,
                    err_kws={"linewidth": 1.2}, edgecolor="black", linewidth=0.6, ax=ax)
        present = [source for source in SOURCES if source in set(sub.source)]
        for container, source in zip(ax.containers, present):  # one per source, in hue order: hatch the paper's
            for bar in container:
                bar.set_hatch("//" if source == "paper (Table 2)" else "")
        ax.set_title(reference.short(d))
        ax.set_xlabel("model")
        ax.set_ylabel(f"test {metric} (99 sampled negatives)")
    _legend_below(fig, axes, title=f"Test {metric} of every model, ours beside the published numbers ({results_label(runs, preset)})")
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 2: ablation
# ------------------------------------------------------------------------------------------------
ABLATION_ORDER = ("full", "no-aap", "no-mip", "no-map", "no-sp")


def _variant_label(v: str) -> str:
    return "S3-Rec" if v == "full" else f"-{v[3:].upper()}" if v.startswith("no-") else v


def ablation_seeds(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per stored ablation run: dataset, variant ("full", "no-aap", ..., "FDSA" for the reference
    runs), pretrain (the seed of the pre-training it fine-tuned from), seed, test ``metric``; the paper's order
    of variants, then any other stored variant."""
    from ..verdicts import pretrain_seed, variant_of

    df = pd.DataFrame([{"dataset": r["dataset"], "variant": variant_of(r), "pretrain": pretrain_seed(r), "seed": r["seed"],
                        metric: r["test"][metric]} for r in _load("ablation", preset, results_root) if r.get("test")])
    if df.empty:
        raise S3RecError(f"no finished ablation run stored ({preset} preset)")
    order = {v: i for i, v in enumerate(ABLATION_ORDER)}
    df["order"] = df.variant.map(order).fillna(len(order))
    return df.sort_values(["dataset", "order", "variant", "pretrain", "seed"], key=_paper_order).drop(columns="order") \
        .reset_index(drop=True)


def ablation_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """Mean, std (NaN for one seed) and seeds of the test ``metric`` per (dataset, variant)."""
    return _aggregate(ablation_seeds(preset, results_root, metric), ["dataset", "variant"], metric)


def plot_ablation(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """Fig. 2: test metric of S3-Rec with all objectives and with each removed (bars: mean over seeds,
    error bars one standard deviation); the paper's full S3-Rec (Table 2) as a black star, its FDSA as a
    dashed line (the paper's comparison in Fig. 2). The legend sits below the panels."""
    import seaborn as sns

    _style()
    runs = _load("ablation", preset, results_root)
    df = ablation_seeds(preset, results_root, metric)
    ours_fdsa = df[df.variant == "FDSA"]
    df = df[df.variant != "FDSA"].copy()
    df["objectives"] = df.variant.map(_variant_label)
    datasets = in_paper_order(df.dataset)  # the paper's datasets first
    fig, axes = _panels(len(datasets), 3.5)
    for ax, d in zip(axes, datasets):
        sub = df[df.dataset == d]
        order = list(dict.fromkeys(sub.objectives))
        palette = {o: _color("S3-Rec") if o == "S3-Rec" else "#E6B0AA" for o in order}
        sns.barplot(sub, x="objectives", y=metric, hue="objectives", order=order, palette=palette, legend=False,
                    errorbar="sd", capsize=0.2, err_kws={"linewidth": 1.2}, ax=ax)
        ax.plot([], [], color=_color("S3-Rec"), linewidth=8, label="ours (mean ± sd over seeds)")
        paper = reference.paper_value(d, "S3-Rec", metric)
        if paper is not None and "S3-Rec" in order:
            ax.plot([order.index("S3-Rec")], [paper], marker="*", color="black", markersize=13, linestyle="none",
                    label="paper, S3-Rec (Table 2)")
        fdsa = reference.paper_value(d, "FDSA", metric)
        if fdsa is not None:
            ax.axhline(fdsa, color=_color("FDSA"), linestyle="--", linewidth=1.2, label="paper, FDSA (Table 2)")
        mine = ours_fdsa[ours_fdsa.dataset == d][metric]
        if len(mine):
            ax.axhline(mine.mean(), color=_color("FDSA"), linestyle=":", linewidth=1.6,
                       label=f"ours, FDSA (mean of {len(mine)} seed{'s' * (len(mine) > 1)})")
        ax.set_title(reference.short(d))
        ax.set_xlabel("objective removed")
        ax.set_ylabel(f"test {metric}")
    _legend_below(fig, axes, title=f"Ablation: S3-Rec with each objective removed ({results_label(runs, preset)})")
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 4: sparsity
# ------------------------------------------------------------------------------------------------
def sparsity_seeds(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per stored sparsity run: dataset, model, fraction of training data kept, seed, test ``metric``."""
    df = pd.DataFrame([{"dataset": r["dataset"], "model": r["model"], "fraction": r["config"]["train_fraction"],
                        "seed": r["seed"], metric: r["test"][metric]}
                       for r in _load("sparsity", preset, results_root) if r.get("test")])
    if df.empty:
        raise S3RecError(f"no finished sparsity run stored ({preset} preset)")
    return df.sort_values(["dataset", "model", "fraction", "seed"], key=_paper_order).reset_index(drop=True)


def sparsity_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """Mean, std (NaN for one seed) and seeds of the test ``metric`` per (dataset, model, fraction)."""
    return _aggregate(sparsity_seeds(preset, results_root, metric), ["dataset", "model", "fraction"], metric)


def plot_sparsity(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """Fig. 4: test metric against the share of training data kept (lines: mean over seeds, band one standard
    deviation); the paper's 100% value (Table 2) of each model as a star."""
    import seaborn as sns

    _style()
    runs = _load("sparsity", preset, results_root)
    df = sparsity_seeds(preset, results_root, metric)
    df["kept (%)"] = df.fraction * 100
    datasets = in_paper_order(df.dataset)
    models = list(dict.fromkeys(df.model))
    fig, axes = _panels(len(datasets), 3.5)
    for ax, d in zip(axes, datasets):
        sub = df[df.dataset == d]
        sns.lineplot(sub, x="kept (%)", y=metric, hue="model", hue_order=models, palette={m: _color(m) for m in models},
                     errorbar="sd", marker="o", ax=ax)
        for m in models:
            paper = reference.paper_value(d, m, metric)
            if paper is not None:
                ax.plot([100], [paper], marker="*", markersize=13, color=_color(m), markeredgecolor="black",
                        linestyle="none", label=f"{m}, paper (100%)")
        ax.set_title(reference.short(d))
        ax.set_xlabel("training data kept (%)")
        ax.set_ylabel(f"test {metric}")
        ax.set_xticks([20, 40, 60, 80, 100])
    _legend_below(fig, axes, ncol=2, title=f"Less training data ({results_label(runs, preset)})")
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 5: pre-training epochs
# ------------------------------------------------------------------------------------------------
def pretrain_epochs_seeds(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per stored fine-tuning run of ``pretrain_epochs``: dataset, pre-training epochs of the
    checkpoint it started from (0 = none), seed, test ``metric``."""
    df = pd.DataFrame([{"dataset": r["dataset"], "pretrain_epochs": r["from_pretrain"]["epoch"], "seed": r["seed"],
                        metric: r["test"][metric]}
                       for r in _load("pretrain_epochs", preset, results_root) if r.get("test") and r.get("from_pretrain")])
    if df.empty:
        raise S3RecError(f"no finished fine-tuning run of pretrain_epochs stored ({preset} preset)")
    return df.sort_values(["dataset", "pretrain_epochs", "seed"], key=_paper_order).reset_index(drop=True)


def pretrain_epochs_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """Mean, std (NaN for one seed) and seeds of the test ``metric`` per (dataset, pre-training epochs)."""
    return _aggregate(pretrain_epochs_seeds(preset, results_root, metric), ["dataset", "pretrain_epochs"], metric)


def plot_pretrain_epochs(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """Fig. 5: test metric after fine-tuning from the checkpoint of each pre-training epoch (0 = none; line:
    mean over seeds, band one standard deviation); the paper's S3-Rec (Table 2, 100 epochs) dashed and its
    SASRec dotted."""
    import seaborn as sns

    _style()
    runs = _load("pretrain_epochs", preset, results_root)
    df = pretrain_epochs_seeds(preset, results_root, metric)
    datasets = in_paper_order(df.dataset)
    fig, axes = _panels(len(datasets), 3.5 if len(datasets) > 1 else 5.0)
    for ax, d in zip(axes, datasets):
        sns.lineplot(df[df.dataset == d], x="pretrain_epochs", y=metric, errorbar="sd", marker="o",
                     color=_color("S3-Rec"), label="ours, S3-Rec (mean ± sd over seeds)", ax=ax)
        for m, style in (("S3-Rec", "--"), ("SASRec", ":")):
            paper = reference.paper_value(d, m, metric)
            if paper is not None:
                ax.axhline(paper, color=_color(m), linestyle=style, linewidth=1.2, label=f"paper, {m} (Table 2)")
        ax.set_title(reference.short(d))
        ax.set_xlabel("pre-training epochs before fine-tuning")
        ax.set_ylabel(f"test {metric}")
    _legend_below(fig, axes, ncol=2, title=f"How long to pre-train ({results_label(runs, preset)})")
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 6: convergence
# ------------------------------------------------------------------------------------------------
def convergence_seeds(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", datasets=None) -> pd.DataFrame:
    """Validation ``metric`` per fine-tuning epoch of every stored table2 run: dataset, model, epoch, seed."""
    rows = []
    for r in _load("table2", preset, results_root):
        if datasets and r["dataset"] not in datasets:
            continue
        for h in r.get("history", []):
            rows.append({"dataset": r["dataset"], "model": r["model"], "epoch": h["epoch"], "seed": r["seed"],
                         metric: h[f"valid_{metric}"]})
    if not rows:
        raise S3RecError(f"no fine-tuning histories stored for {datasets or 'any dataset'} ({preset} preset)")
    return pd.DataFrame(rows)


def convergence_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", datasets=None) -> pd.DataFrame:
    """Validation ``metric`` per fine-tuning epoch, from the stored table2 histories (mean, std (NaN for one
    seed) and the number of seeds still running at that epoch)."""
    seeds = convergence_seeds(preset, results_root, metric, datasets)
    return _aggregate(seeds, ["dataset", "model", "epoch"], metric).sort_values(["dataset", "model", "epoch"],
                                                                                 ignore_index=True, key=_paper_order)


CONVERGENCE_MODELS = ("S3-Rec", "S3-Rec-released", "SASRec", "FDSA", "GRU4Rec")


def plot_convergence(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", datasets=None,
                     models=CONVERGENCE_MODELS):
    """Fig. 6: validation metric per fine-tuning epoch for ``models`` (those stored; line: mean over the
    seeds still running, band: one standard deviation); on Beauty the authors' logged NDCG@10 of their first
    epochs as crosses."""
    import seaborn as sns

    _style()
    runs = _load("table2", preset, results_root)
    df = convergence_seeds(preset, results_root, metric, datasets)
    df = df[df.model.isin(models)]
    names = in_paper_order(df.dataset)
    fig, axes = _panels(len(names), 3.5 if len(names) > 1 else 6.0)
    for ax, d in zip(axes, names):
        sub = df[df.dataset == d]
        present = [m for m in models if m in set(sub.model)]
        sns.lineplot(sub.assign(model=sub.model.map(lambda m: f"ours, {m}")), x="epoch", y=metric, hue="model",
                     hue_order=[f"ours, {m}" for m in present], palette={f"ours, {m}": _color(m) for m in present},
                     errorbar="sd", ax=ax)
        for m in present:
            log = reference.AUTHORS_LOG_BEAUTY.get(m) if d == "Beauty" and metric == "NDCG@10" else None
            if log:
                first = "first epoch" if len(log) == 1 else f"first {len(log)} epochs"
                ax.plot(list(log), list(log.values()), "x", color=_color(m), markersize=8, zorder=5,
                        label=f"authors' log, {m} ({first}, Beauty)")
        ax.set_title(reference.short(d))
        ax.set_xlabel("fine-tuning epoch")
        ax.set_ylabel(f"validation {metric}")
    _legend_below(fig, axes, title=f"Convergence of fine-tuning ({results_label(runs, preset)})")
    return fig


# ------------------------------------------------------------------------------------------------
# Chapter 21: live tiny measurements (not the store)
# ------------------------------------------------------------------------------------------------
def plot_loss_shares(shares: pd.DataFrame, title: str = "Share of each objective in the weighted pre-training loss"):
    """Horizontal stacked bars, one per row of ``shares`` (index: a setting, columns: objectives, each row
    summing to 1): each objective's share of the weighted total. Shares are written on segments >= 8%."""
    from .style import COLORS

    _style()
    fig, ax = plt.subplots(figsize=(6.4, 0.6 * len(shares) + 1.6))
    left = np.zeros(len(shares))
    for i, k in enumerate(shares.columns):
        v = shares[k].to_numpy(dtype=float)
        bars = ax.barh(list(shares.index), v, left=left, color=COLORS[i % len(COLORS)], label=k.upper(),
                       edgecolor="white", height=0.6)
        for b, x in zip(bars, v):
            if x >= 0.08:
                ax.text(b.get_x() + b.get_width() / 2, b.get_y() + b.get_height() / 2, f"{x:.0%}", ha="center",
                        va="center", fontsize=9, color="white")
        left += v
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_xlabel("share of the weighted total loss")
    ax.set_title(title)
    _legend_below(fig, [ax], ncol=4)
    return fig


def plot_seed_comparison(rows, metric: str = "test_NDCG@10", key: str = "setting", title: str = ""):
    """One column per value of ``key``: every seed as a dot (jittered, so equal values stay visible) and, to
    its right, the mean with one standard deviation over seeds (black; the two never cover each other)."""
    import seaborn as sns

    _style()
    df = pd.DataFrame(rows)
    names = list(dict.fromkeys(df[key]))
    fig, ax = plt.subplots(figsize=(min(MAX_WIDTH, 1.6 * len(names) + 2.2), 3.4))
    from .style import COLORS

    sns.stripplot(df, x=key, y=metric, hue=key, order=names, palette=COLORS[:len(names)], legend=False,
                  jitter=0.08, size=7, alpha=0.85, ax=ax)
    for collection in ax.collections:  # the dots a little left of each column's centre
        collection.set_offsets(collection.get_offsets() - np.array([0.12, 0.0]))
    g = df.groupby(key, sort=False)[metric]
    mean, std = g.mean().reindex(names), g.std(ddof=1).reindex(names)
    ax.errorbar(np.arange(len(names)) + 0.18, mean, yerr=std, fmt="_", color="black", markersize=14, capsize=4,
                linewidth=1.2, label="mean ± sd over seeds")
    ax.plot([], [], "o", color="gray", label="one seed")
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_xlabel(key)
    ax.set_ylabel(metric.replace("_", " "))
    if title:
        ax.set_title(title)
    _legend_below(fig, [ax], ncol=2)
    return fig


# ------------------------------------------------------------------------------------------------
# bf16: the opt-in bfloat16 paths against fp32 (chapter 19)
# ------------------------------------------------------------------------------------------------
def bf16_pairs(preset: str = "official", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per ``bf16`` run with an fp32 counterpart of the same dataset, seed and starting point: our
    pre-training (``bf16_pretraining``) fine-tuned from epoch N against ``pretrain_epochs`` from epoch N; the
    released checkpoint fine-tuned with ``bf16_finetuning`` against ``table2``'s S3-Rec-released (paper preset:
    its fine-tuning settings are the official ones). Columns: dataset, what, epoch (None: the released
    checkpoint), seed, the test ``metric`` of each (fp32, bf16) and the epoch each early-stopped at."""
    fp32 = {(r["dataset"], r["from_pretrain"]["epoch"], r["seed"]): r
            for r in _load("pretrain_epochs", preset, results_root) if r.get("test") and r.get("from_pretrain")}
    fp32.update({(r["dataset"], None, r["seed"]): r for r in _load("table2", "paper", results_root)
                 if r["model"] == "S3-Rec-released" and r.get("test")})
    rows = []
    for r in _load("bf16", preset, results_root):
        if not r.get("test"):
            continue
        epoch = r["from_pretrain"]["epoch"] if r.get("from_pretrain") else None
        ref = fp32.get((r["dataset"], epoch, r["seed"]))
        if ref is not None:
            rows.append({"dataset": r["dataset"], "what": "ours, bf16_pretraining" if epoch is not None
                         else "released, bf16_finetuning", "epoch": epoch, "seed": r["seed"],
                         "fp32": ref["test"][metric], "bf16": r["test"][metric],
                         "fp32_best_epoch": ref.get("best_epoch"), "bf16_best_epoch": r.get("best_epoch")})
    if not rows:
        raise S3RecError(f"no bf16 run stored with an fp32 counterpart ({preset} preset)")
    return pd.DataFrame(rows)


def bf16_comparison(preset: str = "official", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """:func:`bf16_pairs` per (dataset, what, epoch): the seeds, the fp32 and bf16 means over them, the relative
    difference of the means, and its standard error (``s.e.``) from the spread of the paired differences (NaN
    for one seed). ``pre-trained``: epochs of pre-training before fine-tuning."""
    pairs = bf16_pairs(preset, results_root, metric)
    pairs["ratio"] = pairs.bf16 / pairs.fp32 - 1
    rows = []
    for (d, what, e), g in pairs.groupby(["dataset", "what", pairs.epoch.fillna(-1)], sort=False):
        rows.append({"dataset": d, "what": what, "pre-trained": "150 (theirs)" if e < 0 else int(e),
                     "seeds": len(g), "fp32": g.fp32.mean(), "bf16": g.bf16.mean(),
                     "difference": g.bf16.mean() / g.fp32.mean() - 1,
                     "s.e.": g.ratio.std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else float("nan")})
    return pd.DataFrame(rows).sort_values(["dataset", "what"], kind="stable").reset_index(drop=True)


def bf16_loss_gap(preset: str = "official", results_root=None) -> pd.DataFrame:
    """Per pre-training epoch, the loss of the ``bf16`` pre-training and of ``pretrain_epochs``'s fp32 one with
    the same dataset and seed, and their relative difference."""
    fp32 = {(r["dataset"], r["seed"]): r for r in _load("pretrain_epochs", preset, results_root) if r["stage"] == "pretrain"}
    rows = []
    for r in _load("bf16", preset, results_root):
        ref = fp32.get((r["dataset"], r["seed"])) if r["stage"] == "pretrain" else None
        if ref is None:
            continue
        for a, b in zip(ref["pretrain_history"], r["pretrain_history"]):
            rows.append({"dataset": r["dataset"], "seed": r["seed"], "epoch": a["epoch"] + 1, "fp32": a["loss"],
                         "bf16": b["loss"], "difference": b["loss"] / a["loss"] - 1})
    if not rows:
        raise S3RecError(f"no bf16 pre-training stored beside an fp32 one ({preset} preset)")
    return pd.DataFrame(rows)
