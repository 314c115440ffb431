"""The paper's experiments as lists of runs, one runner, and a results store with provenance.

    python -m s3rec_lite experiment NAME [--datasets D ...] [--seeds N] [--parallel K] [--device cuda]
                                         [--preset P] [--models M ...] [--set KEY=VALUE] [--only KEY] [--list]
                                         [--results DIR] [--runs DIR] [--quiet]

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
``other_models``     Fig. 3: six models without and with the S3-Rec objectives (Caser, AutoInt: embeddings).
``plateau``          SASRec with patience 30 instead of 10: what the early plateau costs Table 2's SASRec.
``bf16``             ``pretrain_epochs``'s LastFM pre-training with ``bf16_pretraining`` (the encoder's products in
                     bfloat16), fine-tuned from epochs 50, 100 and 150; and the released checkpoint fine-tuned
                     with ``bf16_finetuning``: do the faster paths train as well as fp32?

Registering another experiment (e.g. from ``s3rec_lite.baselines``)::

    from s3rec_lite.experiments import Run, register_experiment

    def other_models(preset: str, datasets: list[str] | None, seeds: list[int]) -> list[Run]:
        datasets = datasets or ["Beauty"]
        return [Run("other_models", d, m, s) for d in datasets for m in ("GRU4Rec", "FDSA") for s in seeds]

    register_experiment("other_models", other_models, "what it reproduces (one line)")

The signature is ``fn(preset: str, datasets: list[str] | None, seeds: list[int]) -> list[Run]``: ``preset`` is
the settings preset name ("paper", "official", "tiny"), ``datasets`` the ``--datasets`` given on the command
line (``None``: the experiment's own default for that preset), ``seeds`` the seeds to run (1..N).

Store layout: one JSON per run at ``<results>/<preset>/<Run.key>.json`` (default ``results/`` of the checkout,
committed, or ``$S3REC_RESULTS_DIR``);
checkpoints and resumable training state under ``<runs>/<preset>/<Run.key>/<config hash>/`` (default
``runs/``, git-ignored). A run whose JSON exists with the same configuration is skipped; a run identical to
one another experiment stored (same dataset, model, seed and configuration) is copied with ``reused_from``;
an interrupted run resumes from its last finished epoch when started again.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import parse_overrides
from .errors import ConfigError, S3RecError, TrainingFault, guarded
from .train import resolve_device
from .zoo import MODELS, get_model_spec

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = Path(os.environ.get("S3REC_RESULTS_DIR") or REPO_ROOT / "results")  # the committed store
DEFAULT_RUNS = REPO_ROOT / "runs"

from .reference import PAPER_DATASETS, dataset_rank, in_paper_order  # noqa: E402,F401  the book's dataset order
OBJECTIVE_NAMES = ("aap", "mip", "map", "sp")
FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)

#: Extra settings the experiments use on top of the ``tiny`` preset, so each finishes in minutes on a CPU.
TINY_OVERRIDES = {"max_users": 100, "max_len": 20, "pretrain_epochs": 2, "finetune_epochs": 6, "patience": 3}


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


def declared_runs(exp: Experiment, preset_name: str, datasets, seeds: list[int], pretrain_seeds: int | None = None,
                  extra: dict | None = None) -> list[Run]:
    """``exp``'s runs; ``pretrain_seeds`` goes to experiments that take it (a ConfigError for the others), and
    ``extra`` (the command line's ``--set``) to those whose list of runs depends on it (an ``extra`` keyword: e.g.
    ``pretrain_epochs``, whose checkpoints follow ``--set pretrain_epochs=N``)."""
    params = inspect.signature(exp.fn).parameters
    kwargs = {"extra": dict(extra or {})} if "extra" in params else {}
    if pretrain_seeds is None:
        return exp.fn(preset_name, datasets, seeds, **kwargs)
    if pretrain_seeds < 1:
        raise ConfigError(f"--pretrain-seeds must be at least 1, got {pretrain_seeds}")
    if "pretrain_seeds" not in params:
        raise ConfigError(f"experiment {exp.name} does not take --pretrain-seeds (each of its runs pre-trains once)")
    return exp.fn(preset_name, datasets, seeds, pretrain_seeds=pretrain_seeds, **kwargs)


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def zoo_models(wanted: tuple | None = None) -> list[str]:
    """The zoo's model names (all, or those of ``wanted`` that exist), S3-Rec first."""
    names = list(MODELS) if wanted is None else [m for m in wanted if m in MODELS]
    return sorted(names, key=lambda m: (m != "S3-Rec", m != "SASRec", names.index(m)))


def _tiny(preset: str) -> bool:
    return preset == "tiny"


def _datasets(preset: str, given, paper: tuple, tiny: tuple) -> list[str]:
    return list(given) if given else list(tiny if _tiny(preset) else paper)


def _base(preset: str) -> dict:
    return dict(TINY_OVERRIDES) if _tiny(preset) else {}


def table2_models() -> list[str]:
    """The models of the paper's Table 2 that the zoo has (S3-Rec, SASRec, and the baselines registered),
    and ``S3-Rec-released``: the authors' released pre-training + our fine-tuning, right after S3-Rec."""
    from .reference import PAPER_MODELS

    names = zoo_models(PAPER_MODELS)
    return names[:1] + ["S3-Rec-released"] + names[1:] if names[:1] == ["S3-Rec"] else names


def table2(preset: str, datasets, seeds) -> list[Run]:
    """Table 2: every zoo model of the paper's Table 2 on every dataset, sampled and full-ranking metrics."""
    ds = _datasets(preset, datasets, PAPER_DATASETS, ("LastFM", "Beauty"))
    return [Run("table2", d, m, s, _base(preset)) for d in ds for m in table2_models() for s in seeds]


def ablation(preset: str, datasets, seeds, pretrain_seeds: int | None = None) -> list[Run]:
    """Fig. 2: S3-Rec with all four objectives, and with each one removed (weight 0); FDSA with every seed as
    the reference line (not in the tiny preset).

    ``pretrain_seeds`` (``--pretrain-seeds P``): ``None`` (default) gives each seed its own pre-training (run
    ``S3-Rec-<variant>/seed<S>`` pre-trains with seed S, then fine-tunes with seed S); ``P`` crosses pre-training
    seeds 1..P with every fine-tuning seed: the same runs for S <= P, plus fine-tunings
    ``S3-Rec-<variant>-pre<P>/seed<S>`` from the pre-training of run ``S3-Rec-<variant>/seed<P>`` (see
    :func:`_crossed`), so that a verdict's standard error can hold both spreads at the cost of P pre-trainings."""
    ds = _datasets(preset, datasets, ("Beauty", "Sports_and_Outdoors", "Toys_and_Games", "LastFM"), ("LastFM",))
    runs = []
    for d in ds:
        variants = [("full", _base(preset))] + [(f"no-{o}", {**_base(preset), "loss_weights": {o: 0.0}})
                                                for o in OBJECTIVE_NAMES]
        for tag, overrides in variants:
            runs += _crossed("ablation", d, overrides, tag, seeds, pretrain_seeds)
        if not _tiny(preset):
            runs += [Run("ablation", d, "FDSA", s, _base(preset)) for s in seeds]
    return _pretrainings_first(runs)


def _crossed(experiment: str, dataset: str, overrides: dict, tag: str, seeds, pretrain_seeds: int | None) -> list[Run]:
    """S3-Rec runs of one setting: ``S3-Rec-<tag>/seed<S>`` pre-trains and fine-tunes with seed S (the train
    stage), for every S in ``seeds`` (``pretrain_seeds`` None) or for S <= ``pretrain_seeds``; with
    ``pretrain_seeds`` P, also a fine-tuning with every other seed of ``seeds`` from each of those P
    pre-trainings (``S3-Rec-<tag>-pre<P>/seed<S>``, ``from_pretrain=(key, "final")``)."""
    train = [Run(experiment, dataset, "S3-Rec", s, overrides, tag=tag)
             for s in (seeds if pretrain_seeds is None else range(1, pretrain_seeds + 1))]
    extra = [] if pretrain_seeds is None else [
        Run(experiment, dataset, "S3-Rec", s, overrides, tag=f"{tag}-pre{pre.seed}", from_pretrain=(pre.key, "final"))
        for pre in train for s in seeds if s != pre.seed]
    return train + extra


def _pretrainings_first(runs: list[Run]) -> list[Run]:
    """Runs that pre-train first, every setting's first pre-training, then the second, ...; each followed at once
    by the fine-tunings that start from it, then the rest in their order. A scheduler that starts the first run
    whose pre-training has finished (scripts/campaign.py) so finishes one setting's seeds before the next
    setting's: a sweep point or a variant is complete, and its checkpoint no longer needed in ``runs/``, as soon
    as possible (a checkpoint lost with a machine means pre-training again)."""
    first = sorted((r for r in runs if r.stage == "pretrain" or (r.model == "S3-Rec" and r.from_pretrain is None)),
                   key=lambda r: r.seed)
    after = {p.key: [r for r in runs if r.depends_on == p.key] for p in first}
    ordered = [r for p in first for r in (p, *after[p.key])]
    return ordered + [r for r in runs if r not in ordered]


def sparsity(preset: str, datasets, seeds) -> list[Run]:
    """Fig. 4: 20-100% of the training data (training parts only; evaluation users unchanged)."""
    ds = _datasets(preset, datasets, ("Sports_and_Outdoors", "Yelp"), ("LastFM",))
    models = zoo_models(("S3-Rec", "SASRec", "FDSA", "GRU4Rec"))
    if _tiny(preset):
        models = models[:2]
    return [Run("sparsity", d, m, s, {**_base(preset), "train_fraction": f}, tag=f"frac{round(f * 100)}")
            for d in ds for m in models for f in FRACTIONS for s in seeds]


def pretrain_epochs(preset: str, datasets, seeds, extra: dict | None = None) -> list[Run]:
    """Fig. 5: one pre-training run (the first seed) keeping a checkpoint every 10 epochs up to the preset's
    ``pretrain_epochs`` (``official``: the authors' 150 at batch 100; ``paper``: 100; tiny: 4, every epoch) or
    the command line's ``--set pretrain_epochs=N`` (``extra``), then fine-tuning from each checkpoint with every
    seed (epoch 0 = no pre-training)."""
    from .config import preset as make_preset

    ds = _datasets(preset, datasets, ("Beauty", "Toys_and_Games"), ("LastFM",))
    length = (extra or {}).get("pretrain_epochs") or make_preset(preset).pretrain_epochs
    total, every = (4, 1) if _tiny(preset) else (int(length), 10)
    base = {**_base(preset), "pretrain_epochs": total}
    return [run for d in ds for run in _pretrain_and_finetune("pretrain_epochs", d, base, seeds, range(0, total + 1, every))]


def _pretrain_and_finetune(experiment: str, dataset: str, base: dict, seeds, epochs: range) -> list[Run]:
    """One S3-Rec pre-training (the first seed) keeping a checkpoint every ``epochs.step`` epochs, then a
    fine-tuning from the checkpoint of each of ``epochs`` (0: none) with every seed."""
    pre = Run(experiment, dataset, "S3-Rec", seeds[0], base, tag="pretrain", stage="pretrain", save_every=epochs.step)
    return [pre] + [Run(experiment, dataset, "S3-Rec", s, base, tag=f"pt{e:03d}", from_pretrain=(pre.key, e))
                    for s in seeds for e in epochs]


def convergence(preset: str, datasets, seeds) -> list[Run]:
    """Fig. 6: validation NDCG@10 per fine-tuning epoch, read from the table2 runs (no extra runs)."""
    ds = _datasets(preset, datasets, ("Beauty", "Toys_and_Games"), ("LastFM", "Beauty"))
    return table2(preset, ds, seeds)


#: Fig. 3's models, each without and with pre-training: (baseline, pre-trained variant).
FIG3_PAIRS = [("GRU4Rec", "GRU4Rec+pretrain"), ("GRU4Rec_F", "GRU4Rec_F+pretrain"), ("Caser", "Caser+pretrain"),
              ("SASRec", "SASRec+pretrain"), ("SASRec_F", "SASRec_F+pretrain"), ("AutoInt", "AutoInt+pretrain")]


def other_models(preset: str, datasets, seeds) -> list[Run]:
    """Fig. 3: GRU4Rec, GRU4Rec_F, Caser, SASRec, SASRec_F and AutoInt without and with S3-Rec pre-training
    (Caser and AutoInt: only their embeddings start from S3-Rec's). The paper does not say which datasets its
    Fig. 3 uses; the full run's default (Beauty, Yelp) is our choice."""
    ds = _datasets(preset, datasets, ("Beauty", "Yelp"), ("LastFM",))
    models = [m for pair in FIG3_PAIRS for m in pair]
    return [Run("other_models", d, m, s, _base(preset)) for d in ds for m in models for s in seeds]


def plateau(preset: str, datasets, seeds) -> list[Run]:
    """The SASRec plateau (chapter 20): SASRec fine-tuned with a longer patience (30 instead of the paper's 10),
    so that a run that would stop on the early plateau gets the chance to climb out of it. Labelled
    ``patience30``; Table 2 itself keeps the paper's protocol."""
    ds = _datasets(preset, datasets, ("LastFM",), ("LastFM",))
    return [Run("plateau", d, "SASRec", s, {**_base(preset), "patience": 30}, tag="patience30") for d in ds for s in seeds]


def bf16(preset: str, datasets, seeds) -> list[Run]:
    """``pretrain_epochs`` with the opt-in ``bf16_pretraining`` (and the ``packed_pretraining`` it works in): one
    pre-training run (the first seed) with a checkpoint every 50 epochs (tiny: 4 epochs, every 2), fine-tuned
    from each with every seed; then ``S3-Rec-released`` fine-tuned with ``bf16_finetuning`` (tag ``bf16ft``),
    every seed. Compared with ``pretrain_epochs``'s and ``table2``'s fp32 runs (chapter 19)."""
    from .config import preset as make_preset

    ds = _datasets(preset, datasets, ("LastFM",), ("LastFM",))
    total, every = (4, 2) if _tiny(preset) else (make_preset(preset).pretrain_epochs, 50)
    base = {**_base(preset), "pretrain_epochs": total, "packed_pretraining": True, "bf16_pretraining": True}
    tuned = {**_base(preset), "packed_finetuning": True, "bf16_finetuning": True}
    return [run for d in ds for run in _pretrain_and_finetune("bf16", d, base, seeds, range(every, total + 1, every))
            + [Run("bf16", d, "S3-Rec-released", s, tuned, tag="bf16ft") for s in seeds]]


#: Chapter 13's sweep: each knob alone over these values, the others at the paper's point (mask ratio 0.2,
#: PAPER_WEIGHTS); every weight from 0 to twice the paper's.
SWEEP = {"mask_ratio": (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8), "aap": (0.0, 0.1, 0.2, 0.3, 0.4),
         "mip": (0.0, 0.5, 1.0, 1.5, 2.0), "map": (0.0, 0.5, 1.0, 1.5, 2.0), "sp": (0.0, 0.25, 0.5, 0.75, 1.0)}


def sweep_point(tag: str) -> tuple[str, float | None]:
    """``(knob, value)`` of a ``sweep`` run's tag (``paper`` -> ``("paper", None)``, ``mask_ratio0.3`` ->
    ``("mask_ratio", 0.3)``, ``aap0-pre1`` -> ``("aap", 0.0)``)."""
    return _knob_of(tag.split("-pre")[0], SWEEP, "sweep")


def _knob_of(tag: str, knobs, experiment: str) -> tuple[str, float | None]:
    """``paper`` -> ``("paper", None)``; ``<knob><value>`` -> ``(knob, value)`` for a knob of ``knobs``."""
    if tag == "paper":
        return "paper", None
    for knob in knobs:
        if tag.startswith(knob):
            return knob, float(tag[len(knob):])
    raise ConfigError(f"not a tag of the {experiment} experiment: {tag!r}")


def sweep(preset: str, datasets, seeds, pretrain_seeds: int | None = 1) -> list[Run]:
    """Chapter 13's sliders: S3-Rec with the mask ratio, then each loss weight, moved alone from the paper's
    point (``SWEEP``); each point pre-trained once (``pretrain_seeds``, default 1) and fine-tuned with every
    seed from it. The points with a weight of 0 are the ablation's runs (stored as copies where they match)."""
    from .config import PAPER_WEIGHTS

    ds = _datasets(preset, datasets, ("LastFM",), ("LastFM",))
    paper = {"mask_ratio": 0.2, **PAPER_WEIGHTS}
    points = [("paper", {})] + [
        (f"{knob}{v:g}", {knob: v} if knob == "mask_ratio" else {"loss_weights": {knob: v}})
        for knob, values in SWEEP.items() for v in values if v != paper[knob]]
    runs = [r for d in ds for tag, change in points
            for r in _crossed("sweep", d, {**_base(preset), **change}, tag, seeds, pretrain_seeds)]
    return _pretrainings_first(runs)


register_experiment("table2", table2)
register_experiment("ablation", ablation)
register_experiment("sparsity", sparsity)
register_experiment("pretrain_epochs", pretrain_epochs)
register_experiment("convergence", convergence)
register_experiment("other_models", other_models)
register_experiment("plateau", plateau)
register_experiment("bf16", bf16)
register_experiment("sweep", sweep)


# ------------------------------------------------------------------------------------------------
# Running one run
# ------------------------------------------------------------------------------------------------
def run_config(run: Run, preset_name: str, extra: dict | None = None, device: str = "auto", progress: bool = False):
    """The full config of ``run``: the preset, the run's overrides, then the command line's ``--set``."""
    from .config import preset

    overrides = {**run.overrides}
    for k, v in (extra or {}).items():
        if k == "loss_weights":
            overrides["loss_weights"] = {**overrides.get("loss_weights", {}), **v}
        else:
            overrides[k] = v
    return preset(preset_name, **{"seed": run.seed, "device": device, "progress": progress, **overrides})


def config_hash(cfg) -> str:
    d = json.loads(cfg.training_fingerprint())
    d["pretrain_epochs"], d["finetune_epochs"] = cfg.pretrain_epochs, cfg.finetune_epochs
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


def device_kind(device: str = "auto") -> str:
    """``cpu`` or ``cuda``: what ``device`` resolves to here."""
    return resolve_device(device).type


def result_path(results_root, preset_name: str, run: Run, device: str = "cpu") -> Path:
    """``<root>/<preset>/<key>.json`` for a CPU run; a GPU run of the same setting is stored beside it,
    never over it: ``<key>.cuda.json``."""
    kind = device_kind(device)
    return Path(results_root) / preset_name / (f"{run.key}.json" if kind == "cpu" else f"{run.key}.{kind}.json")


def read_result(path) -> dict:
    """A stored run's JSON; an S3RecError naming the file if it is not one (truncated, edited, not JSON)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise S3RecError(f"{path}: not a stored run's JSON ({exc}); restore it from git "
                         "(git checkout -- FILE) or delete it to run it again") from None
    if not isinstance(data, dict):
        raise S3RecError(f"{path}: not a stored run's JSON (a {type(data).__name__}, not an object)")
    return data


def _same_config(path: Path, cfg) -> dict | None:
    """The result stored at ``path`` if it exists and was made with ``cfg``'s configuration (its hash), else None."""
    if not path.exists():
        return None
    data = read_result(path)
    return data if data.get("config_hash") == config_hash(cfg) else None


def stored(results_root, preset_name: str, run: Run, cfg) -> dict | None:
    """The stored result of ``run`` on ``cfg.device``'s kind, if it exists and has the same configuration."""
    return _same_config(result_path(results_root, preset_name, run, cfg.device), cfg)


def stored_on_any_device(results_root, preset_name: str, run: Run, cfg) -> dict | None:
    """The stored result of ``run`` with ``cfg``'s configuration made on a CPU or on a GPU (the CPU's first):
    what the campaign counts as done, so that a lent GPU's runs leave the CPU's queue and the other way round."""
    for name in (f"{run.key}.json", f"{run.key}.cuda.json"):  # result_path's names, without asking for a GPU
        data = _same_config(Path(results_root) / preset_name / name, cfg)
        if data is not None:
            return data
    return None


def rerun_command(run: Run, preset_name: str, extra: dict | None, device: str, threads: int) -> str:
    """One shell command (relative paths; ``S3REC_DATA_DIR`` the only environment it needs) that re-creates
    exactly this run in ``reruns/`` and ends with its JSON line. On a CPU it gives the same metrics bit for
    bit (same thread count: matrix products sum in a thread-dependent order)."""
    parts = ["python -m s3rec_lite experiment", run.experiment, "--preset", preset_name, "--datasets", run.dataset,
             "--only", run.key, "--device", device_kind(device), "--threads", str(threads)]
    for k, v in (extra or {}).items():
        if k == "loss_weights":
            parts += [f"--set loss_weights.{o}={w}" for o, w in v.items()]
        else:
            parts += [f"--set {k}={json.dumps(v, separators=(',', ':'))}"]
    return " ".join(parts + ["--results reruns --runs reruns/runs --quiet"])


def summary_line(result: dict) -> str:
    """The JSON line a run ends with: its key, and the validation and test metrics."""
    return json.dumps({"key": result.get("key"), **{k: result[k] for k in ("valid", "test") if k in result}})


def run_folder(runs_root, preset_name: str, run: Run, cfg) -> Path:
    """Where ``run`` keeps its checkpoints and resumable state: ``runs/<preset>/<run key>/<config hash>/``."""
    return Path(runs_root) / preset_name / run.key / config_hash(cfg)


def pretrained_checkpoint(runs_root, preset_name: str, run: Run, cfg) -> Path:
    """Where the checkpoint that ``run`` fine-tunes from lies (``run.from_pretrain = (key, epoch)``): a "pretrain"
    run's ``pretrained-epoch-<epoch>.pt``, or for ``epoch == "final"`` the pre-training of a "train" run
    (``pretrain/pretrained.pt``). The pre-training run shares this run's settings but not always its seed."""
    pre_key, epoch = run.from_pretrain
    pre_seed = int(pre_key.rsplit("/seed", 1)[1])
    folder = Path(runs_root) / preset_name / pre_key / config_hash(cfg.replace(seed=pre_seed))  # the pre-training's run_folder
    return folder / "pretrain" / "pretrained.pt" if epoch == "final" else folder / f"pretrained-epoch-{epoch}.pt"


def check_checkpoints(runs: list[Run], cfgs: dict) -> None:
    """A ConfigError naming the first fine-tuning that starts from a checkpoint its pre-training never writes (an
    epoch past that run's ``pretrain_epochs`` or between its ``save_every`` checkpoints), before anything runs."""
    by_key = {r.key: r for r in runs}
    for r in runs:
        if not r.from_pretrain or r.from_pretrain[1] in (0, "final") or r.depends_on not in by_key:
            continue
        pre, epoch = by_key[r.depends_on], r.from_pretrain[1]
        length, every = cfgs[pre.key].pretrain_epochs, pre.save_every
        if every < 1 or epoch not in range(every, length + 1, every):  # the epochs whose checkpoints it writes
            raise ConfigError(f"run {r.key} fine-tunes from epoch {epoch} of {pre.key}, which pre-trains {length} "
                              f"epochs keeping a checkpoint every {every or 'no'} epochs: no such checkpoint")


def execute(run: Run, preset_name: str, results_root=DEFAULT_RESULTS, runs_root=DEFAULT_RUNS, extra=None,
            device: str = "auto", progress: bool = False, command: list[str] | None = None, on_epoch=None) -> dict:
    """Train and test one run (resuming from its checkpoints if any) and store its JSON atomically."""
    import torch

    from .pipeline import prepare_dataset, run_model
    from .provenance import write_json_atomic

    cfg = run_config(run, preset_name, extra, device, progress)
    ckpt = run_folder(runs_root, preset_name, run, cfg)
    head: dict = {"experiment": run.experiment, "key": run.key, "dataset": run.dataset, "model": get_model_spec(run.model).name,
                  "tag": run.tag, "stage": run.stage, "seed": run.seed, "preset": preset_name,
                  "overrides": run.overrides, "set": extra or {}}
    ds = prepare_dataset(run.dataset, cfg)
    kw: dict = {"on_epoch": on_epoch}
    if run.stage == "pretrain":
        kw.update(stage="pretrain", save_every=run.save_every)
    elif run.from_pretrain is not None:
        pre_key, epoch = run.from_pretrain
        head["from_pretrain"] = {"run": pre_key, "epoch": epoch}
        kw["stage"] = "finetune"
        if epoch != 0:
            path = pretrained_checkpoint(runs_root, preset_name, run, cfg)
            if not path.exists():
                raise S3RecError(f"{path}: checkpoint missing; run the pre-training run {pre_key} first")
            kw["checkpoint"] = path
            # which model it started from: the checkpoint's bytes, and its place under the runs folder
            head["from_pretrain"].update(checkpoint=path.relative_to(runs_root).as_posix(),
                                         sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    result = run_model(run.model, cfg, ds, ckpt, **kw)
    result.pop("stage")
    if "checkpoint" in result and "from_pretrain" in head:
        result["checkpoint"]["path"] = head["from_pretrain"]["checkpoint"]  # relative, as above
    if run.stage == "pretrain":
        result["checkpoints"] = [e for e in range(run.save_every, cfg.pretrain_epochs + 1, run.save_every or 1)]
    result = {**head, **{k: v for k, v in result.items() if k not in ("seed", "dataset")}}
    result["config_hash"] = config_hash(cfg)
    result["provenance"]["command"] = " ".join(command or ["python -m s3rec_lite experiment", run.experiment, "--preset",
                                                           preset_name, "--only", run.key])
    result["rerun"] = rerun_command(run, preset_name, extra, cfg.device, torch.get_num_threads())
    write_json_atomic(result, result_path(results_root, preset_name, run, cfg.device))
    return result


# ------------------------------------------------------------------------------------------------
# Reading the store
# ------------------------------------------------------------------------------------------------
def stored_device(path) -> str:
    """The device kind a stored run's file name says: ``seed1.json`` is ``cpu``, ``seed1.cuda.json`` is ``cuda``."""
    parts = Path(path).name.split(".")
    return parts[-2] if len(parts) > 2 else "cpu"


def load_results(experiment: str, preset_name: str = "tiny", results_root=DEFAULT_RESULTS,
                 device: str = "any") -> list[dict]:
    """The stored run JSONs of ``experiment`` (its folder ``<results>/<preset>/<experiment>/``), sorted by path.

    ``device``: ``"any"`` (default) one run per setting and seed: the CPU's (``seed<S>.json``) where it is
    stored, else the GPU's (``seed<S>.cuda.json``), so that runs a lent GPU made for the campaign count while a
    CPU run of the same setting and seed is never joined by its GPU twin; ``"cpu"`` the CPU runs only,
    ``"cuda"`` the GPU runs only, ``"all"`` both. Each run gets a ``device_kind`` field (``cpu`` or ``cuda``)
    from its file name, and the results chapters' scope boxes name the devices."""
    if device not in ("any", "cpu", "cuda", "all"):
        raise ConfigError(f"load_results: device must be 'any', 'cpu', 'cuda' or 'all', not {device!r}")
    folder = Path(results_root) / preset_name / experiment
    paths = [p for p in sorted(folder.rglob("*.json")) if not p.name.startswith(".")]
    if device == "any":  # a GPU file only where its CPU twin is missing
        paths = [p for p in paths if stored_device(p) == "cpu" or not p.with_name(p.name.split(".")[0] + ".json").exists()]
    return [{**read_result(p), "device_kind": stored_device(p)} for p in paths
            if device in ("any", "all") or stored_device(p) == device]


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from .config import PRESETS

    p = argparse.ArgumentParser(prog="python -m s3rec_lite experiment",
                                description="Run one of the paper's experiments into the results store.")
    p.add_argument("name", help="experiment: " + ", ".join(EXPERIMENTS))
    p.add_argument("--datasets", nargs="+", default=None, help="datasets (default: the experiment's, per preset)")
    p.add_argument("--seeds", type=int, default=None, help="run seeds 1..N (default: 3; tiny: 1)")
    p.add_argument("--parallel", type=int, default=None,
                   help="run K runs at once (subprocesses). Default: 2 on a CPU with 2+ cores (one thread each: "
                        "more runs per hour than one run on all cores, benchmarks/RESULTS.md), 1 on a GPU")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS), help="settings preset (default: paper)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field for every run, e.g. --set max_users=50 --set loss_weights.sp=0")
    p.add_argument("--models", nargs="+", default=None, help="run only the runs of these zoo models")
    p.add_argument("--only", action="append", default=None, metavar="KEY", help="run only this run key (repeatable)")
    p.add_argument("--results", default=str(DEFAULT_RESULTS), help="results store (default: results/)")
    p.add_argument("--runs", default=str(DEFAULT_RUNS), help="checkpoints (default: runs/, git-ignored)")
    p.add_argument("--list", action="store_true", help="list the runs and whether each is stored; run nothing")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads per run (default: all cores when one run is left; cores / K for K at once)")
    p.add_argument("--pretrain-seeds", type=int, default=None, metavar="P",
                   help="experiments with S3-Rec pre-training (ablation): cross pre-training seeds 1..P with the "
                        "fine-tuning seeds (default: each seed pre-trains its own model)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local (default): subprocesses on this machine; ray: each run a Ray task with its share of "
                        "CPUs or GPUs, on a local Ray instance or a cluster (--address; pip install 's3rec_lite[ray]'). "
                        "Both store the same JSONs with the same rerun commands")
    p.add_argument("--address", default=None, help="with --backend ray: the cluster to join (default: start a local one)")
    p.add_argument("--redo", action="store_true", help=argparse.SUPPRESS)  # the runner: train --only KEY again
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _check_datasets(names) -> None:
    from .data import DATASETS, SYNTHETIC_VARIANTS, search_dirs

    for n in names or ():
        if n in DATASETS or n in SYNTHETIC_VARIANTS:
            continue
        if not any((d / f"{n}.txt").exists() for d in search_dirs()):
            raise ConfigError(f"unknown dataset {n!r}; choose from {', '.join(DATASETS)} or synthetic")


def _order(runs: list[Run]) -> list[list[Run]]:
    """Waves: runs that depend on no pending run first, then those that depend on them."""
    keys = {r.key for r in runs}
    first = [r for r in runs if r.depends_on not in keys]
    second = [r for r in runs if r.depends_on in keys]
    return [w for w in (first, second) if w]


def default_parallel(device: str = "auto", cores: int | None = None) -> int:
    """How many runs at once when ``--parallel`` is not given: 2 on a CPU with at least 2 cores (on the 2-core
    machine of benchmarks/RESULTS.md, two one-thread runs finish 1.4x more epochs per hour than one two-thread
    run: small models scale badly across threads), 1 on a GPU."""
    cores = cores or os.cpu_count() or 1
    return 2 if device_kind(device) == "cpu" and cores >= 2 else 1


def worker_command(args, run: Run, at_once: int) -> list[str]:
    """The command of a worker process that runs ``run`` alone (``--only``), on its share of the CPU's threads
    (``args``: the runner's parsed arguments; ``at_once``: workers at the same time). The runner's
    ``--parallel`` and the campaign's scheduler start these."""
    cmd = [sys.executable, "-m", "s3rec_lite", "experiment", args.name, "--preset", args.preset, "--device",
           args.device, "--results", args.results, "--runs", args.runs, "--only", run.key, "--quiet",
           "--parallel", "1", "--threads", str(args.threads or max(1, (os.cpu_count() or 1) // at_once))]
    if args.datasets:
        cmd += ["--datasets", *args.datasets]
    if args.seeds:
        cmd += ["--seeds", str(args.seeds)]
    if args.models:
        cmd += ["--models", *args.models]
    if args.pretrain_seeds:
        cmd += ["--pretrain-seeds", str(args.pretrain_seeds)]
    for s in args.set:
        cmd += ["--set", s]
    return cmd


def main(argv=None) -> int:
    """``python -m s3rec_lite experiment ...``: one line and exit 2 for bad input, 1 for a failed run."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    return guarded(lambda: _main(args, argv))


def _main(args, argv) -> int:
    from tqdm.auto import tqdm

    exp = get_experiment(args.name)
    _check_datasets(args.datasets)
    if args.parallel is None:
        args.parallel = default_parallel(args.device)
    if args.parallel < 1:
        raise ConfigError("--parallel must be at least 1")
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    if args.seeds is not None and args.seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {args.seeds}")
    for flag, folder in (("--results", args.results), ("--runs", args.runs)):
        if Path(folder).exists() and not Path(folder).is_dir():
            raise ConfigError(f"{flag} {folder}: is a file, not a folder")
    n_seeds = args.seeds or (1 if _tiny(args.preset) else 3)
    for key in args.only or ():  # --only a key of a seed above the default: declare up to that seed
        tail = key.rsplit("/seed", 1)[-1]
        if tail.isdigit():
            n_seeds = max(n_seeds, int(tail))
    pretrain_seeds = args.pretrain_seeds
    for key in args.only or ():  # --only a crossed run (S3-Rec-<tag>-pre<P>/seed<S>): declare P pre-trainings
        name = key.rsplit("/seed", 1)[0]
        tail = name.rsplit("-pre", 1)[-1] if "-pre" in name else ""
        if tail.isdigit():
            pretrain_seeds = max(pretrain_seeds or 0, int(tail))
    extra = parse_overrides(args.set)
    runs = declared_runs(exp, args.preset, args.datasets, list(range(1, n_seeds + 1)), pretrain_seeds, extra)
    if args.only:
        missing = [k for k in args.only if k not in {r.key for r in runs}]
        if missing:
            raise ConfigError(f"no run {missing[0]!r} in experiment {args.name}")
        needed = set(args.only) | {r.depends_on for r in runs if r.key in args.only}  # and what they start from
        runs = [r for r in runs if r.key in needed]
    if args.models:
        names = {get_model_spec(m).name for m in args.models}  # unknown names: one clear error
        runs = [r for r in runs if r.model in names]
    cfgs = {r.key: run_config(r, args.preset, extra, args.device) for r in runs}  # validates --set early
    check_checkpoints(runs, cfgs)
    todo = [r for r in runs if stored(args.results, args.preset, r, cfgs[r.key]) is None
            or (args.redo and r.key in (args.only or ()))]
    if args.list:
        for r in runs:
            print(("todo   " if r in todo else "stored ") + r.key)
        print(f"{args.name} ({args.preset}): {len(runs) - len(todo)} of {len(runs)} runs stored, {len(todo)} to run")
        return 0
    redo = {r.key for r in todo if stored(args.results, args.preset, r, cfgs[r.key]) is not None}  # --redo: train
    todo = left_to_run(todo, runs, cfgs, args.results, args.runs, args.preset, redo)
    command = ["python -m s3rec_lite experiment", *argv]
    print(f"{args.name} ({args.preset}): {len(runs)} runs, {len(runs) - len(todo)} stored, {len(todo)} to run",
          file=sys.stderr)
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc=args.name, disable=args.quiet)
    if args.backend == "ray" and todo:
        _run_ray(args, todo, bar)
    elif min(args.parallel, len(todo)) > 1:
        _run_parallel(args, todo, bar, args.parallel)
    else:  # one at a time: in this process, on all its threads
        for wave in _order(todo):
            for r in wave:
                bar.set_postfix_str(r.key)
                res = execute(r, args.preset, args.results, args.runs, extra, args.device,
                              progress=not args.quiet and len(todo) == 1, command=command)
                bar.update(1)
                print(summary_line(res), flush=True)
    bar.close()
    return 0


def left_to_run(todo: list[Run], runs: list[Run], cfgs: dict, results_root, runs_root, preset_name: str,
                redo=frozenset()) -> list[Run]:
    """What the runner trains of ``todo`` (the declared ``runs`` not stored, and the keys of ``redo``: stored runs
    to train again because their checkpoints are gone): after storing a copy of each run that another experiment
    already made with the very same settings (:func:`_reuse_identical`; never a run of ``redo``: a copy writes no
    checkpoint), and with the pre-trainings whose checkpoints are gone put first
    (:func:`_redo_missing_pretraining`). The campaign's scheduler (scripts/campaign.py) asks the same question
    stage by stage."""
    todo = _reuse_identical(todo, cfgs, results_root, preset_name, redo)
    return _redo_missing_pretraining(todo, runs, cfgs, runs_root, preset_name)


def reuse_key(run: Run, cfg) -> tuple | None:
    """What makes two runs of different experiments the same run (dataset, model, seed, config, kind of device),
    for a run that can be reused (a train-stage run from scratch); None for the others."""
    if run.stage != "train" or run.from_pretrain is not None:
        return None
    return (run.dataset, get_model_spec(run.model).name, run.seed, config_hash(cfg), device_kind(cfg.device))


def _reuse_identical(todo: list[Run], cfgs: dict, results_root, preset_name: str, redo=frozenset()) -> list[Run]:
    """Store a copy, not a re-run, of a run that another experiment already made with the very same settings
    (e.g. the ablation's full S3-Rec is Table 2's S3-Rec; sparsity at 100% is Table 2). The copy keeps the
    original provenance and says where it came from (``reused_from``). Returns the runs still to train. The runs
    of ``redo`` (keys) are trained, not copied: they are done again for the checkpoints a copy does not write."""
    from .provenance import write_json_atomic

    candidates = [r for r in todo if r.key not in redo and reuse_key(r, cfgs[r.key]) is not None]
    if not candidates:
        return todo
    index = {}
    for path in sorted((Path(results_root) / preset_name).rglob("*.json")):
        if path.name.startswith("."):  # a file being written (files.atomic_file)
            continue
        data = read_result(path)
        if data.get("stage") == "train" and not data.get("from_pretrain") and not data.get("reused_from"):
            kind = stored_device(path)
            index.setdefault((data["dataset"], data["model"], data["seed"], data.get("config_hash"), kind), (path, data))
    left = list(todo)
    for r in candidates:
        found = index.get(reuse_key(r, cfgs[r.key]))
        if found is None or found[1]["key"] == r.key:
            continue  # nothing alike, or the run itself (stored, then asked for again): never a copy of itself
        path, data = found
        copy = {**data, "experiment": r.experiment, "key": r.key, "tag": r.tag, "overrides": r.overrides,
                "reused_from": data["key"]}
        write_json_atomic(copy, result_path(results_root, preset_name, r, cfgs[r.key].device))
        print(f"{r.key}: identical to the stored {data['key']}, reused", file=sys.stderr)
        left.remove(r)
    return left


def missing_pretrainings(todo: list[Run], runs: list[Run], cfgs: dict, runs_root, preset_name: str) -> list[Run]:
    """The stored pre-training runs of ``runs`` whose checkpoints are not in ``runs_root`` while a fine-tuning of
    ``todo`` (not stored yet) needs them: each must be done again first."""
    by_key = {r.key: r for r in runs}
    redo: list[Run] = []
    for r in todo:
        if not r.from_pretrain or r.from_pretrain[1] == 0:
            continue
        pre = by_key.get(r.depends_on)
        if pre is None or pre in todo or pre in redo:
            continue
        if not pretrained_checkpoint(runs_root, preset_name, r, cfgs[r.key]).exists():
            redo.append(pre)
    return redo


def _redo_missing_pretraining(todo: list[Run], runs: list[Run], cfgs: dict, runs_root, preset_name: str) -> list[Run]:
    """Fine-tuning runs that start from a stored pre-training run's checkpoint need that checkpoint in
    ``runs/``; on a fresh machine it is gone, so the pre-training run is done again first (its JSON is
    rewritten with the new run's provenance). Each goes just before the first run that needs it, so the order of
    ``todo`` (each setting's fine-tunings after its pre-training) holds."""
    redo = missing_pretrainings(todo, runs, cfgs, runs_root, preset_name)
    for pre in redo:
        print(f"{pre.key}: stored, but its checkpoints are not in {runs_root}: pre-training again", file=sys.stderr)
    first_need = {pre.key: next(i for i, r in enumerate(todo) if r.depends_on == pre.key) for pre in redo}
    return [r for i, t in enumerate(todo) for r in [p for p in redo if first_need[p.key] == i] + [t]]


def _run_ray(args, todo: list[Run], bar) -> None:
    """``--backend ray``: every run a Ray task that starts the same worker process as the local runner (so the
    stored JSON and its ``rerun`` command are the same), with ``--threads`` CPUs (default 1) or, on a GPU, a
    ``1 / --parallel`` share of one. A fine-tuning's task takes its pre-training's task as an argument, so Ray
    starts it only once that one has finished. The results and runs folders must be reachable from every node
    (one machine, or a shared file system)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install 's3rec_lite[ray]'") from None
    args.results, args.runs = str(Path(args.results).resolve()), str(Path(args.runs).resolve())
    threads = args.threads or 1
    args.threads = threads
    extra = parse_overrides(args.set)
    redo = {r.key for r in todo if stored(args.results, args.preset, r, run_config(r, args.preset, extra, args.device))}
    env = {"PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
           "S3REC_DATA_DIR": os.environ.get("S3REC_DATA_DIR", "")}
    ray.init(address=args.address, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False,
             configure_logging=False, **({} if args.address else {"num_cpus": max(threads, os.cpu_count() or 1)}))

    @ray.remote
    def work(cmd: list[str], log: str, env: dict, *needs: int) -> int:
        if any(code != 0 for code in needs):
            return -1  # the pre-training it starts from failed
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as fh:
            return subprocess.call(cmd, cwd=str(REPO_ROOT), stdout=fh, stderr=subprocess.STDOUT,
                                   env={**os.environ, **{k: v for k, v in env.items() if v}})

    gpu = device_kind(args.device) == "cuda"
    share = {"num_gpus": 1.0 / max(1, args.parallel), "num_cpus": threads} if gpu else {"num_cpus": threads}
    refs: dict = {}
    for wave in _order(todo):
        for r in wave:
            log = str(Path(args.runs) / args.preset / r.key / "log.txt")
            cmd = worker_command(args, r, 1) + (["--redo"] if r.key in redo else [])
            needs = [refs[r.depends_on]] if r.depends_on in refs else []
            refs[r.key] = work.options(**share).remote(cmd, log, env, *needs)
    by_ref = {ref: key for key, ref in refs.items()}
    failed, pending = [], list(refs.values())
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        key, code = by_ref[done[0]], ray.get(done[0])
        bar.update(1)
        run = next(r for r in todo if r.key == key)
        if code != 0:
            failed.append(f"{key} ({'not run: its pre-training failed' if code == -1 else f'exit {code}'}, "
                          f"log {Path(args.runs) / args.preset / key / 'log.txt'})")
        else:
            path = result_path(args.results, args.preset, run, args.device)
            if path.exists():
                print(summary_line(read_result(path)), flush=True)
    if not args.address:
        ray.shutdown()
    if failed:
        raise TrainingFault("runs failed: " + "; ".join(failed))


def _ready(pending: list[Run], busy: set) -> Run | None:
    """The first pending run whose pre-training run is neither pending nor running (``busy``: their keys)."""
    return next((r for r in pending if r.depends_on not in busy), None)


def _run_parallel(args, todo: list[Run], bar, at_once: int) -> None:
    """Up to ``at_once`` worker processes (one per run); a run starts as soon as the run it fine-tunes from has
    finished, so fine-tunings fill the slots while later pre-trainings still run. A run whose pre-training failed
    is not started (named with the failures); the others go on."""
    extra = parse_overrides(args.set)
    redo = {r.key for r in todo if stored(args.results, args.preset, r, run_config(r, args.preset, extra, args.device))}
    pending, active, failed, lost = list(todo), [], [], set()
    while pending or active:
        for r in [r for r in pending if r.depends_on in lost]:
            pending.remove(r)
            lost.add(r.key)
            bar.update(1)
            failed.append(f"{r.key} (not run: {r.depends_on} failed)")
        busy = {r.key for r in pending} | {item[0].key for item in active}
        while len(active) < at_once and (r := _ready(pending, busy)) is not None:
            pending.remove(r)
            log = Path(args.runs) / args.preset / r.key / "log.txt"
            log.parent.mkdir(parents=True, exist_ok=True)
            fh = open(log, "a")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
            cmd = worker_command(args, r, at_once) + (["--redo"] if r.key in redo else [])
            active.append((r, subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env), fh, log))
        time.sleep(0.5)
        for item in list(active):
            r, proc, fh, log = item
            if proc.poll() is not None:
                fh.close()
                active.remove(item)
                bar.update(1)
                if proc.returncode != 0:
                    lost.add(r.key)
                    failed.append(f"{r.key} (exit {proc.returncode}, log {log})")
                else:
                    path = result_path(args.results, args.preset, r, args.device)
                    if path.exists():
                        print(summary_line(json.loads(path.read_text())), flush=True)
    if failed:
        raise TrainingFault("runs failed: " + "; ".join(failed))
