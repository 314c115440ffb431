"""Named models for the command line and the experiment runner: ``python -m s3rec_lite reproduce --model NAME``.

Each entry builds a model for a dataset and says whether it is pre-trained with the S3-Rec objectives
before fine-tuning. Baselines register themselves here (``s3rec_lite.baselines``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import ConfigError


@dataclass
class ModelSpec:
    name: str
    build: Callable  # (cfg, dataset) -> nn.Module
    pretrain: bool  # pre-train with the registered objectives before fine-tuning
    trainable: bool = True  # False for PopRec-like models that only count
    citation: str = ""
    label: str = ""  # how the book and the tables describe it, where the name alone could mislead


MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, pretrain: bool = False, trainable: bool = True, citation: str = "", label: str = ""):
    def wrap(build):
        MODELS[name] = ModelSpec(name, build, pretrain, trainable, citation, label or name)
        return build

    return wrap


def get_model_spec(name: str) -> ModelSpec:
    _load_baselines()
    for key, spec in MODELS.items():
        if key.lower() == name.lower():
            return spec
    raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def _load_baselines() -> None:
    import importlib.util

    if importlib.util.find_spec("s3rec_lite.baselines") is not None:
        importlib.import_module("s3rec_lite.baselines")  # registers its models on import


def _s3rec(cfg, ds):
    from .model import S3RecModel

    return S3RecModel(cfg, ds.item_vocab_size, ds.attribute_vocab_size)


register_model("S3-Rec", pretrain=True, citation="Zhou et al., CIKM 2020")(_s3rec)
register_model("SASRec", pretrain=False, citation="Kang and McAuley, ICDM 2018 (the S3-Rec encoder, no pre-training)")(_s3rec)


RELEASED_LABEL = "released pre-training + our fine-tuning"


def _s3rec_released(cfg, ds):
    """S3-Rec from the authors' released pre-trained checkpoint of ``ds`` (found like the data, or downloaded;
    checksum verified), to be fine-tuned by our loop. The file's path and sha256 are kept on the model
    (``released_checkpoint``) so that results record them."""
    from .checkpoint import load_model
    from .data import REGISTRY, file_digests, locate, verify

    if ds.name not in REGISTRY:
        raise ConfigError(f"S3-Rec-released: the authors released checkpoints for {', '.join(REGISTRY)} only, "
                          f"not for {ds.name!r}")
    remote = REGISTRY[ds.name]["checkpoint"]
    path = locate(ds.name, "checkpoint", progress=cfg.progress)
    verify(path, remote)
    model, _ = load_model(path, cfg, ds.item_vocab_size, ds.attribute_vocab_size)
    model.released_checkpoint = {"file": remote.filename, "upstream": remote.upstream_path,
                                 "sha256": file_digests(path)[0]}
    return model


register_model("S3-Rec-released", pretrain=False, label=f"S3-Rec ({RELEASED_LABEL})",
               citation="Zhou et al., CIKM 2020: the authors' released pre-trained checkpoint (RUCAIBox/CIKM2020-S3Rec, "
                        "reproduce/), fine-tuned by s3rec_lite")(_s3rec_released)
