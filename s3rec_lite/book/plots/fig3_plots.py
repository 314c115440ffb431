"""Fig. 3 from the results store: each model without and with S3-Rec's pre-training.

Reads the run JSONs of ``python -m s3rec_lite experiment other_models`` (``results/<preset>/other_models/``),
CPU and GPU runs alike (``load_results(..., device="all")``), each labelled with the device that made it
(``"CPU"`` or the GPU's name from its provenance, e.g. ``"NVIDIA H200"``). A model whose pre-trained arm (or
from-scratch arm) is not stored yet is said to be "not run yet", never drawn as zero.

* :func:`other_models_seeds`: one row per stored run;
* :func:`other_models_frame`: mean, std (NaN for one seed), seeds and device per (dataset, model, arm);
* :func:`other_models_pairs`: one row per (dataset, model of ``FIG3_PAIRS``), both arms side by side and
  the gain (NaN while an arm is missing);
* :func:`other_models_table`: the same for a reader ("mean ± sd", "not run yet");
* :func:`other_models_status`, :func:`other_models_provenance`: what is stored, and where it came from;
* :func:`plot_other_models`: the figure, one panel per dataset, the device written in each bar.

Re-exported by :mod:`s3rec_lite.book.plots`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .paper_results import PLATEAU_ESCAPE

__all__ = ["other_models_seeds", "other_models_frame", "other_models_pairs", "other_models_table",
           "other_models_status", "other_models_provenance", "plot_other_models", "run_device", "how_pretrained",
           "NOT_RUN"]

#: What a table or the figure says where an arm has no stored run.
NOT_RUN = "not run yet"

ARMS = {False: "from scratch", True: "pre-trained"}


def run_device(run: dict) -> str:
    """The device that made a stored run, for a reader: ``"CPU"``, or the GPU's name (``"NVIDIA H200"``)."""
    device = str(run.get("provenance", {}).get("device") or "")
    if device.startswith("CPU") or (not device and run.get("device_kind", "cpu") == "cpu"):
        return "CPU"
    return device or "GPU"


def _devices(values) -> str:
    """Distinct devices of a group of runs, in a stable order: ``"NVIDIA H200"``, ``"CPU + NVIDIA H200"``."""
    return " + ".join(sorted(set(values)))


def _pairs():
    from ...experiments import FIG3_PAIRS

    return list(FIG3_PAIRS)


def how_pretrained(model: str) -> str:
    """How the zoo pre-trains ``model``'s ``+pretrain`` variant: the whole network or only its embeddings."""
    from ...zoo import get_model_spec

    kind = get_model_spec(f"{model}+pretrain").pretrain
    return {"objectives": "whole network", "borrow": "embeddings only"}.get(kind, str(kind))


def other_models_seeds(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per stored run: dataset, model (the base name), pretrained, seed, device, the test ``metric``,
    the best fine-tuning epoch, the best validation NDCG@10 of any epoch and whether it rose above chapter 20's
    plateau level (``left_plateau``: above :data:`~.paper_results.PLATEAU_ESCAPE`)."""
    runs = _load(preset, results_root)
    base_of = {m: base for base, pre in _pairs() for m in (base, pre)}
    rows = [{"dataset": r["dataset"], "model": base_of.get(r["model"], r["model"]),
             "pretrained": r["model"].endswith("+pretrain"), "seed": r["seed"], "device": run_device(r),
             metric: r["test"][metric], "best_epoch": r.get("best_epoch"), "best_valid_NDCG@10": _best_valid(r)}
            for r in runs if r.get("test")]
    df = pd.DataFrame(rows, columns=["dataset", "model", "pretrained", "seed", "device", metric, "best_epoch",
                                     "best_valid_NDCG@10"])
    df["left_plateau"] = df["best_valid_NDCG@10"] > PLATEAU_ESCAPE  # chapter 20's definition
    return df


def _best_valid(run: dict) -> float:
    """The best validation NDCG@10 over a run's fine-tuning epochs (as chapter 20 reads the plateau)."""
    history = [h["valid_NDCG@10"] for h in run.get("history") or [] if "valid_NDCG@10" in h]
    return max(history) if history else (run.get("valid") or {}).get("NDCG@10", np.nan)


def other_models_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per (dataset, model, pre-trained?): mean and std of the test ``metric`` over seeds (std NaN
    for a single seed), the number of seeds and the device(s) that made them."""
    df = other_models_seeds(preset, results_root, metric)
    g = df.groupby(["dataset", "model", "pretrained"])
    out = pd.DataFrame({"mean": g[metric].mean(), "std": g[metric].std(ddof=1), "seeds": g[metric].count(),
                        "device": g["device"].agg(_devices)}).reset_index()
    order = {base: i for i, (base, _) in enumerate(_pairs())}
    out["order"] = out.model.map(order).fillna(len(order))
    return out.sort_values(["dataset", "order", "pretrained"]).drop(columns="order").reset_index(drop=True)


def other_models_pairs(preset: str = "tiny", results_root=None, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per dataset with stored runs and per model of Fig. 3: both arms' mean, std, seeds and device
    (NaN / 0 / ``NOT_RUN`` where an arm is not stored), ``gain`` = pre-trained - scratch (NaN unless both
    arms are stored) and ``both`` (both arms stored)."""
    frame = other_models_frame(preset, results_root, metric)
    rows = []
    for d in dict.fromkeys(frame.dataset):
        sub = frame[frame.dataset == d].set_index(["model", "pretrained"])
        for base, _ in _pairs():
            row = {"dataset": d, "model": base, "pretraining": how_pretrained(base)}
            for pre, tag in ((False, "scratch"), (True, "pretrained")):
                hit = sub.loc[(base, pre)] if (base, pre) in sub.index else None
                row[f"{tag}_mean"] = np.nan if hit is None else hit["mean"]
                row[f"{tag}_std"] = np.nan if hit is None else hit["std"]
                row[f"{tag}_seeds"] = 0 if hit is None else int(hit["seeds"])
                row[f"{tag}_device"] = NOT_RUN if hit is None else hit["device"]
            row["both"] = row["scratch_seeds"] > 0 and row["pretrained_seeds"] > 0
            row["gain"] = row["pretrained_mean"] - row["scratch_mean"] if row["both"] else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def other_models_table(preset: str = "tiny", results_root=None, metric: str = "NDCG@10",
                       decimals: int = 4) -> pd.DataFrame:
    """For a reader: two rows per model (from scratch, pre-trained), the test ``metric`` as "mean ± sd" over
    its seeds (``NOT_RUN`` where nothing is stored), the seeds, the device and, on the pre-trained row, the
    gain. A ``dataset`` column only when several datasets are stored."""
    from ..tables import mean_std

    seeds = other_models_seeds(preset, results_root, metric)
    pairs = other_models_pairs(preset, results_root, metric)
    rows = []
    for _, p in pairs.iterrows():
        for pre, tag in ((False, "scratch"), (True, "pretrained")):
            vals = seeds[(seeds.dataset == p.dataset) & (seeds.model == p.model) & (seeds.pretrained == pre)]
            rows.append({"dataset": p.dataset, "model": p.model,
                         "arm": f"pre-trained ({p.pretraining})" if pre else "from scratch",
                         f"{metric} (mean ± sd)": mean_std(vals[metric], decimals, seeds=False) if len(vals) else NOT_RUN,
                         "seeds": len(vals), "device": p[f"{tag}_device"],
                         "gain": p.gain if pre else np.nan})
    out = pd.DataFrame(rows)
    return out if out.dataset.nunique() > 1 else out.drop(columns="dataset")


def other_models_status(preset: str = "tiny", results_root=None) -> str:
    """One Markdown paragraph: how many runs are stored, on which devices, which pairs have both arms and
    which arms are not run yet."""
    from ...experiments import DEFAULT_RESULTS, load_results

    root = DEFAULT_RESULTS if results_root is None else results_root
    runs = load_results("other_models", preset, root, device="all")
    if not runs:
        return (f"No `other_models` run is stored yet ({preset} preset): this chapter explains the experiment, "
                f"and its table and figure appear as the runs land.")
    by_device = pd.Series([run_device(r) for r in runs]).value_counts().sort_index()
    pairs = other_models_pairs(preset, root)
    done = pairs[pairs.both]
    missing = [f"{p.model} {ARMS[pre]}" for _, p in pairs.iterrows() for pre, n in
               ((False, p.scratch_seeds), (True, p.pretrained_seeds)) if n == 0]
    text = (f"{len(runs)} `other_models` runs are stored ({preset} preset, "
            f"{', '.join(sorted({r['dataset'] for r in runs}))}): "
            + ", ".join(f"{n} made on {d}" for d, n in by_device.items()) + ". "
            f"Both arms are stored for {len(done)} of the {len(pairs)} models "
            f"({', '.join(done.model) if len(done) else 'none yet'})")
    return text + (f"; not run yet: {', '.join(missing)}." if missing else ".")


def other_models_provenance(preset: str = "tiny", results_root=None) -> pd.DataFrame:
    """Where the stored numbers come from, GPU runs included: one row per run (key, device, command, commit,
    torch, date, wall seconds)."""
    rows = []
    for r in _load(preset, results_root):
        p = r.get("provenance", {})
        commit = str(p.get("commit") or "")
        rows.append({"run": r["key"] + (".cuda" if r.get("device_kind") == "cuda" else ""),
                     "device": p.get("device") or run_device(r), "command": p.get("command"),
                     "commit": commit[:12] + ("+dirty" if commit.endswith("+dirty") else ""),
                     "torch": p.get("torch"), "date": p.get("date"), "wall s": r.get("wall_seconds")})
    return pd.DataFrame(rows)


def _short_device(name: str) -> str:
    """What fits inside a bar: ``"NVIDIA H200"`` -> ``"H200"``, ``"CPU + NVIDIA H200"`` -> ``"CPU+H200"``."""
    return "+".join(part.replace("NVIDIA ", "") for part in name.split(" + "))


def _ink(hex_color: str, alpha: float) -> str:
    """Black or white text, whichever reads better on a bar of ``hex_color`` drawn with ``alpha`` on white."""
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(hex_color)) * alpha + (1 - alpha)  # over the white background
    return "white" if float(rgb @ [0.299, 0.587, 0.114]) < 0.5 else "black"


def plot_other_models(preset: str = "tiny", results_root=None, metric: str = "NDCG@10", reference: dict | None = None):
    """Fig. 3: test ``metric`` of each model trained from scratch (light) and after pre-training with the
    S3-Rec objectives (dark; Caser, AutoInt: embeddings initialised from S3-Rec), one panel per dataset.

    Bars: mean over seeds, error bars one standard deviation (none for one seed). Inside each bar, the device
    that made its runs (``H200``, ``CPU``); where an arm is not stored, the words "not run yet" stand in its
    place (never a zero bar). ``reference``: ``{dataset: (label, value)}``, drawn as a dashed line."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .results_plots import _legend_below, _panels, results_label
    from .style import color, style

    style()
    runs = _load(preset, results_root)
    pairs = other_models_pairs(preset, results_root, metric)
    datasets = list(dict.fromkeys(pairs.dataset))
    fig, axes = _panels(len(datasets), 4.6 if len(datasets) > 1 else 6.6, height=3.6)
    width, arms = 0.4, ((False, -0.2, 0.45), (True, 0.2, 1.0))  # (pretrained, x shift, alpha)
    ref_handle = None
    for ax, d in zip(axes, datasets):
        sub = pairs[pairs.dataset == d].reset_index(drop=True)
        top = np.nanmax(np.r_[sub.scratch_mean + sub.scratch_std.fillna(0), sub.pretrained_mean + sub.pretrained_std.fillna(0)])
        if reference and d in reference:
            top = max(top, reference[d][1])
        for i, p in sub.iterrows():
            c = color(p.model.replace("_F", ""))
            for pre, shift, alpha in arms:
                tag = "pretrained" if pre else "scratch"
                x, mean, std = i + shift, p[f"{tag}_mean"], p[f"{tag}_std"]
                if np.isnan(mean):  # not stored: say so, in the bar's place
                    ax.text(x, 0.02 * top, NOT_RUN, rotation=90, ha="center", va="bottom", fontsize=9,
                            style="italic", color="0.35")
                    continue
                ax.bar(x, mean, width, yerr=None if np.isnan(std) else std, capsize=3, color=c, alpha=alpha,
                       edgecolor="black", linewidth=0.5, error_kw={"elinewidth": 1})
                ax.text(x, 0.02 * top, _short_device(p[f"{tag}_device"]), rotation=90, ha="center", va="bottom",
                        fontsize=9, color=_ink(c, alpha))
        if reference and d in reference:
            label, value = reference[d]
            ref_handle = Line2D([], [], color="black", ls="--", lw=1, label=label)
            ax.axhline(value, color="black", ls="--", lw=1, zorder=0.5)
        ax.set_ylim(0, top * 1.08)
        ax.set_xticks(np.arange(len(sub)), sub.model, rotation=20)
        ax.set_title(d)
        ax.set_xlabel("model")
        ax.set_ylabel(f"test {metric}")
    _legend_below(fig, axes, title=f"The S3-Rec objectives applied to other models\n"
                                   f"({results_label(runs, preset)}; in each bar: the device that made it)")
    handles = [Patch(facecolor="0.55", alpha=0.45, edgecolor="black", label="from scratch"),
               Patch(facecolor="0.35", edgecolor="black", label="pre-trained with the S3-Rec objectives")]
    handles += [ref_handle] if ref_handle is not None else []
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2 if len(handles) > 2 else len(handles),
               frameon=False)
    return fig


def _load(preset, results_root):
    from ...errors import S3RecError
    from ...experiments import DEFAULT_RESULTS, load_results

    root = DEFAULT_RESULTS if results_root is None else results_root
    runs = load_results("other_models", preset, root, device="all")  # GPU runs labelled by their device
    if not runs:
        raise S3RecError(f"no stored results for 'other_models' ({preset} preset) under {root}/{preset}: run "
                         f"`python -m s3rec_lite experiment other_models --preset {preset}` first")
    return runs
