"""The paper-scale runs in the results chapters: a compact Table 2 per dataset (mean and standard deviation
over seeds beside the published numbers) and the SASRec plateau (chapter 20)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import reference
from .results_plots import _legend_below, _load, _style, reference_model, results_label
from .style import color

__all__ = ["table2_summary", "own_pretraining_runs", "display_order", "PLATEAU_ESCAPE", "plateau_frame", "authors_curve", "plot_sasrec_plateau",
           "pending_status"]

#: A SASRec run has left the early plateau (validation NDCG@10 about 0.18 on LastFM, as in the authors' log at
#: epochs 10-20) once its validation NDCG@10 passes this level; runs that climb out end near 0.29.
PLATEAU_ESCAPE = 0.23


def display_order(models) -> list[str]:
    """The paper's column order, S3-Rec-released right after S3-Rec, anything else after."""
    order = list(reference.PAPER_MODELS)
    order.insert(order.index("S3-Rec") + 1, "S3-Rec-released")
    return [m for m in order if m in set(models)] + sorted(set(models) - set(order))


def own_pretraining_runs(dataset: str, preset: str = "official", results_root=None) -> tuple[int | None, list[dict]]:
    """Our own S3-Rec on ``dataset`` at its longest stored pre-training: the ``pretrain_epochs`` runs (Fig. 5,
    ``preset``: the authors' pre-training schedule, the paper's fine-tuning) fine-tuned from the last checkpoint
    of our pre-training run, as ``(epochs, runs)``; ``(None, [])`` where none is stored."""
    from ...experiments import DEFAULT_RESULTS, load_results

    runs = [r for r in load_results("pretrain_epochs", preset, DEFAULT_RESULTS if results_root is None else results_root)
            if r["dataset"] == dataset and r.get("test") and isinstance((r.get("from_pretrain") or {}).get("epoch"), int)]
    if not runs:
        return None, []
    last = max(r["from_pretrain"]["epoch"] for r in runs)
    return (last, [r for r in runs if r["from_pretrain"]["epoch"] == last]) if last > 0 else (None, [])


def table2_summary(dataset: str, preset: str = "paper", results_root=None, metrics=("NDCG@10", "HR@10"),
                   models=None, own_pretraining: str | None = "official") -> pd.DataFrame:
    """One row per model of the paper's Table 2 (and S3-Rec-released): our test ``metrics`` as "mean ± sd"
    over the stored seeds (a single seed: the value alone; "not run" where none is stored), with the paper's
    and the authors' repository's numbers beside them (NaN where a source has none: ``show_table`` writes a
    dash). ``model`` is a column (no index). Where ``table2`` holds no S3-Rec run of ``dataset``, the S3-Rec row
    is our own pre-training at its longest stored length (:func:`own_pretraining_runs` of the ``own_pretraining``
    preset; None: not looked for), labelled ``S3-Rec (our pre-training, N epochs)``."""
    from ..tables import mean_std

    runs = [r for r in _load("table2", preset, results_root) if r["dataset"] == dataset and r.get("test")]
    by_model: dict = {}
    for r in runs:
        by_model.setdefault(r["model"], []).append(r)
    names = display_order(models or list(reference.PAPER_MODELS) + ["S3-Rec-released"])
    label = {}
    if "S3-Rec" in names and not by_model.get("S3-Rec") and own_pretraining:
        epochs, own = own_pretraining_runs(dataset, own_pretraining, results_root)
        if own:
            by_model["S3-Rec"], label["S3-Rec"] = own, f"S3-Rec (our pre-training, {epochs} epochs)"
    rows = []
    for m in names:
        rs = by_model.get(m, [])
        row = {"model": label.get(m, m), "seeds": len(rs)}
        for metric in metrics:
            row[f"{metric} ours"] = mean_std([r["test"][metric] for r in rs], seeds=False) if rs else "not run"
            for src, fn in (("paper", reference.paper_value), ("repo", reference.authors_value)):
                ref = fn(dataset, reference_model(m), metric)
                row[f"{metric} {src}"] = np.nan if ref is None else ref
        rows.append(row)
    return pd.DataFrame(rows)


def plateau_frame(preset: str = "paper", dataset: str = "LastFM", results_root=None,
                  experiments=("table2", "plateau")) -> pd.DataFrame:
    """One row per stored SASRec run of ``experiments``: patience, seed, epochs run, best epoch, the best
    validation NDCG@10, whether the run left the plateau, and its test NDCG@10."""
    rows = []
    for exp in experiments:
        try:
            runs = _load(exp, preset, results_root)
        except Exception:  # an experiment not stored yet
            continue
        for r in runs:
            if r["dataset"] != dataset or r["model"] != "SASRec" or not r.get("history"):
                continue
            best_valid = max(h["valid_NDCG@10"] for h in r["history"])
            rows.append({"experiment": exp, "patience": r["config"]["patience"], "seed": r["seed"],
                         "epochs run": r["epochs_run"], "best epoch": r["best_epoch"],
                         "best valid NDCG@10": best_valid, "left the plateau": best_valid > PLATEAU_ESCAPE,
                         "test NDCG@10": r["test"]["NDCG@10"]})
    return pd.DataFrame(rows).sort_values(["patience", "seed"]).reset_index(drop=True)


def authors_curve(dataset: str = "LastFM", which: str = "log_sasrec") -> pd.DataFrame | None:
    """Validation metrics per epoch from the authors' released fine-tuning log (None if the file cannot be had)."""
    from ...data import locate, read_finetune_log, verify, REGISTRY
    from ...errors import S3RecError

    try:
        path = locate(dataset, which, progress=False)
        verify(path, REGISTRY[dataset][which])
    except S3RecError:
        return None
    return pd.DataFrame(read_finetune_log(path)["valid"])


def plot_sasrec_plateau(preset: str = "paper", dataset: str = "LastFM", results_root=None, experiment: str = "table2"):
    """Validation NDCG@10 per fine-tuning epoch of every stored SASRec seed of ``experiment``, the authors' log
    (black) and the plateau level (dotted). Every seed stays visible: the seeds that left the plateau (blue) are
    thin lines underneath; each seed that stopped on it (red) is drawn on top, thicker, with its own line style
    and a cross where it stopped, and an inset magnifies the epochs where they ran. A black dot marks the epoch
    each run tested."""
    _style()
    runs = [r for r in _load(experiment, preset, results_root) if r["dataset"] == dataset and r["model"] == "SASRec"]
    runs = sorted(runs, key=lambda r: r["seed"])
    curves = {r["seed"]: [h["valid_NDCG@10"] for h in r["history"]] for r in runs}
    stuck = [r for r in runs if max(curves[r["seed"]]) <= PLATEAU_ESCAPE]
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    inset = None
    if stuck:  # the epochs where the stopped seeds ran, magnified in the empty lower right corner
        last = max(len(curves[r["seed"]]) for r in stuck)
        inset = ax.inset_axes([0.5, 0.08, 0.47, 0.5])
    styles = ["-", "--", "-.", ":"]
    log = authors_curve(dataset)
    for a in [ax] + ([inset] if inset is not None else []):
        for r in runs:
            y = curves[r["seed"]]
            if r in stuck:
                continue
            a.plot(range(len(y)), y, lw=0.9, alpha=0.55, color=color("SASRec"), zorder=2,
                   label="ours: a seed that left the plateau")
        if log is not None:
            a.plot(log.epoch, log["NDCG@10"], color="black", lw=2, zorder=3, label="authors' log (SASRec, seed 42)")
        for i, r in enumerate(stuck):
            y = curves[r["seed"]]
            a.plot(range(len(y)), y, lw=2.2, ls=styles[i % len(styles)], color=color("S3-Rec"), zorder=4,
                   label=f"ours: seed {r['seed']}, stopped on the plateau")
            a.plot(len(y) - 1, y[-1], "X", ms=8 if a is ax else 9, color=color("S3-Rec"), mec="black", mew=0.7,
                   zorder=5, label="where a run stopped on the plateau")
        for r in runs:
            y = curves[r["seed"]]
            a.plot(r["best_epoch"], y[r["best_epoch"]], "o", ms=3.5, color="black", zorder=6,
                   label="epoch each run tested")
        a.axhline(PLATEAU_ESCAPE, ls=":", color="gray", lw=1, label=f"plateau level ({PLATEAU_ESCAPE})")
    if inset is not None:
        window = [v for r in runs for v in curves[r["seed"]][5:last + 1]]
        window += [] if log is None else list(log["NDCG@10"][(log.epoch >= 5) & (log.epoch <= last)])
        inset.set_xlim(4.5, last + 0.5)
        inset.set_ylim(min(window) - 0.005, max(window) + 0.005)
        inset.set_title(f"epochs 5-{last}, magnified", fontsize=8)
        inset.tick_params(labelsize=7)
        inset.set_facecolor("white")
        ax.indicate_inset_zoom(inset, edgecolor="gray")
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel("validation NDCG@10")
    patience = sorted({r["config"]["patience"] for r in runs})
    ax.set_title(f"SASRec on {dataset}, {len(runs)} seeds, patience {patience[0] if len(patience) == 1 else patience} "
                 f"({results_label(runs, preset)})")
    _legend_below(fig, [ax], ncol=2)  # below the axes: it never covers a curve
    return fig


def pending_status(experiment: str, preset: str, results_root=None) -> str:
    """One plain paragraph for a results chapter: what of ``experiment`` is stored at paper scale, and how the
    rest is made."""
    from ...experiments import get_experiment, load_results

    from .results_plots import _root

    runs = load_results(experiment, preset, _root(results_root))
    declared = get_experiment(experiment).fn(preset, None, [1, 2, 3])
    datasets = sorted({r.dataset for r in declared})
    how = (f"`python -m s3rec_lite experiment {experiment} --preset {preset} --datasets D` on a CPU, or on a GPU "
           f"with `--device cuda`; the paper's datasets ({', '.join(datasets)}) are queued in the CPU campaign "
           f"(`results/campaign.tsv`; what is left: `python scripts/campaign.py status`)")
    if not runs:
        return (f"No {experiment!r} run is stored yet at paper scale ({preset} preset): this chapter explains the "
                f"experiment, and its tables and figures of our runs appear as they land. To make them: {how}.")
    stored = sorted({r["dataset"] for r in runs})
    return (f"{len(runs)} {experiment!r} runs are stored ({preset} preset, datasets {', '.join(stored)}); the rest: {how}.")
