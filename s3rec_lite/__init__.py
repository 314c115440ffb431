"""s3rec_lite: a small, faithful, fast reproduction of S3-Rec (Zhou et al., CIKM 2020).

    >>> from s3rec_lite import preset, load_dataset, build_model, pretrain, finetune
    >>> cfg = preset("tiny")
    >>> ds = load_dataset("synthetic")

Layers, each importing only those below it (``tests/test_architecture.py`` enforces it):
errors, provenance, reference, metrics -> config -> data, batches -> objectives -> recommender, model,
baselines -> fast -> checkpoint -> train -> zoo -> pipeline -> experiments -> book (the book's helpers) -> cli.
"""
from .config import PAPER_WEIGHTS, PRESETS, Architecture, Config, preset
from .data import DATASETS, SequenceDataset, load_dataset, make_synthetic
from .errors import ChecksumError, ConfigError, DataFormatError, DataNotFoundError, S3RecError
from .model import S3RecModel
from .objectives import OBJECTIVES, register_objective
from .pipeline import prepare_dataset, run_model
from .recommender import Recommender
from .train import build_model, evaluate, finetune, pretrain, resolve_device, seed_everything
from .zoo import MODELS, register_model

__version__ = "0.1.0"
__all__ = [
    "Config", "Architecture", "preset", "PRESETS", "PAPER_WEIGHTS", "DATASETS", "SequenceDataset", "load_dataset",
    "make_synthetic", "prepare_dataset", "run_model", "S3RecModel", "Recommender", "OBJECTIVES", "register_objective",
    "MODELS", "register_model", "build_model", "evaluate", "finetune", "pretrain", "resolve_device", "seed_everything",
    "S3RecError", "DataFormatError", "DataNotFoundError", "ChecksumError", "ConfigError",
]
