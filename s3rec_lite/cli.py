"""Command line: ``python -m s3rec_lite {pretrain,finetune,evaluate,reproduce,download,info} ...``

Every command prints, as its last line, one JSON object with ``valid`` and ``test`` (where evaluated),
each mapping HR@1 HR@5 NDCG@5 HR@10 NDCG@10 MRR to numbers, and writes the full results JSON (metrics,
history, config, seed, commit, device, torch version, wall time) under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .config import PRESETS, parse_overrides, preset
from .errors import ConfigError, S3RecError, guarded

COMMANDS = ("pretrain", "finetune", "evaluate", "reproduce")


def _common(p: argparse.ArgumentParser, checkpoint: str | None = None) -> None:
    p.add_argument("--dataset", required=True, help="Beauty, Sports_and_Outdoors, Toys_and_Games, Yelp, LastFM or synthetic")
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS),
                   help="settings preset (default: paper: 100 pre-training epochs, hours on a CPU; tiny: a minute)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the preset's, 42)")
    p.add_argument("--out", default=None, help="output folder (default: runs/<command>-<dataset>-<preset>-seed<S>)")
    p.add_argument("--data-dir", default=None, help="folder with the dataset files (else $S3REC_DATA_DIR, the cache, download)")
    p.add_argument("--no-download", action="store_true", help="never download; fail if the data are not local")
    p.add_argument("--max-users", type=int, default=None, help="use only the first N users")
    p.add_argument("--variant", choices=("official", "paper"), default=None, help="objective variant (default: official)")
    p.add_argument("--reference", "--no-fast", dest="no_fast", action="store_true",
                   help="the plain reference path the golden test pins (default: the fastest checked path here)")
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
    # parsed by their own modules (main() hands them over); listed here so that --help shows them
    sub.add_parser("experiment", add_help=False,
                   help="run one of the paper's experiments into the results store (experiment --help)")
    sub.add_parser("assignments", add_help=False,
                   help="release or grade the course assignments (assignments --help)")
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
    else:  # the fastest checked path on this machine; any --set of a speed flag still wins
        from .fast import fastest_flags

        speed, args.speed_line = fastest_flags(args.device)  # said once the whole config is valid (run())
        overrides.update(speed)
    if getattr(args, "full_ranking", False) and args.command == "finetune":
        overrides["early_stopping"] = "full NDCG@20"
    overrides["device"] = args.device
    overrides["progress"] = not args.quiet
    sets = parse_overrides(args.set)
    for packed, bf16 in (("packed_pretraining", "bf16_pretraining"), ("packed_finetuning", "bf16_finetuning")):
        if sets.get(packed) is False and bf16 not in sets:  # the automatic bf16 needs the packed path asked off
            overrides.pop(bf16, None)
    if "loss_weights" in sets:
        overrides["loss_weights"] = sets.pop("loss_weights")
    return preset(args.preset, **{**overrides, **sets})


def _out_dir(args, cfg) -> Path:
    if args.out:
        return Path(args.out)
    return Path("runs") / f"{args.command}-{args.dataset}-{args.preset}-seed{cfg.seed}"


def _epochs(args) -> dict:
    """``--epochs`` / ``--pretrain-epochs`` as config fields (so that the stored config says them); at least 1."""
    fields = {}
    for flag, value, name in (("--epochs", getattr(args, "epochs", None),
                               "pretrain_epochs" if args.command == "pretrain" else "finetune_epochs"),
                              ("--pretrain-epochs", getattr(args, "pretrain_epochs", None), "pretrain_epochs")):
        if value is not None:
            if value < 1:
                raise ConfigError(f"{flag} must be at least 1, got {value}")
            fields[name] = value
    if getattr(args, "save_every", 0) < 0:
        raise ConfigError(f"--save-every must be at least 0, got {args.save_every}")
    return fields


def _claim_out(out: Path, args, model: str):
    """Make ``out`` this run's own before any work: a folder we can write, not used by a running run (a lock,
    held until this process ends), and not holding another command's, model's or dataset's results. Returns the
    open lock file (keep it)."""
    import fcntl

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = open(out / ".lock", "a+")
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write there ({exc.strerror})") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        raise ConfigError(f"--out {out}: in use by a run still going ({holder}); wait for it, or use another --out") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}: python -m s3rec_lite {' '.join(sys.argv[1:])}\n")
    lock.flush()
    try:
        previous = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):  # none yet, or a truncated one: it is written again at the end
        previous = None
    if previous is not None:
        mine = {"command": args.command, "model": model, "dataset": args.dataset}
        theirs = {k: previous.get(k) for k in mine}
        if theirs != mine:
            raise ConfigError(f"--out {out}: holds the results of `{theirs['command']}` ({theirs['model']} on "
                              f"{theirs['dataset']}), not of `{args.command}` ({model} on {args.dataset}); use another "
                              f"--out, or delete {out / 'results.json'} to replace them")
    return lock


def run(args) -> dict:
    import torch

    from .pipeline import prepare_dataset, run_model
    from .provenance import write_json_atomic

    if args.threads is not None:
        if args.threads < 1:
            raise S3RecError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    cfg = make_config(args)
    cfg = cfg.replace(**_epochs(args))
    out = _out_dir(args, cfg)
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise ConfigError(f"--checkpoint {checkpoint}: no such file")
    from .checkpoint import read_checkpoint
    from .pipeline import check_run
    from .zoo import get_model_spec

    default = ((read_checkpoint(checkpoint)[1].get("model_name") or "S3-Rec") if checkpoint else
               "SASRec" if args.command == "finetune" else "S3-Rec")  # the checkpoint's model, if one is given
    model = get_model_spec(args.model or default).name  # an unknown name: one clear line
    stage = {"pretrain": "pretrain", "finetune": "finetune", "evaluate": "evaluate", "reproduce": "train"}[args.command]
    check_run(model, stage, checkpoint)  # before any work
    if stage == "finetune" and model == "S3-Rec" and checkpoint is None:  # (the runner's "0 epochs" runs are named so)
        raise ConfigError("S3-Rec fine-tuned without a pre-trained checkpoint is SASRec: give --checkpoint "
                          "(ours or the authors'), or --model SASRec")
    lock = _claim_out(out, args, model)  # noqa: F841 (held while this process runs)
    ds = prepare_dataset(args.dataset, cfg, args.data_dir, allow_download=not args.no_download)
    if not args.quiet and getattr(args, "speed_line", None):  # once the input is known to be good
        print(args.speed_line, file=sys.stderr)
    result = run_model(model, cfg, ds, out, stage=stage, checkpoint=checkpoint,
                       save_every=getattr(args, "save_every", 0),
                       full_ranking_test=stage != "evaluate" or args.full_ranking)
    result = {"command": args.command, "dataset": args.dataset, "preset": args.preset, **result}
    if stage == "pretrain":
        result["checkpoint"] = {"path": str(out / "pretrained.pt")}
    result["provenance"]["command"] = " ".join(["python -m s3rec_lite", *sys.argv[1:]])
    write_json_atomic(result, out / "results.json")
    if not args.quiet:
        print(f"results: {out / 'results.json'}", file=sys.stderr)
    return result


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("experiment", "assignments"):  # sub-commands with their own parsers
        if argv[0] == "experiment":
            from .experiments import main as sub_main
        else:
            from .book.grader import main as sub_main
        return guarded(lambda: sub_main(argv[1:]))
    args = build_parser().parse_args(argv)
    return guarded(lambda: _command(args))


def _command(args) -> int:
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
    summary = {k: result[k] for k in ("valid", "test") if k in result}
    if args.command == "pretrain":
        history = result["pretrain_history"]
        summary.update(pretrain_loss=history[-1]["loss"] if history else None, checkpoint=result["checkpoint"]["path"])
    print(json.dumps(summary))
    return 0
