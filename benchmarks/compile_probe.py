"""Does ``torch.compile`` speed up a pre-training step? Eager against compiled, in one process.

    python benchmarks/compile_probe.py --device cuda --dataset Beauty --modes default reduce-overhead
    python benchmarks/compile_probe.py --device cpu --dataset LastFM --modes default --steps 20

It compiles the package's loss of one pre-training step (``train.pretrain_loss``: batch building, the encoder's
views, the four objectives and their weighted sum) with any ``torch.compile`` mode, where the flag
``compile_step`` always uses ``reduce-overhead`` on a GPU; Adam stays eager (fused on a GPU). It times
``--steps`` full batches of the paper's size after ``--warmup`` (compilation included in the warm-up,
reported apart). ``reduce-overhead`` adds CUDA graphs on a GPU. The random draws of compiled code
come from another generator than eager's, so the two runs see other batches: the mean losses printed beside
the times are a sanity check (same scale), not an equality test.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from s3rec_lite import load_dataset, preset, seed_everything  # noqa: E402
from s3rec_lite.batches import PretrainCorpus  # noqa: E402
from s3rec_lite.fast import adam  # noqa: E402
from s3rec_lite.provenance import device_name  # noqa: E402
from s3rec_lite.train import active_objectives, build_model, pretrain_loss  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def probe(ds, cfg, device, mode: str | None, steps: int, warmup: int) -> dict:
    seed_everything(0)
    run_cfg = cfg.replace(compile_step=mode is not None)  # compiled: dense selection, as the package's flag does
    model = build_model(cfg, ds, device).train()
    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items, device)
    attr = torch.as_tensor(ds.attribute_matrix(), device=device).float()  # [V, A]
    opt = adam(model, cfg.pretrain_lr, cfg, device)
    weights = active_objectives(cfg)
    B = cfg.pretrain_batch_size
    n_full = len(corpus) // B  # full batches only: one shape, one compilation
    order = torch.randperm(len(corpus), device=device)

    def loss_of(idx):  # [B] prefix ids -> scalar: the package's step loss (compile_step selects densely)
        return pretrain_loss(model, corpus, idx, run_cfg, attr, weights)[0]

    fn = loss_of if mode is None else torch.compile(loss_of, mode=None if mode == "default" else mode, dynamic=False)

    def step(i):
        j = i % n_full
        loss = fn(order[j * B:(j + 1) * B])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach().clone()

    t0 = time.perf_counter()
    for i in range(warmup):
        step(i)
    _sync(device)
    warm_s = time.perf_counter() - t0
    total = torch.zeros((), device=device)
    t0 = time.perf_counter()
    for i in range(steps):
        total += step(warmup + i)
    _sync(device)
    per_step = (time.perf_counter() - t0) / steps
    return {"mode": mode or "eager", "step_ms": 1000 * per_step, "samples_per_s": B / per_step,
            "epoch_s": per_step * math.ceil(len(corpus) / B), "warmup_s": warm_s,
            "mean_loss": float(total) / steps, "steps": steps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="Beauty")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--modes", nargs="+", default=["default", "reduce-overhead"],
                    help="torch.compile modes to time after eager (default, reduce-overhead, max-autotune, ...)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    cfg = preset("paper", progress=False, pretrain_batch_size=args.batch, device=args.device)
    ds = load_dataset(args.dataset, progress=False)
    rows = [probe(ds, cfg, device, None, args.steps, args.warmup)]
    print(json.dumps(rows[-1]), flush=True)
    for mode in args.modes:
        try:
            rows.append(probe(ds, cfg, device, mode, args.steps, args.warmup))
        except Exception as e:  # a probe: report and go on to the next mode
            rows.append({"mode": mode, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{device_name(device)}, {args.dataset}, batch {args.batch}, torch {torch.__version__}\n")
    print("| path | ms/step | samples/s | s/epoch | first steps incl. compile (s) | mean loss |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| compile {r['mode']} | failed: {r['error']} | | | | |")
        else:
            name = "eager" if r["mode"] == "eager" else f"compile {r['mode']}"
            print(f"| {name} | {r['step_ms']:.2f} | {r['samples_per_s']:.0f} | {r['epoch_s']:.1f} | "
                  f"{r['warmup_s']:.1f} | {r['mean_loss']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
