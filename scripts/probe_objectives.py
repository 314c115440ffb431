"""The linear probe of chapter 12 on the item embeddings pre-trained with each objective removed.

The LastFM ablation (Fig. 2; ``results/official/ablation/LastFM/S3-Rec-<variant>/seed<S>.json``, S = 1-3, each
seed its own pre-training) pre-trains S3-Rec with all four objectives (``full``) and with each of AAP, MIP, MAP,
SP removed; its checkpoints live in the git-ignored ``runs/`` only. This script loads each variant's pre-trained checkpoint (the one that
fine-tuning started from, named by the result JSON's ``config_hash``), takes its item embedding table and
runs the very probe chapter 12 runs (``representations.probe_auc`` with its default settings on the 20 tags
carried by most artists), and stores the AUCs with where they came from in one JSON, which the book reads.

    python scripts/probe_objectives.py [--seed S] [--runs runs/] [--results results/] [--out FILE]

One pre-training seed per call (default 1), stored as ``LastFM.json`` for seed 1 and ``LastFM-seed<S>.json``
for the others.

Exit status 2, with one line naming the file, when a result JSON or a checkpoint is missing or does not fit.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATASET = "LastFM"
PRESET = "official"
VARIANTS = ("full", "no-aap", "no-mip", "no-map", "no-sp")
N_TAGS = 20  # chapter 12: R.frequent_attributes(lastfm, 20)
OUT_DIR = REPO / "results" / PRESET / "probe_objectives"
DEFAULT_OUT = OUT_DIR / f"{DATASET}.json"


def default_out(seed: int) -> Path:
    """Where the probe of one pre-training seed is stored: ``LastFM.json`` (seed 1), ``LastFM-seed<S>.json``."""
    return DEFAULT_OUT if seed == 1 else OUT_DIR / f"{DATASET}-seed{seed}.json"


class BadInput(Exception):
    """A missing or unfitting input file: reported in one line, exit status 2."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shown(path: Path) -> str:
    """A path relative to the repository when it lies inside it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def locate(variant: str, results: Path, runs: Path, seed: int = 1) -> dict:
    """The stored result of one ablation variant's pre-training seed and the path of its pre-trained checkpoint."""
    result_path = results / PRESET / "ablation" / DATASET / f"S3-Rec-{variant}" / f"seed{seed}.json"
    if not result_path.exists():
        raise BadInput(f"{result_path}: result JSON not found")
    result = json.loads(result_path.read_text())
    rel = Path(PRESET) / result["key"] / result["config_hash"] / "pretrain" / "pretrained.pt"
    ckpt = runs / rel
    if not ckpt.exists():
        raise BadInput(f"{ckpt}: checkpoint not found (pre-training of {result['key']})")
    return {"variant": variant, "result_path": result_path, "result": result, "ckpt": ckpt, "ckpt_rel": rel}


def check_belongs(item: dict, info: dict) -> None:
    """The checkpoint is the pre-training the result JSON reports: same objective weights, same epochs and
    the same per-epoch losses."""
    result, path = item["result"], item["ckpt"]
    meta = info["meta"]
    want = [round(h["loss"], 3) for h in result["pretrain_history"]]
    have = [round(h["loss"], 3) for h in meta.get("history", [])]
    if meta.get("epochs") != result["config"]["pretrain_epochs"] or have != want:
        raise BadInput(f"{path}: its pre-training history differs from {item['result_path']}'s: another run")


def uncommitted_package_files() -> list[str]:
    """The package files with uncommitted changes (what ``+dirty`` in the commit refers to)."""
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "s3rec_lite"], cwd=REPO,
                         capture_output=True, text=True)
    return sorted(line[3:] for line in out.stdout.splitlines()) if out.returncode == 0 else []


def probe_settings() -> dict:
    """The probe's settings: the defaults of ``representations.probe_auc``, which chapter 12 uses."""
    from s3rec_lite.book import representations as R

    p = inspect.signature(R.probe_auc).parameters
    f = inspect.signature(R.fit_linear_probe).parameters
    return {"function": "s3rec_lite.book.representations.probe_auc", "tags": f"the {N_TAGS} carried by most items",
            "seeds": list(p["seeds"].default), "test_fraction": p["test_fraction"].default,
            "weight_decay": p["weight_decay"].default, "lbfgs_steps": f["steps"].default}


def run(runs: Path, results: Path, out: Path, command: list[str], seed: int = 1) -> dict:
    import numpy as np
    import torch

    from s3rec_lite import load_dataset
    from s3rec_lite.book import representations as R
    from s3rec_lite.checkpoint import load_model
    from s3rec_lite.errors import S3RecError
    from s3rec_lite.provenance import provenance, write_json_atomic

    t0 = time.perf_counter()
    items = [locate(v, results, runs, seed) for v in VARIANTS]  # every input checked before any work
    ds = load_dataset(DATASET, progress=False)
    tags = R.frequent_attributes(ds, N_TAGS)  # [20] tag ids
    Y = R.attribute_targets(ds, tags)  # [N, 20] 0/1
    variants = {}
    for item in items:
        try:
            model, info = load_model(item["ckpt"], item_vocab_size=ds.item_vocab_size,
                                     attribute_vocab_size=ds.attribute_vocab_size)
        except S3RecError as exc:
            raise BadInput(str(exc)) from None
        check_belongs(item, info)
        auc = R.probe_auc(R.item_embedding_matrix(model, ds.n_items), Y)  # [5 splits, 20 tags]
        r = item["result"]
        variants[item["variant"]] = {
            "mean_auc": float(auc.mean()),
            "per_attribute": auc.mean(0).tolist(),  # [20] mean over splits
            "per_seed": auc.tolist(),  # [5][20] per split seed, per tag
            "seed": r["seed"],
            "loss_weights": r["config"]["loss_weights"],
            "pretrain_epochs": r["config"]["pretrain_epochs"],
            "checkpoint": {"path": str(item["ckpt_rel"]), "relative_to": "runs/", "sha256": sha256(item["ckpt"])},
            "result": shown(item["result_path"]), "result_key": r["key"], "config_hash": r["config_hash"],
            "result_commit": r["provenance"]["commit"],
            "finetuned_test_NDCG@10": r["test"]["NDCG@10"],
        }
        print(f"{item['variant']:7s} probe AUC {auc.mean():.4f} (splits {auc.mean(1).min():.4f}-{auc.mean(1).max():.4f})")
    script = Path(__file__).resolve()
    out_obj = {
        "what": "held-out ROC AUC of chapter 12's linear probe (item embedding -> LastFM tags) on the item "
                f"tables pre-trained by the LastFM ablation (pre-training seed {seed}, 20 epochs), never fine-tuned",
        "pretrain_seed": seed,
        "dataset": DATASET,
        "dataset_checksums": {k: v["sha256"] for k, v in ds.files.items()},
        "attributes": [int(t) for t in tags],
        "attribute_names": [f"tag {int(t)}" for t in tags],  # the authors' file keeps tag ids only
        "probe": probe_settings(),
        "variants": variants,
        "script": {"path": shown(script), "sha256": sha256(script)},
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "provenance": {**provenance("cpu", command), "threads": torch.get_num_threads(),
                       "uncommitted": uncommitted_package_files()},
    }
    assert np.isfinite([v["mean_auc"] for v in variants.values()]).all()
    write_json_atomic(out_obj, out)
    print(f"wrote {shown(out)}")
    return out_obj


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=Path, default=REPO / "runs", help="the runs/ folder holding the checkpoints")
    p.add_argument("--results", type=Path, default=REPO / "results", help="the results store (default results/)")
    p.add_argument("--seed", type=int, default=1, choices=(1, 2, 3), help="the ablation's pre-training seed (default 1)")
    p.add_argument("--out", type=Path, help=f"output JSON (default {shown(DEFAULT_OUT)}, or {DATASET}-seed<S>.json)")
    args = p.parse_args(argv)
    args.out = args.out or default_out(args.seed)
    from s3rec_lite.errors import S3RecError

    try:
        run(args.runs, args.results, args.out, ["python", "scripts/probe_objectives.py", *argv], args.seed)
    except (BadInput, S3RecError) as exc:  # e.g. a missing checkpoint, or the data not found
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
