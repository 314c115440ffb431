"""Saving and loading models: our format, and import of the authors' released state dicts.

Ours is a plain dict (loads with ``torch.load(path, weights_only=True)``)::

    {"format": "s3rec_lite", "version": 1, "config": {...}, "item_vocab_size": V,
     "attribute_vocab_size": A, "dataset": name, "state_dict": {...}, "meta": {...}}

The authors' files are a bare state dict of their module names (REFERENCE.md lists them); we rename
them to ours and join the three query/key/value matrices into our single ``qkv`` matrix.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import torch

from .config import ARCH_FIELDS, Config
from .errors import S3RecError
from .fast import apply_speed_flags
from .files import atomic_file
from .model import S3RecModel

FORMAT = "s3rec_lite"


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` through :func:`s3rec_lite.files.atomic_file`: never a half-written file."""
    with atomic_file(path) as (fh, _):
        torch.save(obj, fh)


def save_model(model, path, dataset: str = "", meta: dict | None = None, cfg: Config | None = None) -> None:
    """Save any model of the package: its state dict, its zoo name and architecture (and the run's config)."""
    arch = dataclasses.asdict(model.arch)
    atomic_torch_save(
        {
            "format": FORMAT,
            "version": 1,
            "model_name": getattr(model, "zoo_name", "S3-Rec"),
            "config": {**(cfg.to_dict() if cfg is not None else {}), **arch},
            "item_vocab_size": model.item_vocab_size,
            "attribute_vocab_size": model.attribute_vocab_size,
            "dataset": dataset,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "meta": meta or {},
        },
        path,
    )


def _load_raw(path):
    path = Path(path)
    if not path.exists():
        raise S3RecError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file
        raise S3RecError(f"{path}: not a loadable PyTorch checkpoint ({type(exc).__name__}: {exc})") from None


def is_authors_state_dict(sd) -> bool:
    return isinstance(sd, dict) and "item_encoder.layer.0.attention.query.weight" in sd


_AUTHOR_RENAMES = [
    (r"^LayerNorm\.(weight|bias)$", r"embedding_norm.\1"),
    (r"^item_encoder\.layer\.(\d+)\.attention\.dense\.(weight|bias)$", r"blocks.\1.attention.out.\2"),
    (r"^item_encoder\.layer\.(\d+)\.attention\.LayerNorm\.(weight|bias)$", r"blocks.\1.attention_norm.\2"),
    (r"^item_encoder\.layer\.(\d+)\.intermediate\.dense_(1|2)\.(weight|bias)$", r"blocks.\1.ffn.dense_\2.\3"),
    (r"^item_encoder\.layer\.(\d+)\.intermediate\.LayerNorm\.(weight|bias)$", r"blocks.\1.ffn_norm.\2"),
    (r"^(aap|mip|map|sp)_norm\.(weight|bias)$", r"heads.\1.\2"),
    (r"^(item_embeddings|attribute_embeddings|position_embeddings)\.weight$", r"\1.weight"),
]


def convert_authors_state_dict(sd: dict, source="checkpoint") -> dict:
    """Rename the authors' keys to ours; concatenate query, key, value into ``qkv`` ([3d, d] and [3d])."""
    out, used = {}, set()
    layers = sorted({int(m.group(1)) for k in sd if (m := re.match(r"item_encoder\.layer\.(\d+)\.", k))})
    for i in layers:
        for part in ("weight", "bias"):
            keys = [f"item_encoder.layer.{i}.attention.{n}.{part}" for n in ("query", "key", "value")]
            missing = [k for k in keys if k not in sd]
            if missing:
                raise S3RecError(f"{source}: authors' checkpoint lacks {missing[0]}")
            out[f"blocks.{i}.attention.qkv.{part}"] = torch.cat([sd[k] for k in keys], dim=0)
            used.update(keys)
    for key, value in sd.items():
        if key in used:
            continue
        for pattern, repl in _AUTHOR_RENAMES:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            raise S3RecError(f"{source}: unexpected key {key!r} in the authors' checkpoint")
    return out


def read_checkpoint(path) -> tuple[dict, dict]:
    """The raw contents of a checkpoint and what it is: ``info`` has ``format`` ("s3rec_lite" or "authors"),
    ``model_name``, ``dataset``, ``meta`` and ``arch`` (the architecture fields it was built with)."""
    raw = _load_raw(path)
    if isinstance(raw, dict) and raw.get("format") == FORMAT:
        file_cfg = Config.from_dict(raw["config"])
        info = {"format": FORMAT, "dataset": raw.get("dataset", ""), "meta": raw.get("meta", {}),
                "model_name": raw.get("model_name", "S3-Rec"),
                "arch": {k: getattr(file_cfg, k) for k in ARCH_FIELDS}}
        return raw, info
    if is_authors_state_dict(raw):
        return raw, {"format": "authors", "dataset": Path(path).stem, "meta": {}, "model_name": "S3-Rec"}
    raise S3RecError(f"{path}: neither an s3rec_lite checkpoint nor the authors' S3-Rec state dict")


def load_model(path, cfg: Config | None = None, item_vocab_size: int | None = None,
               attribute_vocab_size: int | None = None) -> tuple[S3RecModel, dict]:
    """Load an S3-Rec network (ours, or the authors' released state dict: format detected). Returns
    (model, info); with ``cfg``, its speed flags are applied. (Other zoo models: :func:`s3rec_lite.zoo.load_model`.)

    For the authors' format the sizes come from the tensors and ``cfg`` gives the rest (default: the paper's);
    for ours the architecture is the file's. If the caller passes the vocabulary sizes its dataset needs, they
    must match.
    """
    raw, info = read_checkpoint(path)
    if info["format"] == FORMAT:
        if info["model_name"] not in ("S3-Rec", "SASRec", "S3-Rec-released"):
            raise S3RecError(f"{path}: a {info['model_name']} checkpoint; load it with s3rec_lite.zoo.load_model")
        run_cfg = (cfg or Config()).replace(**info["arch"])
        sd, V, A = raw["state_dict"], raw["item_vocab_size"], raw["attribute_vocab_size"]
    else:
        sd = convert_authors_state_dict(raw, source=str(path))
        V, d = sd["item_embeddings.weight"].shape
        A = sd["attribute_embeddings.weight"].shape[0]
        n_layers = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
        max_len = sd["position_embeddings.weight"].shape[0]
        run_cfg = (cfg or Config()).replace(hidden_size=d, num_layers=n_layers, max_len=max_len)
        info["arch"] = dataclasses.asdict(run_cfg.arch)
    for name, want, have in (("item vocabulary", item_vocab_size, V), ("attribute vocabulary", attribute_vocab_size, A)):
        if want is not None and want != have:
            raise S3RecError(
                f"{path}: checkpoint {name} has {have} rows but the dataset needs {want}: "
                "was it trained on another dataset?"
            )
    model = S3RecModel(run_cfg.arch, V, A)
    result = model.load_state_dict(sd, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise S3RecError(
            f"{path}: checkpoint does not fit the model (missing {result.missing_keys[:3]}, "
            f"unexpected {result.unexpected_keys[:3]})"
        )
    return apply_speed_flags(model, run_cfg), info
