"""One configuration dataclass with the paper's defaults, and named presets.

Sources (``../shared/REFERENCE.md``): Section 4-5 of the paper for the model and the optimisation, the
authors' code where the paper is silent (dropout 0.5, GELU, init N(0, 0.02), LayerNorm eps 1e-12).

Presets
-------
``paper``    the paper's settings (pre-training batch 200, 100 epochs); the default.
``official`` what the authors' code runs by default (pre-training batch 100); their released
             checkpoints come from 150 (Beauty, Toys, LastFM) or 100 (Sports, Yelp) epochs of it.
``tiny``     a few hundred users and a few epochs: what tests, CI and the book's fast mode run on a CPU.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields

from .errors import ConfigError

#: The paper's loss weights (Section 5.1): lambda for AAP, MIP, MAP and SP.
PAPER_WEIGHTS = {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.5}


#: The fields of Config that describe the network itself: they make its Architecture (below).
ARCH_FIELDS = ("hidden_size", "num_layers", "num_heads", "max_len", "hidden_dropout", "attention_dropout",
               "init_std", "layer_norm_eps")

#: The speed tricks of :mod:`s3rec_lite.fast`, one flag each. All False is the plain reference path; each
#: trick computes the same function (the golden test checks every path against the authors' model).
#: ``fast`` (``--no-fast``) switches these four, on by default.
SPEED_FLAGS = ("fused_attention", "byte_dropout", "fused_adam", "sp_last_only")
#: Speed tricks that are off unless asked for by name: the same function and the same random draws, equal in
#: fp32 but not bit for bit, so stored results (made without them) re-run bit for bit. ``fast`` leaves them as
#: they are, and the training fingerprint leaves them out (a run may switch them when it is resumed).
OPT_IN_SPEED_FLAGS = ("packed_pretraining", "packed_finetuning", "fused_adam_cpu", "packed_fdsa")
#: Opt-in speed flags that change the numbers (other random streams, or bf16 products): in the fingerprint when on.
NUMERIC_SPEED_FLAGS = ("compile_step", "bf16_pretraining", "bf16_finetuning")


@dataclass
class Config:
    # --- model (Section 4.2 / 5.1): the fields of Architecture (ARCH_FIELDS) -----------------------
    hidden_size: int = 64  # d
    num_layers: int = 2  # self-attention blocks
    num_heads: int = 2  # h
    max_len: int = 50  # n, the longest input sequence (older items are cut)
    hidden_dropout: float = 0.5  # authors' code
    attention_dropout: float = 0.5  # authors' code
    init_std: float = 0.02  # N(0, 0.02), authors' code
    layer_norm_eps: float = 1e-12  # authors' code

    # --- pre-training (Section 4.3, 5.1) -----------------------------------------------------
    objective_variant: str = "official"  # "official" (the released code) or "paper" (Eq. 2-3, 10-17)
    loss_weights: dict = field(default_factory=lambda: dict(PAPER_WEIGHTS))
    mask_ratio: float = 0.2  # p, probability to mask each item for MIP/MAP
    pretrain_epochs: int = 100
    pretrain_batch_size: int = 200
    pretrain_lr: float = 1e-3
    num_negatives: int = 1  # sampled negative items/segments per positive (official code: 1)

    # --- fine-tuning (Section 4.4) -------------------------------------------------------------------
    finetune_epochs: int = 200  # maximum; early stopping decides
    finetune_batch_size: int = 256
    finetune_lr: float = 1e-3
    patience: int = 10
    weight_decay: float = 0.0
    adam_betas: tuple = (0.9, 0.999)
    #: what early stopping watches: "MRR" (sampled, the paper and the released sampled script) or
    #: "full NDCG@20" (full ranking, as the authors' full-ranking script)
    early_stopping: str = "MRR"

    # --- data and evaluation -------------------------------------------------------------------
    max_users: int | None = None  # keep only the first N users (tiny runs)
    train_fraction: float = 1.0  # keep this share of users' training parts (sparsity study, Fig. 4)
    num_eval_negatives: int = 99
    negatives_seed: int = 12345  # for generated evaluation negatives (independent of `seed`)
    eval_batch_size: int = 1024

    # --- running --------------------------------------------------------------------------------
    seed: int = 42
    device: str = "auto"  # "auto", "cpu" or "cuda"
    progress: bool = True  # tqdm bars

    # --- speed (s3rec_lite/fast.py): one flag per trick; all False = the plain reference path ----------
    fused_attention: bool = True  # F.scaled_dot_product_attention where no attention dropout is drawn on a CPU
    byte_dropout: bool = True  # CPU dropout masks from random bytes (torch.bernoulli_ was 45% of a step)
    fused_adam: bool = True  # Adam(fused=True) on a GPU
    sp_last_only: bool = True  # SP's three views: only the last position in the last block, not a 4B batch
    # opt-in (not switched by ``fast``, not in the fingerprint): fp32-equal, not bit-for-bit equal
    packed_pretraining: bool = False  # pre-training encoder on the real tokens only (CPU, S3RecModel)
    packed_finetuning: bool = False  # fine-tuning step and evaluation encoder on the real tokens only (idem)
    fused_adam_cpu: bool = False  # Adam(fused=True) on a CPU too (one kernel; the item table's update was ~12% of a step)
    packed_fdsa: bool = False  # FDSA's fine-tuning step and evaluation on the real tokens, its pooling for the batch's items
    #: opt-in, and in the fingerprint when on (NUMERIC_SPEED_FLAGS): compiled code draws its random numbers from
    #: another stream; bf16 products round differently
    compile_step: bool = False  # torch.compile the pre-training loss (+ CUDA graphs on a GPU): launch-bound GPUs
    bf16_pretraining: bool = False  # with packed_pretraining: the encoder's matrix products in bfloat16 (CPU)
    bf16_finetuning: bool = False  # with packed_finetuning: the same for the fine-tuning step (evaluation: fp32)

    def __post_init__(self):
        self.validate()

    @property
    def arch(self) -> Architecture:
        """The model's architecture: what every model's constructor takes."""
        return Architecture(**{k: getattr(self, k) for k in ARCH_FIELDS})

    def validate(self) -> None:
        """Every field's type and range; a ConfigError naming the field and the value otherwise."""
        if isinstance(self.adam_betas, list):
            self.adam_betas = tuple(self.adam_betas)
        for f in fields(self):
            _check_field(f.name, getattr(self, f.name))
        if self.bf16_pretraining and not self.packed_pretraining:
            raise ConfigError("bf16_pretraining works inside packed_pretraining's encoder: set packed_pretraining=true too")
        if self.bf16_finetuning and not self.packed_finetuning:
            raise ConfigError("bf16_finetuning works inside packed_finetuning's encoder: set packed_finetuning=true too")
        if self.hidden_size % self.num_heads:
            raise ConfigError(f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})")

    def replace(self, **overrides) -> "Config":
        """A copy with some fields changed (unknown names raise a ConfigError). ``fast=False`` turns the four
        :data:`SPEED_FLAGS` off (the plain reference path), ``fast=True`` on; the opt-in flags
        (:data:`OPT_IN_SPEED_FLAGS`) are only set by name."""
        if "fast" in overrides:
            fast = overrides.pop("fast")
            _check_type("fast", fast, bool)
            overrides = {**{k: fast for k in SPEED_FLAGS}, **overrides}
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        if "loss_weights" in overrides:
            if not isinstance(overrides["loss_weights"], dict):
                raise ConfigError(f"loss_weights must be a mapping objective -> weight, got {overrides['loss_weights']!r}")
            overrides["loss_weights"] = {**self.loss_weights, **overrides["loss_weights"]}
        return dataclasses.replace(self, **overrides)

    @property
    def fast(self) -> bool:
        """True when the four :data:`SPEED_FLAGS` are on (the opt-in flags do not count)."""
        return all(getattr(self, k) for k in SPEED_FLAGS)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["adam_betas"] = list(self.adam_betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """From ``to_dict`` (also of older versions: their single ``fast`` flag sets the four SPEED_FLAGS)."""
        known = {f.name for f in fields(cls)}
        d = dict(d)
        if "fast" in d:
            d = {**{k: d["fast"] for k in SPEED_FLAGS}, **{k: v for k, v in d.items() if k != "fast"}}
        return cls(**{k: v for k, v in d.items() if k in known})

    def training_fingerprint(self) -> str:
        """What must match for a saved run to be resumed (everything but presentation fields).

        Stable across versions, so stored results keep their hashes: fields added later are left out while
        at their default (``early_stopping``), and the speed flags enter as the single ``fast`` of version 1
        when they agree. The opt-in flags (``packed_pretraining``, ``packed_finetuning``, ``fused_adam_cpu``,
        ``packed_fdsa``) are left out
        altogether: they compute the same function with the same random draws (the same batches, equal in
        fp32), so a run may switch them on or off when it is resumed, and its hash does not change."""
        d = self.to_dict()
        for k in ("progress", "device", "eval_batch_size", "pretrain_epochs", "finetune_epochs"):
            d.pop(k)
        if d["early_stopping"] == "MRR":
            d.pop("early_stopping")
        for k in OPT_IN_SPEED_FLAGS:
            d.pop(k)
        for k in NUMERIC_SPEED_FLAGS:  # added later: left out at their default, so stored hashes stay
            if not d[k]:
                d.pop(k)
        flags = [d.pop(k) for k in SPEED_FLAGS]
        if all(flags) or not any(flags):
            d["fast"] = flags[0]
        else:
            d.update(zip(SPEED_FLAGS, flags))
        return json.dumps(d, sort_keys=True)


# --- validation ------------------------------------------------------------------------------------
_POSITIVE_INT = ("hidden_size", "num_layers", "num_heads", "pretrain_batch_size", "num_negatives",
                 "finetune_batch_size", "patience", "num_eval_negatives", "eval_batch_size")
_NON_NEGATIVE_INT = ("pretrain_epochs", "finetune_epochs", "seed", "negatives_seed")
_PROBABILITY = ("hidden_dropout", "attention_dropout")  # [0, 1)
_POSITIVE_FLOAT = ("init_std", "layer_norm_eps", "pretrain_lr", "finetune_lr")
_CHOICES = {"objective_variant": ("official", "paper"), "early_stopping": ("MRR", "full NDCG@20")}


def _check_type(name: str, value, kind) -> None:
    ok = isinstance(value, kind) and not (kind in (int, float, (int, float)) and isinstance(value, bool))
    if not ok:
        want = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(kind, "a number")
        raise ConfigError(f"{name} must be {want}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):  # NaN compares false with every bound: refuse it here
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def _check_field(name: str, value) -> None:
    if name in _POSITIVE_INT or name in _NON_NEGATIVE_INT or name == "max_len":
        _check_type(name, value, int)
        low = 2 if name == "max_len" else (1 if name in _POSITIVE_INT else 0)
        if value < low:
            raise ConfigError(f"{name} must be at least {low}, got {value}")
    elif name in _PROBABILITY or name in _POSITIVE_FLOAT or name in ("mask_ratio", "train_fraction", "weight_decay"):
        _check_type(name, value, (int, float))
        if name in _PROBABILITY and not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {value}")
        if name in _POSITIVE_FLOAT and not value > 0:
            raise ConfigError(f"{name} must be positive, got {value}")
        if name in ("pretrain_lr", "finetune_lr") and value > 1e6:  # Adam's step overflows float32 near 1e38
            raise ConfigError(f"{name} must be at most 1e6 (the paper uses 0.001), got {value:g}")
        if name == "mask_ratio" and not 0.0 <= value < 1.0:
            raise ConfigError(f"mask_ratio must be in [0, 1), got {value}")
        if name == "train_fraction" and not 0.0 < value <= 1.0:
            raise ConfigError(f"train_fraction must be in (0, 1], got {value}")
        if name == "weight_decay" and value < 0:
            raise ConfigError(f"weight_decay must be at least 0, got {value}")
    elif name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ConfigError(f"{name} must be one of {', '.join(map(repr, _CHOICES[name]))}, got {value!r}")
    elif name == "loss_weights":
        if not isinstance(value, dict):
            raise ConfigError(f"loss_weights must be a mapping objective -> weight, got {value!r}")
        for k, w in value.items():
            _check_type(f"loss_weights.{k}", w, (int, float))
            if w < 0:
                raise ConfigError(f"loss weight {k}={w} is negative")
    elif name == "adam_betas":
        if not (isinstance(value, tuple) and len(value) == 2 and all(
                isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in value)):
            raise ConfigError(f"adam_betas must be two numbers in [0, 1), got {value!r}")
    elif name == "max_users":
        if value is not None:
            _check_type(name, value, int)
            if value < 1:
                raise ConfigError(f"max_users must be at least 1 (or null for all), got {value}")
    elif name == "device":
        _check_type(name, value, str)
        if not (value in ("auto", "cpu") or value.startswith("cuda")):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {value!r}")
    elif name in SPEED_FLAGS or name in OPT_IN_SPEED_FLAGS or name in ("progress", *NUMERIC_SPEED_FLAGS):
        _check_type(name, value, bool)


def _architecture_class():
    """Architecture: the ARCH_FIELDS of Config (same names, types and defaults), frozen. What every model is
    built from; run-time options (speed flags, device, seeds) never reach a model's constructor."""
    specs = [(f.name, f.type, field(default=f.default)) for f in fields(Config) if f.name in ARCH_FIELDS]
    return dataclasses.make_dataclass(
        "Architecture", specs, frozen=True,
        namespace={"__doc__": _architecture_class.__doc__, "__module__": __name__,
                   "replace": lambda self, **changes: dataclasses.replace(self, **changes)})


Architecture = _architecture_class()


def parse_overrides(items: list[str]) -> dict:
    """``--set KEY=VALUE`` items -> config overrides. VALUE is JSON where it parses (``3``, ``0.5``, ``true``,
    ``null``, ``[0.9, 0.98]``), else a string; ``loss_weights.NAME=W`` sets one weight. Types and ranges are
    checked when the Config is built (:meth:`Config.validate`)."""
    out: dict = {}
    known = {f.name for f in fields(Config)} | {"fast"}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, text = item.split("=", 1)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if key.startswith("loss_weights."):
            out.setdefault("loss_weights", {})[key.split(".", 1)[1]] = value
        elif key not in known:
            raise ConfigError(f"--set {item!r}: unknown config field {key!r}")
        else:
            out[key] = value
    return out


PRESETS: dict[str, dict] = {
    "paper": {},
    "official": {"pretrain_batch_size": 100, "pretrain_epochs": 150},
    "tiny": {
        "max_users": 300,
        "pretrain_epochs": 2,
        "finetune_epochs": 4,
        "patience": 2,
        "pretrain_batch_size": 100,
        "finetune_batch_size": 64,
    },
}


def preset(name: str = "paper", **overrides) -> Config:
    """The named preset, with optional field overrides: ``preset("tiny", seed=3)``."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    try:
        return Config().replace(**{**PRESETS[name], **overrides})
    except TypeError as exc:  # a value dataclasses cannot even compare
        raise ConfigError(f"invalid config value: {exc}") from None
