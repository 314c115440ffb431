"""The authors' pre-training step and ours, timed side by side in one process (interleaved, after a warm-up).

    git clone https://github.com/RUCAIBox/CIKM2020-S3Rec /tmp/authors     # their code: run, never copied here
    python benchmarks/side_by_side.py --authors /tmp/authors --dataset LastFM --steps 20 --threads 2

Their step is their loop body: a batch from their ``PretrainDataset`` through ``DataLoader(num_workers=0)``,
``S3RecModel.pretrain``, the weighted sum, backward and Adam, with their defaults (batch 100, the paper's
weights). Ours is :func:`s3rec_lite.train.pretrain_step` (batch built on the device) at the same batch size,
once per configuration named with ``--ours`` (default: the plain path, the default fast path, and the fast path
with every opt-in speed flag). Steps run A B C ... C B A so that neither side gets the quieter moments; the
medians are reported with the 20th-80th percentiles, and ratios only mean something within one run.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import types
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from s3rec_lite import load_dataset, preset, seed_everything  # noqa: E402
from s3rec_lite.batches import PretrainCorpus  # noqa: E402
from s3rec_lite.config import Config  # noqa: E402
from s3rec_lite.fast import adam  # noqa: E402
from s3rec_lite.provenance import device_name, git_commit  # noqa: E402
from s3rec_lite.train import active_objectives, build_model, pretrain_step  # noqa: E402


class AuthorsStep:
    """One call = one batch of the authors' pre-training loop, from their repository at ``path``."""

    def __init__(self, path: Path, data_dir: Path, name: str, seed: int = 42):
        from torch.utils.data import DataLoader

        if "scipy" not in sys.modules:  # their utils imports scipy.sparse, unused on this path
            try:
                import scipy.sparse  # noqa: F401
            except ImportError:
                scipy, sparse = types.ModuleType("scipy"), types.ModuleType("scipy.sparse")
                sparse.csr_matrix, scipy.sparse = None, sparse
                sys.modules["scipy"], sys.modules["scipy.sparse"] = scipy, sparse
        sys.path.insert(0, str(path))
        import datasets as their_datasets
        import models as their_models
        import utils as their_utils

        a = argparse.Namespace(
            data_dir=str(data_dir) + "/", data_name=name, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
            hidden_act="gelu", attention_probs_dropout_prob=0.5, hidden_dropout_prob=0.5, initializer_range=0.02,
            max_seq_length=50, lr=0.001, pre_batch_size=100, mask_p=0.2, aap_weight=0.2, mip_weight=1.0,
            map_weight=1.0, sp_weight=0.5, weight_decay=0.0, adam_beta1=0.9, adam_beta2=0.999, seed=seed)
        their_utils.set_seed(seed)
        user_seq, max_item, long_sequence = their_utils.get_user_seqs_long(a.data_dir + name + ".txt")
        item2attribute, attribute_size = their_utils.get_item2attribute_json(a.data_dir + name + "_item2attributes.json")
        a.item_size, a.mask_id, a.attribute_size, a.item2attribute = max_item + 2, max_item + 1, attribute_size + 1, item2attribute
        self.a = a
        self.model = their_models.S3RecModel(args=a).train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=a.lr, betas=(a.adam_beta1, a.adam_beta2))
        self.loader = lambda: iter(DataLoader(their_datasets.PretrainDataset(a, user_seq, long_sequence),
                                              shuffle=True, batch_size=a.pre_batch_size))  # their RandomSampler
        self.it = self.loader()
        self.batches_per_epoch = math.ceil(len(their_datasets.PretrainDataset(a, user_seq, long_sequence)) / a.pre_batch_size)

    def __call__(self):
        try:
            batch = next(self.it)
        except StopIteration:
            self.it = self.loader()
            batch = next(self.it)
        aap, mip, map_, sp = self.model.pretrain(*batch)
        a = self.a
        loss = a.aap_weight * aap + a.mip_weight * mip + a.map_weight * map_ + a.sp_weight * sp
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


class OurStep:
    def __init__(self, ds, cfg: Config):
        seed_everything(0)
        self.cfg, dev = cfg, torch.device("cpu")
        self.model = build_model(cfg, ds, dev).train()
        self.corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items, dev)
        self.attr = torch.as_tensor(ds.attribute_matrix()).float()
        self.opt, self.weights = adam(self.model, cfg.pretrain_lr, cfg, dev), active_objectives(cfg)
        self.order, self.i = torch.randperm(len(self.corpus)), 0
        self.batches_per_epoch = math.ceil(len(self.corpus) / cfg.pretrain_batch_size)

    def __call__(self):
        B = self.cfg.pretrain_batch_size
        i = self.i % self.batches_per_epoch
        self.i += 1
        pretrain_step(self.model, self.corpus, self.order[i * B:(i + 1) * B], self.cfg, self.attr, self.opt, self.weights)


def opt_in_flags() -> dict:
    """The fp32 speed flags that are off by default (opt-in), all on."""
    from s3rec_lite.config import OPT_IN_SPEED_FLAGS

    return {k: True for k in OPT_IN_SPEED_FLAGS}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--authors", type=Path, default=None, help="a checkout of RUCAIBox/CIKM2020-S3Rec (their code)")
    p.add_argument("--dataset", default="LastFM")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--warmup-bf16", type=int, default=60,
                   help="extra warm-up steps for the bf16 path (oneDNN builds a kernel per new shape, once)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = Path(os.environ.get("S3REC_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data" / "s3rec")
    ds = load_dataset(args.dataset, progress=False)
    base = preset("official", progress=False, device="cpu")  # batch 100, as the authors' default
    steps = {"ours, plain path": OurStep(ds, base.replace(fast=False)), "ours, default": OurStep(ds, base)}
    extra = opt_in_flags()
    steps["ours, + " + ", ".join(extra)] = OurStep(ds, base.replace(**extra))
    steps["ours, + the same + bf16_pretraining"] = OurStep(ds, base.replace(**extra, bf16_pretraining=True))
    if args.authors:
        steps = {"authors' code": AuthorsStep(args.authors, data_dir, args.dataset), **steps}
    for name, fn in steps.items():
        for _ in range(args.warmup + (args.warmup_bf16 if "bf16" in name else 0)):
            fn()
    times = {k: [] for k in steps}
    names = list(steps)
    for r in range(args.steps):
        for name in (names if r % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - t0)
    ref = "authors' code" if args.authors else names[0]
    ref_ms = 1000 * statistics.median(times[ref])
    print(f"commit {git_commit()[:12]}, {device_name('cpu')}, torch {torch.__version__}, {args.dataset}, batch 100, "
          f"{args.steps} interleaved steps after {args.warmup} warm-up")
    print(f"| {'step':<60} | median ms | p20-p80 ms | s/epoch | speed-up vs {ref} |")
    print(f"|{'-' * 62}|---|---|---|---|")
    for name, ts in times.items():
        ts = sorted(ts)
        med = 1000 * statistics.median(ts)
        epoch = med / 1000 * steps[name].batches_per_epoch
        print(f"| {name:<60} | {med:.0f} | {1000 * ts[len(ts) // 5]:.0f}-{1000 * ts[4 * len(ts) // 5]:.0f} | "
              f"{epoch:.0f} | {ref_ms / med:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
