"""Saving and loading models: our format, and import of the authors' released state dicts.

Ours is a plain dict (loads with ``torch.load(path, weights_only=True)``)::

    {"format": "s3rec_lite", "version": 1, "config": {...}, "item_vocab_size": V,
     "attribute_vocab_size": A, "dataset": name, "state_dict": {...}, "meta": {...}}

The authors' files are a bare state dict of their module names (REFERENCE.md lists them); we rename
them to ours and join the three query/key/value matrices into our single ``qkv`` matrix.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import torch

from .config import Config
from .errors import S3RecError
from .model import S3RecModel

FORMAT = "s3rec_lite"


def atomic_torch_save(obj, path) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".pt", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_model(model: S3RecModel, path, dataset: str = "", meta: dict | None = None) -> None:
    atomic_torch_save(
        {
            "format": FORMAT,
            "version": 1,
            "model_name": getattr(model, "zoo_name", "S3-Rec"),
            "config": model.cfg.to_dict(),
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


def load_model(path, cfg: Config | None = None, item_vocab_size: int | None = None,
               attribute_vocab_size: int | None = None, dataset=None) -> tuple[S3RecModel, dict]:
    """Load ours or the authors' checkpoint (format detected). Returns (model, info).

    Checkpoints of other models of the zoo (baselines) are rebuilt by their registered builder, which
    needs the ``dataset``.

    For the authors' format the vocabulary sizes come from the tensors; ``cfg`` gives the rest
    (defaults: the paper's). If the caller passes the sizes its dataset needs, they must match.
    """
    raw = _load_raw(path)
    if isinstance(raw, dict) and raw.get("format") == FORMAT:
        file_cfg = Config.from_dict(raw["config"])
        if cfg is not None:  # keep the caller's running options, but the architecture of the file
            arch = {k: getattr(file_cfg, k) for k in ("hidden_size", "num_layers", "num_heads", "max_len", "layer_norm_eps")}
            file_cfg = cfg.replace(**arch)
        sd, V, A = raw["state_dict"], raw["item_vocab_size"], raw["attribute_vocab_size"]
        info = {"format": FORMAT, "dataset": raw.get("dataset", ""), "meta": raw.get("meta", {}),
                "model_name": raw.get("model_name", "S3-Rec")}
        cfg = file_cfg
    elif is_authors_state_dict(raw):
        sd = convert_authors_state_dict(raw, source=str(path))
        V, d = sd["item_embeddings.weight"].shape
        A = sd["attribute_embeddings.weight"].shape[0]
        n_layers = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
        max_len = sd["position_embeddings.weight"].shape[0]
        cfg = (cfg or Config()).replace(hidden_size=d, num_layers=n_layers, max_len=max_len)
        info = {"format": "authors", "dataset": Path(path).stem, "meta": {}}
    else:
        raise S3RecError(f"{path}: neither an s3rec_lite checkpoint nor the authors' S3-Rec state dict")
    for name, want, have in (("item vocabulary", item_vocab_size, V), ("attribute vocabulary", attribute_vocab_size, A)):
        if want is not None and want != have:
            raise S3RecError(
                f"{path}: checkpoint {name} has {have} rows but the dataset needs {want}: "
                "was it trained on another dataset?"
            )
    name = info.get("model_name", "S3-Rec")
    if name in ("S3-Rec", "SASRec"):
        model = S3RecModel(cfg, V, A)
    else:
        from .zoo import get_model_spec

        if dataset is None:
            raise S3RecError(f"{path}: a {name} checkpoint needs its dataset to be rebuilt")
        model = get_model_spec(name).build(cfg, dataset)
    result = model.load_state_dict(sd, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise S3RecError(
            f"{path}: checkpoint does not fit the model (missing {result.missing_keys[:3]}, "
            f"unexpected {result.unexpected_keys[:3]})"
        )
    return model, info
