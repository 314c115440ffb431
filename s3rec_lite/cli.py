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

from .config import PRESETS, preset
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


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


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
    overrides["device"] = args.device
    overrides["progress"] = not args.quiet
    for item in args.set:
        if "=" not in item:
            raise S3RecError(f"--set {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        if key.startswith("loss_weights."):
            overrides.setdefault("loss_weights", {})[key.split(".", 1)[1]] = float(value)
        else:
            overrides[key] = _parse_value(value)
    return preset(args.preset, **overrides)


def _out_dir(args, cfg) -> Path:
    if args.out:
        return Path(args.out)
    return Path("runs") / f"{args.command}-{args.dataset}-{args.preset}-seed{cfg.seed}"


def run(args) -> dict:
    import torch

    from .checkpoint import load_model
    from .data import prepare_dataset
    from .provenance import provenance, write_json_atomic
    from .train import build_model, evaluate, finetune, pretrain, resolve_device, seed_everything

    t0 = time.time()
    cfg = make_config(args)
    out = _out_dir(args, cfg)
    device = resolve_device(cfg.device)
    ds = prepare_dataset(args.dataset, cfg, args.data_dir, allow_download=not args.no_download)
    result: dict = {"command": args.command, "dataset": args.dataset, "preset": args.preset}
    split = ds.split(cfg.max_len)

    from .zoo import get_model_spec

    spec = get_model_spec(args.model or ("SASRec" if args.command == "finetune" else "S3-Rec"))
    result["model"] = spec.name

    def fresh_model():
        seed_everything(cfg.seed)
        return spec.build(cfg, ds).to(device)

    def from_checkpoint(path):
        model, info = load_model(path, cfg, ds.item_vocab_size, ds.attribute_vocab_size, dataset=ds)
        result["checkpoint"] = {"path": str(path), **{k: v for k, v in info.items() if k != "meta"}}
        return model.to(device)

    if args.command == "pretrain":
        model = fresh_model()
        result["pretrain_history"] = pretrain(model, ds, cfg, out, args.epochs, save_every=args.save_every)
        result["checkpoint"] = {"path": str(out / "pretrained.pt")}
    elif args.command == "finetune":
        model = from_checkpoint(args.checkpoint) if args.checkpoint else fresh_model()
        result.update(finetune(model, ds, cfg, out, args.epochs, split=split))
    elif args.command == "evaluate":
        model = from_checkpoint(args.checkpoint)
        result["valid"] = evaluate(model, split, "valid", batch_size=cfg.eval_batch_size)
        result["test"] = evaluate(model, split, "test", batch_size=cfg.eval_batch_size)
        if args.full_ranking:
            result["test_full_ranking"] = evaluate(model, split, "test", True, cfg.eval_batch_size)
    elif args.command == "reproduce":
        model = fresh_model()
        if spec.pretrain:
            result["pretrain_history"] = pretrain(model, ds, cfg, out / "pretrain", args.pretrain_epochs)
        result.update(finetune(model, ds, cfg, out / "finetune", args.epochs, split=split))
    result.update(
        config=cfg.to_dict(), seed=cfg.seed, negatives=ds.negatives_source, data_files=ds.files,
        wall_seconds=round(time.time() - t0, 2), provenance=provenance(device, ["python -m s3rec_lite", *sys.argv[1:]]),
    )
    result["torch"] = torch.__version__
    write_json_atomic(result, out / "results.json")
    return result


# Sub-commands implemented in their own modules: each has ``main(argv) -> int``.
DELEGATED = {"experiment": "s3rec_lite.experiments", "assignments": "s3rec_lite.assignments"}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        try:
            return importlib.import_module(DELEGATED[argv[0]]).main(argv[1:])
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
