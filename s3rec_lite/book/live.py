"""Pre-training at work, live: the authors' released checkpoint and SASRec from scratch fine-tuned side by side,
their validation curves drawn epoch by epoch (chapter 1; about a minute on a laptop CPU for LastFM).

    frame = head_start("LastFM", epochs=6, draw=lambda f: ...)   # one row per (start, epoch)
    fig = plot_head_start(frame)
"""
from __future__ import annotations

import pandas as pd

STARTS = ("released checkpoint", "from scratch")


def head_start(dataset: str = "LastFM", epochs: int = 6, seed: int = 1, draw=None) -> pd.DataFrame:
    """Fine-tune S3-Rec from the authors' released checkpoint of ``dataset`` and SASRec (the same encoder from a
    random start) for ``epochs`` epochs each, one after the other, with the paper's fine-tuning settings and the
    packed fine-tuning path. After every epoch ``draw(frame)`` gets the curves so far (a live figure). Returns
    one row per (start, epoch): validation NDCG@10 and HR@10, training loss, seconds."""
    from ..config import preset
    from ..pipeline import prepare_dataset
    from ..train import finetune, seed_everything
    from ..zoo import build_model

    cfg = preset("paper", progress=False, seed=seed, packed_finetuning=True)
    ds = prepare_dataset(dataset, cfg)
    rows: list[dict] = []
    for start in STARTS:
        seed_everything(seed)
        model = build_model("S3-Rec-released" if start == STARTS[0] else "SASRec", cfg, ds)

        def record(row, start=start):
            rows.append({"start": start, "epoch": row["epoch"] + 1, "valid NDCG@10": row["valid_NDCG@10"],
                         "valid HR@10": row["valid_HR@10"], "loss": row["loss"], "seconds": row["seconds"]})
            if draw is not None:
                draw(pd.DataFrame(rows))

        finetune(model, ds, cfg, epochs=epochs, on_epoch=record)
    return pd.DataFrame(rows)


def plot_head_start(frame: pd.DataFrame, epochs: int | None = None):
    """Validation NDCG@10 per fine-tuning epoch, one line per start; the x axis spans ``epochs`` (all of them
    from the first draw on, so a live figure does not rescale)."""
    import matplotlib.pyplot as plt

    from .plots.style import color, style

    style()
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    colors = {STARTS[0]: color("S3-Rec-released"), STARTS[1]: color("SASRec")}
    for start in STARTS:
        sub = frame[frame.start == start]
        if len(sub):
            ax.plot(sub.epoch, sub["valid NDCG@10"], marker="o", color=colors[start],
                    label=f"{start} ({'S3-Rec-released' if start == STARTS[0] else 'SASRec'})")
    last = epochs or int(frame.epoch.max())
    ax.set_xlim(0.5, last + 0.5)
    ax.set_xticks(range(1, last + 1))
    ax.set_ylim(0, max(0.45, float(frame["valid NDCG@10"].max()) * 1.1))
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel("validation NDCG@10")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig
