"""One run from start to finish, for the command line and the experiment runner alike: load the data, build
or load the model, pre-train and/or fine-tune and test, and record the result with its provenance.

    result = run_model("SASRec", cfg, "LastFM", out="runs/x")       # fine-tune from scratch, test
    write_json_atomic(result, "runs/x/results.json")
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from .config import Config
from .data import SequenceDataset, load_dataset
from .provenance import provenance
from .train import evaluate, finetune, resolve_device, seed_everything
from .checkpoint import read_checkpoint
from .errors import ConfigError
from .fast import packs_finetuning
from .zoo import MODELS, build_model, get_model_spec, load_model, pretrain_model

_LAST: dict = {}


def prepare_dataset(name: str, cfg: Config, data_dir=None, allow_download: bool = True) -> SequenceDataset:
    """Load ``name`` and apply the config's subsetting (``max_users``, ``train_fraction``). The last loaded
    dataset is kept in memory: an experiment runs many runs on one dataset."""
    key = (name, cfg.num_eval_negatives, cfg.negatives_seed, str(data_dir), os.environ.get("S3REC_DATA_DIR"))
    if key not in _LAST:
        _LAST.clear()  # one dataset at a time (memory)
        _LAST[key] = load_dataset(name, data_dir, allow_download, num_negatives=cfg.num_eval_negatives,
                                  negatives_seed=cfg.negatives_seed, progress=cfg.progress)
    ds = _LAST[key].first_users(cfg.max_users)
    if cfg.train_fraction < 1.0:
        ds = ds.subsample_training(cfg.train_fraction, seed=cfg.seed)
    return ds


def dataset_checksums(ds: SequenceDataset) -> dict:
    return {kind: {"file": Path(info["path"]).name, "sha256": info["sha256"]} for kind, info in ds.files.items()}


def check_run(model: str, stage: str, checkpoint=None) -> None:
    """Refuse a run whose recorded model would not be the model trained: a checkpoint of another model, or
    pre-training a model that has none. One ConfigError line each."""
    spec = get_model_spec(model)
    if stage == "pretrain" and not spec.pretrain:
        raise ConfigError(f"{spec.name} has no pre-training stage (models with one: "
                          f"{', '.join(n for n, m in MODELS.items() if m.pretrain)})")
    if checkpoint is not None:
        theirs = read_checkpoint(checkpoint)[1].get("model_name") or "S3-Rec"  # the authors' files: S3-Rec
        if theirs != spec.name and not (theirs == "S3-Rec" and spec.name == "S3-Rec-released"):
            raise ConfigError(f"{checkpoint}: a checkpoint of {theirs}, not of {spec.name}: "
                              f"pass --model {theirs} (or leave --model out)")


def run_model(model: str, cfg: Config, ds: SequenceDataset | str, out=None, *, stage: str = "train",
              checkpoint=None, pretrain_epochs: int | None = None, finetune_epochs: int | None = None,
              save_every: int = 0, on_epoch=None, full_ranking_test: bool = True) -> dict:
    """Run ``model`` (a zoo name) on ``ds`` and return the result record (not yet written anywhere).

    ``stage``: ``"train"`` (pre-train if the zoo says so, unless starting from ``checkpoint``; then fine-tune
    and test), ``"pretrain"`` (pre-train only), ``"finetune"`` (no pre-training: from ``checkpoint`` or from
    the initialisation), ``"evaluate"`` (test ``checkpoint`` as it is). ``out``: folder for resumable state
    and checkpoints (``out/pretrain``, ``out/finetune``)."""
    t0 = time.time()
    ds = prepare_dataset(ds, cfg) if isinstance(ds, str) else ds
    spec = get_model_spec(model)
    dev = resolve_device(cfg.device)
    out = Path(out) if out is not None else None
    sub = (lambda name: out / name) if out is not None else (lambda name: None)
    result: dict = {"model": spec.name, "stage": stage}
    if spec.label != spec.name:
        result["label"] = spec.label
    check_run(spec.name, stage, checkpoint)
    if checkpoint is not None:
        net, info = load_model(checkpoint, cfg, ds)
        result["checkpoint"] = {"path": str(checkpoint), **{k: v for k, v in info.items() if k not in ("meta", "arch")}}
    else:
        seed_everything(cfg.seed)
        net = build_model(spec.name, cfg, ds)
        if getattr(net, "released_checkpoint", None):
            result["released_checkpoint"] = net.released_checkpoint
    net = net.to(dev)
    clock: dict = {}  # seconds that a resumed run spent in earlier processes
    if stage in ("train", "pretrain") and checkpoint is None and spec.pretrain:
        result["pretrain_history"] = pretrain_model(spec.name, net, ds, cfg, sub("pretrain") if stage == "train" else out,
                                                    pretrain_epochs, save_every=save_every, on_epoch=on_epoch, clock=clock)
    if stage in ("train", "finetune") and spec.trainable:
        result.update(finetune(net, ds, cfg, sub("finetune"), finetune_epochs, on_epoch=on_epoch, clock=clock))
    elif stage in ("train", "finetune"):  # a counting model (PopRec): nothing to train
        result.update(history=[], best_epoch=None, epochs_run=0)
        stage = "evaluate"
    if stage == "evaluate":
        split = ds.split(cfg.max_len)
        packed = packs_finetuning(net, cfg)  # the packed encoder where the config asks for it (fast.py)
        result.update(valid=evaluate(net, split, "valid", batch_size=cfg.eval_batch_size, packed=packed),
                      test=evaluate(net, split, "test", batch_size=cfg.eval_batch_size, packed=packed))
        if full_ranking_test:
            result["test_full_ranking"] = evaluate(net, split, "test", True, cfg.eval_batch_size, packed)
    result.update(record(cfg, ds, dev, t0))
    earlier = sum(clock.values())
    if earlier:  # wall_seconds covers the whole run; this process's part is kept beside it
        result["wall_seconds_this_process"] = result["wall_seconds"]
        result["wall_seconds"] = round(result["wall_seconds"] + earlier, 2)
    return result


def record(cfg: Config, ds: SequenceDataset, device, t0: float, command: list[str] | None = None) -> dict:
    """The fields every result carries: configuration, data, negatives, wall time, provenance."""
    return {
        "config": cfg.to_dict(), "seed": cfg.seed, "dataset": ds.name, "dataset_checksums": dataset_checksums(ds),
        "negatives": ds.negatives_source, "dataset_stats": {k: v for k, v in ds.stats().items() if k != "dataset"},
        "wall_seconds": round(time.time() - t0, 2), "provenance": {**provenance(device, command), "threads": torch.get_num_threads()},
        "torch": torch.__version__,
    }
