"""A whole packed fine-tuning epoch and a validation pass, and two knobs that leave the function unchanged.

    python benchmarks/finetune_epoch.py --dataset Beauty --threads 1 --chunks 4 8 16 --eval-batch 256 1024 [--profile]

Builds the official preset's S3-Rec on the dataset (``packed_finetuning`` and ``fused_adam_cpu`` on, the campaign's
path), then times, alternating, one training epoch (the loop of ``s3rec_lite.train.finetune``, batch 256) with each
number of attention chunks (``s3rec_lite.fast.N_CHUNKS``: the batch sorted by length and cut into that many groups,
each attending within its own width), and one validation pass with each evaluation batch size. Neither knob changes
what is computed (the validation metrics are printed to show it). ``--profile``: the operators of one epoch and one
validation pass by self time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import s3rec_lite.fast as fast  # noqa: E402
from s3rec_lite.batches import sample_excluding  # noqa: E402
from s3rec_lite.config import preset  # noqa: E402
from s3rec_lite.pipeline import prepare_dataset  # noqa: E402
from s3rec_lite.train import evaluate  # noqa: E402
from s3rec_lite.zoo import build_model  # noqa: E402


def train_epoch(model, opt, ds, split, cfg, chunks: int) -> float:
    """Seconds for one packed fine-tuning epoch with ``chunks`` attention chunks."""
    train_x, train_y = torch.as_tensor(split.train_inputs), torch.as_tensor(split.train_targets)  # [U, L]
    user_items = torch.as_tensor(split.user_items)[torch.as_tensor(split.train_users)]
    fast.PackPlan.__init__.__defaults__ = (chunks, 1)  # n_chunks, width_multiple
    model.train()
    order = torch.randperm(len(train_x))
    t0 = time.perf_counter()
    for lo in range(0, len(train_x), cfg.finetune_batch_size):
        idx = order[lo:lo + cfg.finetune_batch_size]
        x, y = train_x[idx], train_y[idx]  # [b, L]
        neg = sample_excluding(user_items[idx], ds.mask_id, (x.shape[1],))  # [b, L]
        loss = fast.next_item_loss(model, x, y, neg, cfg.objective_variant, packed=True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    fast.PackPlan.__init__.__defaults__ = (fast.N_CHUNKS, 1)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="Beauty")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--chunks", type=int, nargs="+", default=[4, 8, 16])
    p.add_argument("--eval-batch", type=int, nargs="+", default=[256, 1024])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = preset("official", packed_finetuning=True, fused_adam_cpu=True, progress=False)
    ds = prepare_dataset(args.dataset, cfg)
    split = ds.split(cfg.max_len)
    torch.manual_seed(0)
    model = build_model("S3-Rec", cfg, ds)
    opt = fast.adam(model, cfg.finetune_lr, cfg, torch.device("cpu"))
    real = (torch.as_tensor(split.train_inputs) > 0).sum(1).float()
    print(f"{args.dataset}: {len(real)} users, {real.mean():.2f} real input tokens per user; {args.threads} thread(s)")
    train_epoch(model, opt, ds, split, cfg, fast.N_CHUNKS)  # warm-up
    for _ in range(args.repeats):
        for c in args.chunks:
            print(f"  training epoch, {c:2d} attention chunks: {train_epoch(model, opt, ds, split, cfg, c):.2f} s", flush=True)
        for b in args.eval_batch:
            t0 = time.perf_counter()
            m = evaluate(model, split, "valid", batch_size=b, packed=True)
            print(f"  validation pass, batch {b:4d}: {time.perf_counter() - t0:.2f} s (NDCG@10 {m['NDCG@10']:.6f})", flush=True)
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            train_epoch(model, opt, ds, split, cfg, fast.N_CHUNKS)
            evaluate(model, split, "valid", batch_size=cfg.eval_batch_size, packed=True)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
