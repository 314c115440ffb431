"""Packed fine-tuning steps with the plain and the fused Adam, side by side, and where a step's time goes.

    python benchmarks/finetune_step.py --dataset Beauty --threads 1 --steps 30 --repeats 3 [--profile]
    python benchmarks/finetune_step.py --dataset Beauty --threads 1 --steps 30 --repeats 3 --compile
    python benchmarks/finetune_step.py --dataset Beauty --threads 1 --steps 10 --repeats 3 --fdsa

Builds the official preset's S3-Rec on the dataset (from its initialisation), then times ``--steps`` fine-tuning
steps of batch 256 (the loop of ``s3rec_lite.train.finetune``: ``packed_finetuning`` on) with ``fused_adam_cpu``
off and on, alternating, ``--repeats`` times, each from the same initialisation and batches; prints ms per step and
the largest difference between the two runs' losses. ``--profile``: also the operators by self time of one run.
``--compile``: instead, the step's loss eager against ``torch.compile`` (default mode, ``dynamic=True``: a packed
batch's row count changes every step), both with the fused Adam; the compiled run's first ``--warmup`` steps
(compilation and recompilations) are timed apart. Compiled code draws its dropout from another random stream,
so its losses are a sanity check (same scale), not an equality test. ``--fdsa``: instead, FDSA's steps padded
against ``packed_fdsa`` (fused Adam on both), alternating, and one validation pass each.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from s3rec_lite.batches import sample_excluding  # noqa: E402
from s3rec_lite.config import preset  # noqa: E402
from s3rec_lite.fast import adam, next_item_loss  # noqa: E402
from s3rec_lite.pipeline import prepare_dataset  # noqa: E402
from s3rec_lite.train import evaluate  # noqa: E402
from s3rec_lite.zoo import build_model  # noqa: E402


def run_steps(ds, split, cfg, fused: bool, steps: int, batch: int = 256, loss_fn=None,
              warmup: int = 0, model_name: str = "S3-Rec", packed: bool = True, validate: bool = False):
    """ms per step and the losses of ``steps`` packed fine-tuning steps from a fixed initialisation (after
    ``warmup`` untimed steps; ``loss_fn``: ``next_item_loss`` or a compiled version of it)."""
    loss_fn = loss_fn or next_item_loss
    train_x, train_y = torch.as_tensor(split.train_inputs), torch.as_tensor(split.train_targets)  # [U, L]
    user_items = torch.as_tensor(split.user_items)[torch.as_tensor(split.train_users)]
    torch.manual_seed(0)
    model = build_model(model_name, cfg, ds)
    opt = adam(model, cfg.finetune_lr, cfg.replace(fused_adam_cpu=fused), torch.device("cpu"))
    order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))
    model.train()
    losses, t0 = [], time.perf_counter()
    n_batches = max(len(train_x) // batch, 1)
    for step in range(warmup + steps):
        if step == warmup:
            losses, t0 = [], time.perf_counter()
        lo = (step % n_batches) * batch  # whole batches, cycling through the epoch
        idx = order[lo:lo + batch]
        x, y = train_x[idx], train_y[idx]  # [b, L]
        neg = sample_excluding(user_items[idx], ds.mask_id, (x.shape[1],))  # [b, L]
        loss = loss_fn(model, x, y, neg, cfg.objective_variant, packed=packed)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    ms = (time.perf_counter() - t0) / steps * 1e3
    if validate:  # one validation pass (22,363 users on Beauty), seconds
        t1 = time.perf_counter()
        evaluate(model, split, "valid", batch_size=cfg.eval_batch_size, packed=packed)
        return ms, losses, time.perf_counter() - t1
    return ms, losses


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="Beauty")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--compile", action="store_true", help="eager against torch.compile instead of the two Adams")
    p.add_argument("--warmup", type=int, default=10, help="untimed compiled steps first (with --compile)")
    p.add_argument("--fdsa", action="store_true", help="FDSA padded against packed_fdsa instead of the two Adams")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = preset("official", packed_finetuning=True, progress=False)
    ds = prepare_dataset(args.dataset, cfg)
    split = ds.split(cfg.max_len)
    if args.compile:
        return compare_compiled(ds, split, cfg, args)
    if args.fdsa:
        return compare_fdsa(ds, split, cfg, args)
    run_steps(ds, split, cfg, False, 3)  # warm-up
    times: dict[bool, list[float]] = {False: [], True: []}
    losses = {}
    for _ in range(args.repeats):
        for fused in (False, True):
            ms, losses[fused] = run_steps(ds, split, cfg, fused, args.steps)
            times[fused].append(ms)
    print(f"{args.dataset}, {args.threads} thread(s), {args.steps} packed fine-tuning steps of batch 256:")
    for fused in (False, True):
        print(f"  fused_adam_cpu={str(fused).lower():5}  ms/step: {' / '.join(f'{t:.1f}' for t in times[fused])}")
    diff = max(abs(a - b) for a, b in zip(losses[False], losses[True]))
    print(f"  largest |loss difference| over {args.steps} steps: {diff:.2e}")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run_steps(ds, split, cfg, False, args.steps)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    return 0


def compare_fdsa(ds, split, cfg, args) -> int:
    """FDSA padded against ``packed_fdsa``, alternating, ``--repeats`` times, fused Adam on both: ms per step, one
    validation pass each, and the largest loss difference (the same batches and dropout draws)."""
    times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    losses = {}
    run_steps(ds, split, cfg, True, 2, model_name="FDSA", packed=True)  # warm-up
    for _ in range(args.repeats):
        for packed in (False, True):
            ms, losses[packed], valid_s = run_steps(ds, split, cfg, True, args.steps, model_name="FDSA",
                                                    packed=packed, validate=True)
            times[packed].append((ms, valid_s))
    print(f"{args.dataset}, {args.threads} thread(s), FDSA, {args.steps} fine-tuning steps of batch 256 + one validation "
          f"pass, fused Adam; torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}:")
    for packed, name in ((False, "padded"), (True, "packed_fdsa")):
        print(f"  {name:11}  ms/step: {' / '.join(f'{t:.0f}' for t, _ in times[packed])};  validation s: "
              f"{' / '.join(f'{v:.1f}' for _, v in times[packed])}")
    diff = max(abs(a - b) for a, b in zip(losses[False], losses[True]))
    print(f"  largest |loss difference| over {args.steps} steps: {diff:.2e}")
    return 0


def compare_compiled(ds, split, cfg, args) -> int:
    """Eager against ``torch.compile`` of the step's loss, alternating, ``--repeats`` times (fused Adam on both)."""
    compiled = torch.compile(next_item_loss, dynamic=True)
    t0 = time.perf_counter()
    run_steps(ds, split, cfg, True, 1, loss_fn=compiled, warmup=args.warmup)  # compiles (and recompiles) here
    compile_s = time.perf_counter() - t0
    run_steps(ds, split, cfg, True, 3)  # eager warm-up
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    losses = {}
    for _ in range(args.repeats):
        for name, fn in (("eager", None), ("compiled", compiled)):
            ms, losses[name] = run_steps(ds, split, cfg, True, args.steps, loss_fn=fn, warmup=args.warmup)
            times[name].append(ms)
    print(f"{args.dataset}, {args.threads} thread(s), {args.steps} packed fine-tuning steps of batch 256 after "
          f"{args.warmup} untimed, fused Adam; torch {torch.__version__}, capability "
          f"{torch.backends.cpu.get_cpu_capability()}:")
    print(f"  first compiled run ({args.warmup + 1} steps, compilation included): {compile_s:.1f} s")
    for name, ts in times.items():
        print(f"  {name:9} ms/step: {' / '.join(f'{t:.1f}' for t in ts)}")
    mean = {k: sum(v) / len(v) for k, v in losses.items()}
    print(f"  mean loss over the timed steps: eager {mean['eager']:.4f}, compiled {mean['compiled']:.4f} "
          "(other dropout draws: same scale expected, not equality)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
