"""Fig. 3 from the results store: each model without and with S3-Rec's pre-training.

Reads the run JSONs of ``python -m s3rec_lite experiment other_models`` (``results/<preset>/other_models/``),
averages over seeds (error bars: one standard deviation across seeds, none with one seed: ``std`` is NaN)
and names the preset and device in the title; panels wrap to stay within the book's width, the legend sits
below them. Re-exported by :mod:`s3rec_lite.plots`.
"""
from __future__ import annotations

__all__ = ["other_models_frame", "plot_other_models"]


def other_models_frame(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """One row per (dataset, model, pre-trained?): mean and std of the test ``metric`` over seeds."""
    import pandas as pd

    from ...experiments import FIG3_PAIRS

    runs = _load(preset, results_root)
    base_of = {m: base for base, pre in FIG3_PAIRS for m in (base, pre)}
    rows = [{"dataset": r["dataset"], "model": base_of.get(r["model"], r["model"]),
             "pretrained": r["model"].endswith("+pretrain"), "seed": r["seed"], metric: r["test"][metric]}
            for r in runs if r.get("test")]
    df = pd.DataFrame(rows)
    g = df.groupby(["dataset", "model", "pretrained"])[metric]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "seeds": g.count()}).reset_index()
    order = {base: i for i, (base, _) in enumerate(FIG3_PAIRS)}
    out["order"] = out.model.map(order).fillna(len(order))
    out = out.sort_values(["dataset", "order", "pretrained"]).drop(columns="order").reset_index(drop=True)
    return out


def plot_other_models(preset: str = "tiny", results_root=None, metric: str = "NDCG@10"):
    """Fig. 3: test ``metric`` of each model trained from scratch (light) and after pre-training with the
    S3-Rec objectives (dark; Caser: embeddings initialised from S3-Rec), one panel per dataset."""
    import numpy as np

    from .results_plots import _legend_below, _panels, results_label
    from .style import color, style

    style()
    runs = _load(preset, results_root)
    df = other_models_frame(preset, results_root, metric)
    datasets = list(dict.fromkeys(df.dataset))
    fig, axes = _panels(len(datasets), 4.6 if len(datasets) > 1 else 6.0)
    width = 0.38
    for ax, d in zip(axes, datasets):
        sub = df[df.dataset == d]
        models = list(dict.fromkeys(sub.model))
        x = np.arange(len(models))
        for shift, pre, alpha, label in ((-width / 2, False, 0.45, "from scratch"), (width / 2, True, 1.0, "pre-trained")):
            part = sub[sub.pretrained == pre].set_index("model").reindex(models)
            ax.bar(x + shift, part["mean"], width, yerr=part["std"], capsize=3, alpha=alpha, label=label,
                   color=[color(m.replace("_F", "")) for m in models], edgecolor="black", linewidth=0.5)
        ax.set_xticks(x, models, rotation=20)
        ax.set_title(d)
        ax.set_xlabel("model")
        ax.set_ylabel(f"test {metric}")
    _legend_below(fig, axes, ncol=2,
                  title=f"Fig. 3: the S3-Rec objectives applied to other models ({results_label(runs, preset)})")
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
