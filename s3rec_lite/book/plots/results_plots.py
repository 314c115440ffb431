"""Table 2 and Figures 2, 4, 5, 6 drawn from the results store (``results/<preset>/<experiment>/``).

Every function reads the stored run JSONs written by ``python -m s3rec_lite experiment ...``, averages over
seeds (error bars: one standard deviation across seeds; none with a single seed), marks the paper's number
where the paper gives one, and names in its title the preset and the device the runs used ("tiny preset,
CPU" for the CPU-sized runs the book's fast mode shows).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import reference
from ...errors import S3RecError

__all__ = [
    "results_label", "reference_model", "provenance_frame", "table2_frame", "table2_display", "plot_table2", "ablation_frame",
    "plot_ablation", "sparsity_frame", "plot_sparsity", "pretrain_epochs_frame", "plot_pretrain_epochs",
    "convergence_frame", "plot_convergence", "CONVERGENCE_MODELS",
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
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if len(v) == 0:
        return np.nan, np.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)


# ------------------------------------------------------------------------------------------------
# Table 2
# ------------------------------------------------------------------------------------------------
def table2_frame(preset: str = "tiny", results_root=None, experiment: str = "table2") -> pd.DataFrame:
    """Long table, one row per (dataset, model, metric): ours (mean, std, seeds; sampled metrics and
    full ranking ``full_*``), the paper's Table 2 and the authors' repository's numbers (NaN where none)."""
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


def plot_table2(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", models=("SASRec", "S3-Rec")):
    """Bars: ours (mean, error bar = std over seeds) beside the paper's and the authors' repository's."""
    _style()
    runs = _load("table2", preset, results_root)
    long = table2_frame(preset, results_root)
    long = long[(long.metric == metric) & long.model.isin(models)]
    datasets = list(dict.fromkeys(long.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(max(5.5, 3.2 * len(datasets)), 3.6), squeeze=False, sharey=True)
    for ax, d in zip(axes[0], datasets):
        sub = long[long.dataset == d].set_index("model")
        x = np.arange(len(sub))
        w = 0.27
        ax.bar(x - w, sub.ours, w, yerr=sub.ours_std, color=[_color(m) for m in sub.index], label="ours", capsize=3)
        ax.bar(x, sub.paper.fillna(0), w, color="white", edgecolor="black", hatch="//", label="paper (Table 2)")
        ax.bar(x + w, sub.authors_repo.fillna(0), w, color="lightgray", edgecolor="gray", label="authors' repo")
        ax.set_xticks(x, sub.index)
        ax.set_title(reference.short(d))
        ax.set_xlabel("model")
    axes[0][0].set_ylabel(f"test {metric} (99 sampled negatives)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"Table 2, {metric}: ours vs the paper and the authors' repository ({results_label(runs, preset)})")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 2: ablation
# ------------------------------------------------------------------------------------------------
ABLATION_ORDER = ("full", "no-aap", "no-mip", "no-map", "no-sp")


def ablation_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    rows = [{"dataset": r["dataset"], "variant": r["tag"], "seed": r["seed"], metric: r["test"][metric]}
            for r in _load("ablation", preset, results_root) if r.get("test")]
    df = pd.DataFrame(rows)
    g = df.groupby(["dataset", "variant"])[metric]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "seeds": g.count()}).reset_index()
    out["order"] = out.variant.map({v: i for i, v in enumerate(ABLATION_ORDER)})
    return out.sort_values(["dataset", "order"]).drop(columns="order").reset_index(drop=True)


def plot_ablation(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """Fig. 2: test metric of S3-Rec with all objectives and with each removed; the paper's full S3-Rec
    (Table 2) as a black marker, FDSA's as a dashed line (the paper's comparison in Fig. 2)."""
    _style()
    runs = _load("ablation", preset, results_root)
    df = ablation_frame(preset, results_root, metric)
    datasets = list(dict.fromkeys(df.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.6 * len(datasets), 3.6), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        sub = df[df.dataset == d]
        x = np.arange(len(sub))
        colors = [_color("S3-Rec") if v == "full" else "#E6B0AA" for v in sub.variant]
        ax.bar(x, sub["mean"], yerr=sub["std"], color=colors, capsize=3, label="ours")
        ax.set_xticks(x, ["S3-Rec" if v == "full" else f"-{v[3:].upper()}" for v in sub.variant])
        paper = reference.paper_value(d, "S3-Rec", metric)
        if paper is not None:
            ax.plot([0], [paper], marker="*", color="black", markersize=12, linestyle="none", label="paper, S3-Rec")
        fdsa = reference.paper_value(d, "FDSA", metric)
        if fdsa is not None:
            ax.axhline(fdsa, color=_color("FDSA"), linestyle="--", linewidth=1, label="paper, FDSA")
        ax.set_title(reference.short(d))
        ax.set_xlabel("objective removed")
    axes[0][0].set_ylabel(f"test {metric}")
    axes[0][0].legend(loc="lower left")
    fig.suptitle(f"Fig. 2: ablation of the four objectives ({results_label(runs, preset)})")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 4: sparsity
# ------------------------------------------------------------------------------------------------
def sparsity_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    rows = [{"dataset": r["dataset"], "model": r["model"], "fraction": r["config"]["train_fraction"],
             "seed": r["seed"], metric: r["test"][metric]}
            for r in _load("sparsity", preset, results_root) if r.get("test")]
    g = pd.DataFrame(rows).groupby(["dataset", "model", "fraction"])[metric]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "seeds": g.count()}).reset_index()


def plot_sparsity(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """Fig. 4: test metric against the share of training data kept; the paper's 100% value (Table 2) as a marker."""
    _style()
    runs = _load("sparsity", preset, results_root)
    df = sparsity_frame(preset, results_root, metric)
    datasets = list(dict.fromkeys(df.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        for m, sub in df[df.dataset == d].groupby("model", sort=False):
            ax.errorbar(sub.fraction * 100, sub["mean"], yerr=sub["std"], marker="o", capsize=3, color=_color(m), label=m)
            paper = reference.paper_value(d, m, metric)
            if paper is not None:
                ax.plot([100], [paper], marker="*", markersize=12, color=_color(m), markeredgecolor="black",
                        linestyle="none", label=f"{m}, paper (100%)")
        ax.set_title(reference.short(d))
        ax.set_xlabel("training data kept (%)")
        ax.set_xticks([20, 40, 60, 80, 100])
    axes[0][0].set_ylabel(f"test {metric}")
    axes[0][0].legend(loc="best")
    fig.suptitle(f"Fig. 4: less training data ({results_label(runs, preset)})")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 5: pre-training epochs
# ------------------------------------------------------------------------------------------------
def pretrain_epochs_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    rows = [{"dataset": r["dataset"], "pretrain_epochs": r["from_pretrain"]["epoch"], "seed": r["seed"],
             metric: r["test"][metric]}
            for r in _load("pretrain_epochs", preset, results_root) if r.get("test") and r.get("from_pretrain")]
    g = pd.DataFrame(rows).groupby(["dataset", "pretrain_epochs"])[metric]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "seeds": g.count()}).reset_index()


def plot_pretrain_epochs(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """Fig. 5: test metric after fine-tuning from the checkpoint of each pre-training epoch (0 = none); the
    paper's S3-Rec (Table 2, 100 epochs) and SASRec as dashed lines."""
    _style()
    runs = _load("pretrain_epochs", preset, results_root)
    df = pretrain_epochs_frame(preset, results_root, metric)
    datasets = list(dict.fromkeys(df.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        sub = df[df.dataset == d]
        ax.errorbar(sub.pretrain_epochs, sub["mean"], yerr=sub["std"], marker="o", capsize=3,
                    color=_color("S3-Rec"), label="ours, S3-Rec")
        for m, style in (("S3-Rec", "--"), ("SASRec", ":")):
            paper = reference.paper_value(d, m, metric)
            if paper is not None:
                ax.axhline(paper, color=_color(m), linestyle=style, linewidth=1, label=f"paper, {m} (Table 2)")
        ax.set_title(reference.short(d))
        ax.set_xlabel("pre-training epochs before fine-tuning")
    axes[0][0].set_ylabel(f"test {metric}")
    axes[0][0].legend(loc="best")
    fig.suptitle(f"Fig. 5: how long to pre-train ({results_label(runs, preset)})")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 6: convergence
# ------------------------------------------------------------------------------------------------
def convergence_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", datasets=None) -> pd.DataFrame:
    """Validation ``metric`` per fine-tuning epoch, from the stored table2 histories (mean/std over seeds)."""
    rows = []
    for r in _load("table2", preset, results_root):
        if datasets and r["dataset"] not in datasets:
            continue
        for h in r.get("history", []):
            rows.append({"dataset": r["dataset"], "model": r["model"], "epoch": h["epoch"], "seed": r["seed"],
                         metric: h[f"valid_{metric}"]})
    if not rows:
        raise S3RecError(f"no fine-tuning histories stored for {datasets or 'any dataset'} ({preset} preset)")
    g = pd.DataFrame(rows).groupby(["dataset", "model", "epoch"])[metric]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "seeds": g.count()}).reset_index()


CONVERGENCE_MODELS = ("S3-Rec", "S3-Rec-released", "SASRec", "FDSA", "GRU4Rec")


def plot_convergence(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", datasets=None,
                     models=CONVERGENCE_MODELS):
    """Fig. 6: validation metric per fine-tuning epoch for ``models`` (those stored; shaded: std over seeds);
    on Beauty the authors' logged NDCG@10 of their first epochs as crosses."""
    _style()
    runs = _load("table2", preset, results_root)
    df = convergence_frame(preset, results_root, metric, datasets)
    df = df[df.model.isin(models)]
    names = list(dict.fromkeys(df.dataset))
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names) + 2.0, 3.6), squeeze=False)
    for ax, d in zip(axes[0], names):
        for m in [m for m in models if m in set(df[df.dataset == d].model)]:
            sub = df[(df.dataset == d) & (df.model == m)]
            ax.plot(sub.epoch, sub["mean"], marker=".", color=_color(m), label=f"ours, {m}")
            ax.fill_between(sub.epoch, sub["mean"] - sub["std"], sub["mean"] + sub["std"], color=_color(m), alpha=0.2)
            log = reference.AUTHORS_LOG_BEAUTY.get(m) if d == "Beauty" and metric == "NDCG@10" else None
            if log:
                ax.plot(list(log), list(log.values()), "x", color=_color(m), markersize=8, label=f"authors' log, {m}")
        ax.set_title(reference.short(d))
        ax.set_xlabel("fine-tuning epoch")
    axes[0][0].set_ylabel(f"validation {metric}")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}
    axes[0][-1].legend(handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"Fig. 6: convergence of fine-tuning ({results_label(runs, preset)})")
    fig.tight_layout()
    return fig
