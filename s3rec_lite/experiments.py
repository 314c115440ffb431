"""The paper's experiments as lists of runs, one runner, and a results store with provenance.

    python -m s3rec_lite experiment NAME [--datasets D ...] [--seeds N] [--parallel K] [--device cuda]
                                         [--preset P] [--set KEY=VALUE] [--only KEY] [--results DIR] [--runs DIR]

Experiments (``EXPERIMENTS``):

``table2``           Table 2: every model of ``zoo.MODELS`` on the five datasets; the six sampled metrics and
                     full-ranking HR/NDCG@5/10/20 on the test set.
``ablation``         Fig. 2: full S3-Rec and S3-Rec with one objective removed (its weight set to 0).
``sparsity``         Fig. 4: 20/40/60/80/100% of the users' training parts (``train_fraction``), S3-Rec vs
                     SASRec (and FDSA, GRU4Rec when the zoo has them).
``pretrain_epochs``  Fig. 5: one pre-training run that keeps a checkpoint every 10 epochs, then one fine-tuning
                     run from each checkpoint (0 = no pre-training).
``convergence``      Fig. 6: the per-epoch validation curves of the ``table2`` runs on Beauty and Toys (it
                     declares those runs, so running it only trains what ``table2`` has not stored yet).

Registering another experiment (e.g. from ``s3rec_lite.baselines``)::

    from s3rec_lite.experiments import Run, register_experiment

    def other_models(preset: str, datasets: list[str] | None, seeds: list[int]) -> list[Run]:
        datasets = datasets or ["Beauty"]
        return [Run("other_models", d, m, s) for d in datasets for m in ("GRU4Rec", "FDSA") for s in seeds]

    register_experiment("other_models", other_models, "what it reproduces (one line)")

The signature is ``fn(preset: str, datasets: list[str] | None, seeds: list[int]) -> list[Run]``: ``preset`` is
the settings preset name ("paper", "official", "tiny"), ``datasets`` the ``--datasets`` given on the command
line (``None``: the experiment's own default for that preset), ``seeds`` the seeds to run (1..N).

Store layout: one JSON per run at ``<results>/<preset>/<Run.key>.json`` (default ``results/``, committed);
checkpoints and resumable training state under ``<runs>/<preset>/<Run.key>/<config hash>/`` (default
``runs/``, git-ignored). A run whose JSON exists with the same configuration is skipped; an interrupted run
resumes from its last finished epoch when started again.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import ConfigError, S3RecError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = REPO_ROOT / "results"
DEFAULT_RUNS = REPO_ROOT / "runs"

PAPER_DATASETS = ("Beauty", "Sports_and_Outdoors", "Toys_and_Games", "Yelp", "LastFM")
OBJECTIVE_NAMES = ("aap", "mip", "map", "sp")
FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)

#: Extra settings the experiments use on top of the ``tiny`` preset, so each finishes in minutes on a CPU.
TINY_OVERRIDES = {"max_users": 200, "pretrain_epochs": 2, "finetune_epochs": 6, "patience": 3}


# ------------------------------------------------------------------------------------------------
# Runs and the registry
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One training run of an experiment.

    ``experiment``: the store folder it belongs to; ``overrides``: config fields on top of the preset (e.g.
    ``{"loss_weights": {"aap": 0.0}}``); ``tag``: names the variant in the store (e.g. ``"no-aap"``).
    ``stage``: ``"train"`` (pre-train if the zoo says so, then fine-tune and test) or ``"pretrain"`` (pre-train
    only, keeping a checkpoint every ``save_every`` epochs). ``from_pretrain``: ``(key of a "pretrain" run,
    epoch)``: fine-tune from that run's checkpoint after ``epoch`` epochs (0 = from scratch).
    """

    experiment: str
    dataset: str
    model: str
    seed: int
    overrides: dict = field(default_factory=dict, hash=False, compare=False)
    tag: str = ""
    stage: str = "train"
    save_every: int = 0
    from_pretrain: tuple | None = None

    @property
    def key(self) -> str:
        name = self.model + (f"-{self.tag}" if self.tag else "")
        return f"{self.experiment}/{self.dataset}/{name}/seed{self.seed}"

    @property
    def depends_on(self) -> str | None:
        return self.from_pretrain[0] if self.from_pretrain else None


@dataclass
class Experiment:
    name: str
    fn: Callable  # (preset, datasets | None, seeds) -> list[Run]
    description: str = ""


EXPERIMENTS: dict[str, Experiment] = {}


def register_experiment(name: str, fn: Callable, description: str = "") -> Callable:
    """Register ``fn(preset: str, datasets: list[str] | None, seeds: list[int]) -> list[Run]`` as ``name``
    (usable as ``python -m s3rec_lite experiment NAME``). Returns ``fn``, so it also works as a decorator
    through ``functools.partial``; registering a name again replaces it."""
    EXPERIMENTS[name] = Experiment(name, fn, description or (fn.__doc__ or "").strip().split("\n")[0])
    return fn


def get_experiment(name: str) -> Experiment:
    _load_plugins()
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def _load_plugins() -> None:
    """Modules that register experiments or models on import (the baselines helper's)."""
    from .zoo import _load_baselines

    _load_baselines()


def zoo_models(wanted: tuple | None = None) -> list[str]:
    """The zoo's model names (all, or those of ``wanted`` that exist), S3-Rec first."""
    from .zoo import MODELS

    _load_plugins()
    names = list(MODELS) if wanted is None else [m for m in wanted if m in MODELS]
    return sorted(names, key=lambda m: (m != "S3-Rec", m != "SASRec", names.index(m)))


def _tiny(preset: str) -> bool:
    return preset == "tiny"


def _datasets(preset: str, given, paper: tuple, tiny: tuple) -> list[str]:
    return list(given) if given else list(tiny if _tiny(preset) else paper)


def _base(preset: str) -> dict:
    return dict(TINY_OVERRIDES) if _tiny(preset) else {}


def table2(preset: str, datasets, seeds) -> list[Run]:
    """Table 2: every zoo model on every dataset, sampled and full-ranking metrics."""
    ds = _datasets(preset, datasets, PAPER_DATASETS, ("LastFM", "Beauty"))
    return [Run("table2", d, m, s, _base(preset)) for d in ds for m in zoo_models() for s in seeds]


def ablation(preset: str, datasets, seeds) -> list[Run]:
    """Fig. 2: S3-Rec with all four objectives, and with each one removed (weight 0)."""
    ds = _datasets(preset, datasets, ("Beauty", "Sports_and_Outdoors", "Toys_and_Games", "LastFM"), ("LastFM",))
    runs = []
    for d in ds:
        for s in seeds:
            runs.append(Run("ablation", d, "S3-Rec", s, _base(preset), tag="full"))
            for obj in OBJECTIVE_NAMES:
                runs.append(Run("ablation", d, "S3-Rec", s, {**_base(preset), "loss_weights": {obj: 0.0}}, tag=f"no-{obj}"))
    return runs


def sparsity(preset: str, datasets, seeds) -> list[Run]:
    """Fig. 4: 20-100% of the training data (training parts only; evaluation users unchanged)."""
    ds = _datasets(preset, datasets, ("Sports_and_Outdoors", "Yelp"), ("LastFM",))
    models = zoo_models(("S3-Rec", "SASRec", "FDSA", "GRU4Rec"))
    if _tiny(preset):
        models = models[:2]
    return [Run("sparsity", d, m, s, {**_base(preset), "train_fraction": f}, tag=f"frac{round(f * 100)}")
            for d in ds for m in models for f in FRACTIONS for s in seeds]


def pretrain_epochs(preset: str, datasets, seeds) -> list[Run]:
    """Fig. 5: fine-tune from the checkpoints after 0, 10, ..., 100 pre-training epochs (tiny: 0..4)."""
    ds = _datasets(preset, datasets, ("Beauty", "Toys_and_Games"), ("LastFM",))
    total, every = (4, 1) if _tiny(preset) else (100, 10)
    base = {**_base(preset), "pretrain_epochs": total}
    runs = []
    for d in ds:
        for s in seeds:
            pre = Run("pretrain_epochs", d, "S3-Rec", s, base, tag="pretrain", stage="pretrain", save_every=every)
            runs.append(pre)
            runs += [Run("pretrain_epochs", d, "S3-Rec", s, base, tag=f"pt{e:03d}", from_pretrain=(pre.key, e))
                     for e in range(0, total + 1, every)]
    return runs


def convergence(preset: str, datasets, seeds) -> list[Run]:
    """Fig. 6: validation NDCG@10 per fine-tuning epoch, read from the table2 runs (no extra runs)."""
    ds = _datasets(preset, datasets, ("Beauty", "Toys_and_Games"), ("LastFM", "Beauty"))
    return table2(preset, ds, seeds)


register_experiment("table2", table2)
register_experiment("ablation", ablation)
register_experiment("sparsity", sparsity)
register_experiment("pretrain_epochs", pretrain_epochs)
register_experiment("convergence", convergence)
