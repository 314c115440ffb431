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
from dataclasses import dataclass, field, fields

from .errors import ConfigError

#: The paper's loss weights (Section 5.1): lambda for AAP, MIP, MAP and SP.
PAPER_WEIGHTS = {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.5}


@dataclass
class Config:
    # --- model (Section 4 / 5.1) -------------------------------------------------------------
    hidden_size: int = 64  # d
    num_layers: int = 2  # self-attention blocks
    num_heads: int = 2  # h
    max_len: int = 50  # n, the longest input sequence (older items are cut)
    hidden_dropout: float = 0.5  # authors' code
    attention_dropout: float = 0.5  # authors' code
    init_std: float = 0.02  # N(0, 0.02), authors' code
    layer_norm_eps: float = 1e-12  # authors' code

    # --- pre-training (Section 3.4, 5.1) -----------------------------------------------------
    objective_variant: str = "official"  # "official" (the released code) or "paper" (Eq. 2-3, 10-17)
    loss_weights: dict = field(default_factory=lambda: dict(PAPER_WEIGHTS))
    mask_ratio: float = 0.2  # p, probability to mask each item for MIP/MAP
    pretrain_epochs: int = 100
    pretrain_batch_size: int = 200
    pretrain_lr: float = 1e-3
    num_negatives: int = 1  # sampled negative items/segments per positive (official code: 1)

    # --- fine-tuning (Section 3.5, Eq. 18) -----------------------------------------------------
    finetune_epochs: int = 200  # maximum; early stopping on validation MRR decides
    finetune_batch_size: int = 256
    finetune_lr: float = 1e-3
    patience: int = 10
    weight_decay: float = 0.0
    adam_betas: tuple = (0.9, 0.999)

    # --- data and evaluation -------------------------------------------------------------------
    max_users: int | None = None  # keep only the first N users (tiny runs)
    train_fraction: float = 1.0  # keep this share of users' training parts (sparsity study, Fig. 4)
    num_eval_negatives: int = 99
    negatives_seed: int = 12345  # for generated evaluation negatives (independent of `seed`)
    eval_batch_size: int = 1024

    # --- running --------------------------------------------------------------------------------
    seed: int = 42
    device: str = "auto"  # "auto", "cpu" or "cuda"
    fast: bool = True  # fused/compiled paths where available; False gives the plain reference path
    progress: bool = True  # tqdm bars

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ConfigError(f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})")
        if self.objective_variant not in ("official", "paper"):
            raise ConfigError(f"objective_variant must be 'official' or 'paper', got {self.objective_variant!r}")
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ConfigError(f"mask_ratio must be in [0, 1), got {self.mask_ratio}")
        if not 0.0 < self.train_fraction <= 1.0:
            raise ConfigError(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        for name, w in self.loss_weights.items():
            if w < 0:
                raise ConfigError(f"loss weight {name}={w} is negative")
        if self.max_len < 2:
            raise ConfigError("max_len must be at least 2")
        if isinstance(self.adam_betas, list):
            self.adam_betas = tuple(self.adam_betas)

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads

    def replace(self, **overrides) -> "Config":
        """A copy with some fields changed (unknown names raise a ConfigError)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        if "loss_weights" in overrides:
            overrides["loss_weights"] = {**self.loss_weights, **overrides["loss_weights"]}
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["adam_betas"] = list(self.adam_betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def training_fingerprint(self) -> str:
        """What must match for a saved run to be resumed (everything but presentation fields)."""
        d = self.to_dict()
        for k in ("progress", "device", "eval_batch_size", "pretrain_epochs", "finetune_epochs"):
            d.pop(k)
        return json.dumps(d, sort_keys=True)


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
    return Config().replace(**{**PRESETS[name], **overrides})
