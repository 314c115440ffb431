"""Command line: ``python -m s3rec_lite {pretrain,finetune,evaluate,reproduce,download,info} ...``

Every command prints, as its last line, one JSON object with ``valid`` and ``test`` (where evaluated),
each mapping HR@1 HR@5 NDCG@5 HR@10 NDCG@10 MRR to numbers, and writes the full results JSON (metrics,
history, config, seed, commit, device, torch version, wall time) under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .config import PRESETS, parse_overrides, preset
from .errors import S3RecError

COMMANDS = ("pretrain", "finetune", "evaluate", "reproduce")


def _common(p: argparse.ArgumentParser, checkpoint: str | None = None) -> None:
    p.add_argument("--dataset", required=True, help="Beauty, Sports_and_Outdoors, Toys_and_Games, Yelp, LastFM or synthetic")
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS), help="settings preset (default: paper)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the preset's, 42)")
    p.add_argument("--out", default=None, help="output folder (default: runs/<command>-<dataset>-<preset>-seed<S>)")
    p.add_argument("--data-dir", default=None, help="folder with the dataset files (else $S3REC_DATA_DIR, the cache, download)")
    p.add_argument("--no-download", action="store_true", help="never download; fail if the data are not local")
    p.add_argument("--max-users", type=int, default=None, help="use only the first N users")
    p.add_argument("--variant", choices=("official", "paper"), default=None, help="objective variant (default: official)")
    p.add_argument("--no-fast", action="store_true", help="the plain reference path (no fused/compiled kernels)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set mask_ratio=0.3 --set loss_weights.sp=0")
    p.add_argument("--model", default=None, help="model name (default: S3-Rec; SASRec = no pre-training; see zoo)")
    if checkpoint == "optional":
        p.add_argument("--checkpoint", default=None, help="start from this checkpoint (ours or the authors' .pt)")
    elif checkpoint == "required":
        p.add_argument("--checkpoint", required=True, help="checkpoint to evaluate (ours or the authors' .pt)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m s3rec_lite", description="S3-Rec: pre-train, fine-tune, evaluate.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pretrain", help="self-supervised pre-training (AAP, MIP, MAP, SP)")
    _common(p)
    p.add_argument("--epochs", type=int, default=None, help="pre-training epochs (default: the preset's)")
    p.add_argument("--save-every", type=int, default=0, help="also keep a checkpoint every N epochs")
    p = sub.add_parser("finetune", help="fine-tune for next-item prediction (from a checkpoint, or from scratch = SASRec)")
    _common(p, "optional")
    p.add_argument("--epochs", type=int, default=None, help="maximum fine-tuning epochs (early stopping applies)")
    p.add_argument("--full-ranking", action="store_true",
                   help="early-stop on full-ranking validation NDCG@20, as the authors' full-ranking script")
    p = sub.add_parser("evaluate", help="evaluate a checkpoint on the validation and test sets")
    _common(p, "required")
    p.add_argument("--full-ranking", action="store_true", help="also rank against all items")
    p = sub.add_parser("reproduce", help="pre-train, fine-tune, test")
    _common(p)
    p.add_argument("--pretrain-epochs", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None, help="maximum fine-tuning epochs")
    p = sub.add_parser("download", help="download datasets into the cache, checking checksums")
    p.add_argument("datasets", nargs="*", help="names (default: all five)")
    p.add_argument("--checkpoints", action="store_true", help="also the authors' released checkpoints")
    p = sub.add_parser("info", help="dataset statistics")
    p.add_argument("--dataset", required=True)
    p.add_argument("--data-dir", default=None)
    return parser


def make_config(args):
    overrides = {}
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.max_users is not None:
        overrides["max_users"] = args.max_users
    if args.variant:
        overrides["objective_variant"] = args.variant
    if args.no_fast:
        overrides["fast"] = False
    if getattr(args, "full_ranking", False) and args.command == "finetune":
        overrides["early_stopping"] = "full NDCG@20"
    overrides["device"] = args.device
    overrides["progress"] = not args.quiet
    sets = parse_overrides(args.set)
    if "loss_weights" in sets:
        overrides["loss_weights"] = sets.pop("loss_weights")
    return preset(args.preset, **{**overrides, **sets})


def _out_dir(args, cfg) -> Path:
    if args.out:
        return Path(args.out)
    return Path("runs") / f"{args.command}-{args.dataset}-{args.preset}-seed{cfg.seed}"


def run(args) -> dict:
    import torch

    from .pipeline import prepare_dataset, run_model
    from .provenance import write_json_atomic

    if args.threads is not None:
        if args.threads < 1:
            raise S3RecError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    cfg = make_config(args)
    out = _out_dir(args, cfg)
    model = args.model or ("SASRec" if args.command == "finetune" else "S3-Rec")
    checkpoint = getattr(args, "checkpoint", None)
    if args.command == "evaluate" and getattr(args, "model", None) is None:
        model = "S3-Rec"
    ds = prepare_dataset(args.dataset, cfg, args.data_dir, allow_download=not args.no_download)
    stage = {"pretrain": "pretrain", "finetune": "finetune", "evaluate": "evaluate", "reproduce": "train"}[args.command]
    epochs = getattr(args, "epochs", None)
    result = run_model(model, cfg, ds, out, stage=stage, checkpoint=checkpoint,
                       pretrain_epochs=epochs if stage == "pretrain" else getattr(args, "pretrain_epochs", None),
                       finetune_epochs=epochs if stage != "pretrain" else None,
                       save_every=getattr(args, "save_every", 0),
                       full_ranking_test=stage != "evaluate" or args.full_ranking)
    result = {"command": args.command, "dataset": args.dataset, "preset": args.preset, **result}
    if stage == "pretrain":
        result["checkpoint"] = {"path": str(out / "pretrained.pt")}
    result["provenance"]["command"] = " ".join(["python -m s3rec_lite", *sys.argv[1:]])
    write_json_atomic(result, out / "results.json")
    return result


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("experiment", "assignments"):  # sub-commands with their own parsers
        if argv[0] == "experiment":
            from .experiments import main as sub_main
        else:
            from .book.grader import main as sub_main
        try:
            return sub_main(argv[1:])
        except S3RecError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    try:
        if args.command == "download":
            from .data import DATASETS, REGISTRY, download, locate

            for name in args.datasets or DATASETS:
                if name not in REGISTRY:
                    raise S3RecError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
                for kind in ("seq", "attr", "sample") + (("checkpoint",) if args.checkpoints else ()):
                    path = locate(name, kind, allow_download=False) or download(REGISTRY[name][kind])
                    print(f"{name} {kind}: {path}")
            return 0
        if args.command == "info":
            from .data import load_dataset

            ds = load_dataset(args.dataset, args.data_dir)
            print(json.dumps({**ds.stats(), "negatives": ds.negatives_source}))
            return 0
        result = run(args)
    except S3RecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again (same --out) to resume", file=sys.stderr)
        return 130
    summary = {k: result[k] for k in ("valid", "test") if k in result}
    if args.command == "pretrain":
        history = result["pretrain_history"]
        summary.update(pretrain_loss=history[-1]["loss"] if history else None, checkpoint=result["checkpoint"]["path"])
    print(json.dumps(summary))
    return 0
