"""Every model by name, for the command line and the experiment runner: ``--model NAME``.

The zoo sits above the models and the training loops: it builds a named model for a dataset (with the
config's speed flags), says how the model is pre-trained before fine-tuning, and loads a checkpoint of any
named model. Models never import it.

``pretrain``: ``"objectives"`` (the four S3-Rec objectives, :func:`s3rec_lite.train.pretrain`), ``"borrow"``
(Fig. 3's Caser and AutoInt: only their embedding tables start from an S3-Rec network pre-trained with the
objectives) or ``None`` (fine-tuned from the initialisation, or from the released checkpoint).
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Callable

from .baselines import (BERT4Rec, FDSA, FM, HGN, AutoInt, AutoIntPretrained, Caser, CaserPretrained, GRU4Rec,
                        GRU4RecF, PopRec, SASRecF, sasrec_unidirectional)
from .baselines.citations import CITATIONS, FIG3
from .checkpoint import load_model as load_s3rec_model
from .checkpoint import read_checkpoint
from .config import Config
from .data import REGISTRY, SequenceDataset, file_digests, locate, verify
from .errors import ConfigError, S3RecError
from .fast import apply_speed_flags
from .model import S3RecModel
from .recommender import Recommender
from .train import pretrain

RELEASED_LABEL = "released pre-training + our fine-tuning"


@dataclass
class ModelSpec:
    name: str
    build: Callable  # (arch, dataset) -> Recommender; or (cfg, dataset) when ``needs_config``
    pretrain: str | None = None  # "objectives", "borrow" or None
    trainable: bool = True  # False for PopRec-like models that only count
    citation: str = ""
    label: str = ""  # how the book and the tables describe it, where the name alone could mislead
    needs_config: bool = False  # the builder reads run-time settings (the released checkpoint: downloads)


MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, build: Callable, pretrain: str | None = None, trainable: bool = True,
                   citation: str = "", label: str = "", needs_config: bool = False) -> ModelSpec:
    """Add (or replace) a named model: ``build(arch, ds) -> Recommender``."""
    if pretrain not in (None, "objectives", "borrow"):
        raise ConfigError(f"register_model({name!r}): pretrain must be 'objectives', 'borrow' or None")
    MODELS[name] = ModelSpec(name, build, pretrain, trainable, citation, label or name, needs_config)
    return MODELS[name]


def get_model_spec(name: str) -> ModelSpec:
    for key, spec in MODELS.items():
        if key.lower() == name.lower():
            return spec
    raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def build_model(name: str, cfg: Config, ds: SequenceDataset) -> Recommender:
    """A freshly built ``name`` for ``ds`` (seeded by the caller), on the CPU, with ``cfg``'s speed flags."""
    spec = get_model_spec(name)
    model = spec.build(cfg if spec.needs_config else cfg.arch, ds)
    model.zoo_name = spec.name
    return apply_speed_flags(model, cfg)


def pretrain_model(name: str, model: Recommender, ds: SequenceDataset, cfg: Config, out=None, epochs=None,
                   save_every: int = 0, on_epoch=None, clock: dict | None = None) -> list[dict]:
    """Pre-train ``model`` as the zoo says for ``name``; returns the pre-training history ([] if none)."""
    spec = get_model_spec(name)
    if spec.pretrain == "objectives":
        return pretrain(model, ds, cfg, out, epochs, save_every=save_every, on_epoch=on_epoch, clock=clock)
    if spec.pretrain == "borrow":  # an S3-Rec donor, same seed and settings; then copy its embedding tables
        device = next(model.parameters()).device
        donor = build_model("S3-Rec", cfg, ds).to(device)
        history = pretrain(donor, ds, cfg, out, epochs, save_every=save_every, on_epoch=on_epoch, clock=clock)
        model.borrow_from(donor)
        return history
    return []


def load_model(path, cfg: Config, ds: SequenceDataset) -> tuple[Recommender, dict]:
    """Load a checkpoint of any zoo model (ours) or the authors' released state dict, for ``ds``."""
    raw, info = read_checkpoint(path)
    name = info.get("model_name", "S3-Rec")
    if name in ("S3-Rec", "SASRec", "S3-Rec-released") or info["format"] == "authors":
        model, info = load_s3rec_model(path, cfg, ds.item_vocab_size, ds.attribute_vocab_size)
        return model, info
    spec = get_model_spec(name)
    arch = cfg.replace(**{k: v for k, v in info["arch"].items()}).arch
    model = spec.build(cfg.replace(**info["arch"]) if spec.needs_config else arch, ds)
    model.zoo_name = spec.name
    result = model.load_state_dict(raw["state_dict"], strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise S3RecError(f"{path}: checkpoint does not fit {name} (missing {result.missing_keys[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]})")
    return apply_speed_flags(model, cfg), info


# ------------------------------------------------------------------------------------------------
# The models
# ------------------------------------------------------------------------------------------------
def _s3rec(arch, ds):
    return S3RecModel(arch, ds.item_vocab_size, ds.attribute_vocab_size)


def _s3rec_released(cfg: Config, ds):
    """S3-Rec from the authors' released pre-trained checkpoint of ``ds`` (found like the data, or downloaded;
    checksum verified), to be fine-tuned by our loop. The file's name and sha256 are kept on the model
    (``released_checkpoint``) so that results record them."""
    if ds.name not in REGISTRY:
        raise ConfigError(f"S3-Rec-released: the authors released checkpoints for {', '.join(REGISTRY)} only, "
                          f"not for {ds.name!r}")
    remote = REGISTRY[ds.name]["checkpoint"]
    path = locate(ds.name, "checkpoint", progress=cfg.progress)
    verify(path, remote)
    model, _ = load_s3rec_model(path, cfg, ds.item_vocab_size, ds.attribute_vocab_size)
    model.released_checkpoint = {"file": remote.filename, "upstream": remote.upstream_path,
                                 "sha256": file_digests(path)[0], "schedule": released_schedule(remote.filename)}
    return model


#: The authors' pre-training batch size (their run script's default), which made every released checkpoint.
RELEASED_BATCH_SIZE = 100


def released_schedule(filename: str) -> dict:
    """The pre-training that made a released checkpoint, not the preset's: its epochs from the file's name
    (``Beauty-epochs-150.pt`` -> 150) and the authors' batch size.  ValueError for another name."""
    m = re.search(r"-epochs-(\d+)\.pt$", filename)
    if m is None:
        raise ValueError(f"{filename}: not a released checkpoint's name (NAME-epochs-N.pt)")
    return {"pretrain_epochs": int(m.group(1)), "pretrain_batch_size": RELEASED_BATCH_SIZE,
            "source": "epochs: the released file's name; batch: the authors' pre-training default"}


register_model("S3-Rec", _s3rec, pretrain="objectives", citation="Zhou et al., CIKM 2020")
register_model("S3-Rec-released", _s3rec_released, needs_config=True, label=f"S3-Rec ({RELEASED_LABEL})",
               citation="Zhou et al., CIKM 2020: the authors' released pre-trained checkpoint (RUCAIBox/CIKM2020-S3Rec, "
                        "reproduce/), fine-tuned by s3rec_lite")
register_model("SASRec", _s3rec, citation="Kang and McAuley, ICDM 2018 (the S3-Rec encoder, no pre-training)")
register_model("PopRec", lambda a, ds: PopRec(a, ds), trainable=False, citation=CITATIONS["PopRec"])
register_model("GRU4Rec", lambda a, ds: GRU4Rec(a, ds), citation=CITATIONS["GRU4Rec"])
register_model("GRU4Rec_F", lambda a, ds: GRU4RecF(a, ds), citation=CITATIONS["GRU4Rec_F"])
register_model("SASRec_F", lambda a, ds: SASRecF(a, ds), citation=CITATIONS["SASRec_F"])
register_model("BERT4Rec", lambda a, ds: BERT4Rec(a, ds), citation=CITATIONS["BERT4Rec"])
register_model("FDSA", lambda a, ds: FDSA(a, ds), citation=CITATIONS["FDSA"])
register_model("Caser", lambda a, ds: Caser(a, ds), citation=CITATIONS["Caser"])
register_model("FM", lambda a, ds: FM(a, ds), citation=CITATIONS["FM"])
register_model("HGN", lambda a, ds: HGN(a, ds), citation=CITATIONS["HGN"])
register_model("AutoInt", lambda a, ds: AutoInt(a, ds), citation=CITATIONS["AutoInt"])

# Fig. 3: the same networks pre-trained with AAP, MIP, MAP and SP before fine-tuning.
register_model("GRU4Rec+pretrain", lambda a, ds: GRU4Rec(a, ds, pretrainable=True), pretrain="objectives",
               citation=f"{CITATIONS['GRU4Rec']}; {FIG3}")
register_model("GRU4Rec_F+pretrain", lambda a, ds: GRU4RecF(a, ds, pretrainable=True), pretrain="objectives",
               citation=f"{CITATIONS['GRU4Rec_F']}; {FIG3}")
register_model("SASRec+pretrain", sasrec_unidirectional, pretrain="objectives", citation=f"{CITATIONS['SASRec']}; {FIG3}")
register_model("SASRec_F+pretrain", lambda a, ds: SASRecF(a, ds), pretrain="objectives",
               citation=f"{CITATIONS['SASRec_F']}; {FIG3}")
register_model("Caser+pretrain", lambda a, ds: CaserPretrained(a, ds), pretrain="borrow",
               citation=f"{CITATIONS['Caser']}; embeddings initialised from S3-Rec pre-training (Fig. 3)")
register_model("AutoInt+pretrain", lambda a, ds: AutoIntPretrained(a, ds), pretrain="borrow",
               citation=f"{CITATIONS['AutoInt']}; embeddings initialised from S3-Rec pre-training (Fig. 3)")
