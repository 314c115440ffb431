"""Speed benchmark: pre-training samples/s and epoch time, fine-tuning epoch time, against the authors' code.

    python benchmarks/speed.py                          # CPU (and CUDA when present), LastFM and Beauty
    python benchmarks/speed.py --device cuda --datasets Beauty --write   # append the table to RESULTS.md

A script, not a timed test: run it on a quiet machine. Pre-training is timed over ``--steps`` batches after a
warm-up (batch building included: it runs on the training device) and extrapolated to one epoch; with
``--full-epoch`` a whole epoch is timed. Fine-tuning is timed over one whole epoch plus one validation pass.
The authors' figures come from ../shared/REFERENCE.md (measured on their code, same model size and batch).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from s3rec_lite import load_dataset, preset, seed_everything  # noqa: E402
from s3rec_lite.batches import PretrainCorpus  # noqa: E402
from s3rec_lite.fast import adam, compiled  # noqa: E402
from s3rec_lite.provenance import device_name, git_commit  # noqa: E402
from s3rec_lite.train import active_objectives, build_model, evaluate, finetune, pretrain_loss, pretrain_step  # noqa: E402

# The authors' code (REFERENCE.md, "Speed of the authors' code"): seconds per pre-training epoch
# (batch 100) and per fine-tuning epoch (train + validation), by device kind and dataset.
AUTHORS = {
    # quiet-machine figures (REFERENCE.md; the first ones, 313 s and 3,750 s, were taken on shared cores).
    # Prefer benchmarks/side_by_side.py, which times their code beside ours in one run.
    ("cpu", "LastFM"): {"pretrain_epoch_s": 147.0, "finetune_epoch_s": 2.1 + 0.6},  # 141-153 s: middle
    ("cpu", "Beauty"): {"pretrain_epoch_s": 981.0, "finetune_epoch_s": 106.0 + 13.0},  # fine-tuning: not re-measured
    ("cuda", "Beauty"): {"pretrain_epoch_s": 520.0, "finetune_epoch_s": 2.3 + 2.6},  # 470-570 s: middle
}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_pretrain(ds, cfg, device, steps: int, warmup: int, full_epoch: bool) -> dict:
    seed_everything(0)
    model = build_model(cfg, ds, device).train()
    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items, device)
    attr = torch.as_tensor(ds.attribute_matrix(), device=device).float()
    opt = adam(model, cfg.pretrain_lr, cfg, device)
    weights = active_objectives(cfg)
    B = cfg.pretrain_batch_size
    n_batches = math.ceil(len(corpus) / B)
    order = torch.randperm(len(corpus), device=device)
    loss_fn = compiled(pretrain_loss, cfg, device)  # compile_step (--compile): compiled in the warm-up
    n_full = len(corpus) // B  # full batches only (one shape to compile)

    def step(i):
        j = i % n_full
        pretrain_step(model, corpus, order[j * B:(j + 1) * B], cfg, attr, opt, weights, loss_fn)

    for i in range(warmup):
        step(i)
    _sync(device)
    todo = n_batches if full_epoch else min(steps, n_batches)
    t0 = time.perf_counter()
    for i in range(todo):
        step(warmup + i)
    _sync(device)
    per_step = (time.perf_counter() - t0) / todo
    return {"prefixes": len(corpus), "batch": B, "step_ms": 1000 * per_step,
            "samples_per_s": B / per_step, "epoch_s": per_step * n_batches, "timed_steps": todo}


def bench_finetune(ds, cfg, device) -> dict:
    seed_everything(0)
    model = build_model(cfg, ds, device)
    split = ds.split(cfg.max_len)
    evaluate(model, split, "valid", batch_size=cfg.eval_batch_size)  # warm-up
    res = finetune(model, ds, cfg, epochs=1, split=split)
    row = res["history"][0]
    return {"train_s": row["train_seconds"], "valid_s": row["seconds"] - row["train_seconds"], "epoch_s": row["seconds"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["LastFM", "Beauty"])
    ap.add_argument("--device", nargs="+", default=None, help="cpu and/or cuda (default: cpu, plus cuda if present)")
    ap.add_argument("--batch", type=int, default=100, help="pre-training batch (the authors' default is 100)")
    ap.add_argument("--steps", type=int, default=30, help="timed pre-training batches")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--full-epoch", action="store_true", help="time a whole pre-training epoch")
    ap.add_argument("--no-fast", action="store_true", help="the plain reference path")
    ap.add_argument("--compile", action="store_true", help="the opt-in flag compile_step (torch.compile; a GPU)")
    ap.add_argument("--packed", action="store_true", help="the opt-in flags packed_pretraining, packed_finetuning (CPU)")
    ap.add_argument("--bf16", action="store_true", help="also bf16_pretraining (with --packed; CPUs with bf16 units)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--pretrain-only", action="store_true",
                    help="time pre-training only (for many copies at once on one GPU: their throughput)")
    ap.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.bf16 and not args.packed:
        ap.error("--bf16 works inside the packed encoder: add --packed")
    cfg = preset("paper", progress=False, pretrain_batch_size=args.batch, fast=not args.no_fast,
                 compile_step=args.compile, packed_pretraining=args.packed, packed_finetuning=args.packed,
                 bf16_pretraining=args.bf16)
    path = ("plain" if args.no_fast else "fast") + (" + compile" if args.compile else "") + \
        (" + packed" if args.packed else "") + (" + bf16" if args.bf16 else "")
    rows = []
    for dev_name in devices:
        device = torch.device(dev_name)
        for name in args.datasets:
            ds = load_dataset(name, progress=False)
            pre = bench_pretrain(ds, cfg.replace(device=dev_name), device, args.steps, args.warmup, args.full_epoch)
            nan = float("nan")
            ft = ({"train_s": nan, "valid_s": nan, "epoch_s": nan} if args.pretrain_only
                  else bench_finetune(ds, cfg.replace(device=dev_name), device))
            ref = AUTHORS.get((device.type, name), {})
            rows.append({
                "device": device_name(device), "dataset": name, **{f"pre_{k}": v for k, v in pre.items()},
                **{f"ft_{k}": v for k, v in ft.items()},
                "x_pre": ref.get("pretrain_epoch_s", float("nan")) / pre["epoch_s"],
                "x_ft": ref.get("finetune_epoch_s", float("nan")) / ft["epoch_s"],
            })
            print(f"done: {dev_name} {name}", file=sys.stderr)
    header = ("| device | dataset | path | pre-train batch | ms/step | samples/s | s/epoch (prefixes) | vs authors | "
              "fine-tune train + valid (s) | vs authors |")
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for r in rows:
        fmt = lambda x: "n/a" if x != x else f"{x:.1f}x"  # noqa: E731
        lines.append(
            f"| {r['device']} | {r['dataset']} | {path} | {r['pre_batch']} | "
            f"{r['pre_step_ms']:.0f} | {r['pre_samples_per_s']:.0f} | {r['pre_epoch_s']:.1f} ({r['pre_prefixes']}) | "
            f"{fmt(r['x_pre'])} | {r['ft_train_s']:.1f} + {r['ft_valid_s']:.1f} | {fmt(r['x_ft'])} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        import datetime as dt

        cmd = "python benchmarks/speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        with open(Path(__file__).with_name("RESULTS.md"), "a") as fh:
            fh.write(f"\n### {stamp}, commit {git_commit()[:12]}, torch {torch.__version__}\n\n`{cmd}`"
                     f"{' (timed over ' + str(args.steps) + ' steps)' if not args.full_epoch else ''}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
