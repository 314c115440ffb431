"""Where the time of one pre-training step goes: ``torch.profiler`` around a few steps of ours, after a warm-up.

    python benchmarks/profile_step.py --dataset LastFM --threads 1 --packed --bf16

Prints the step time and the operators by self time (ms per step), the table that benchmarks/RESULTS.md
summarises. The step is the one ``side_by_side.py`` times (batch 100, the official preset).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from side_by_side import OurStep  # noqa: E402

from s3rec_lite import load_dataset, preset  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="LastFM")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--packed", action="store_true", help="packed_pretraining (and packed_finetuning)")
    p.add_argument("--bf16", action="store_true", help="bf16_pretraining (needs --packed)")
    p.add_argument("--no-fast", action="store_true", help="the plain reference path")
    p.add_argument("--warmup", type=int, default=80, help="steps first (the bf16 path builds kernels per shape)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rows", type=int, default=25, help="operators shown")
    args = p.parse_args(argv)
    if args.bf16 and not args.packed:
        p.error("--bf16 works inside the packed encoder: add --packed")
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = preset("official", progress=False, device="cpu", fast=not args.no_fast, packed_pretraining=args.packed,
                 packed_finetuning=args.packed, bf16_pretraining=args.bf16)
    step = OurStep(load_dataset(args.dataset, progress=False), cfg)
    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    print(f"{args.dataset}, {torch.get_num_threads()} thread(s): {1000 * (time.perf_counter() - t0) / args.steps:.1f} "
          f"ms/step (timed without the profiler, {args.steps} steps after {args.warmup})")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:args.rows]
    total = sum(e.self_cpu_time_total for e in prof.key_averages())
    print("| operator | ms per step | share | calls per step |\n|---|---|---|---|")
    for e in events:
        print(f"| {e.key} | {e.self_cpu_time_total / 1000 / args.steps:.2f} | {e.self_cpu_time_total / total:.1%} | "
              f"{e.count / args.steps:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
