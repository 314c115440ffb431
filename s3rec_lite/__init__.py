"""s3rec_lite: a small, faithful, fast reproduction of S3-Rec (Zhou et al., CIKM 2020).

    >>> from s3rec_lite import preset, load_dataset, build_model, pretrain, finetune
    >>> cfg = preset("tiny")
    >>> ds = load_dataset("synthetic")
"""
from .config import PAPER_WEIGHTS, PRESETS, Config, preset
from .data import DATASETS, SequenceDataset, load_dataset, make_synthetic, prepare_dataset
from .errors import ChecksumError, ConfigError, DataFormatError, DataNotFoundError, S3RecError
from .model import S3RecModel
from .objectives import OBJECTIVES, register_objective
from .train import build_model, evaluate, finetune, pretrain, resolve_device, seed_everything

__version__ = "0.1.0"
__all__ = [
    "Config", "preset", "PRESETS", "PAPER_WEIGHTS", "DATASETS", "SequenceDataset", "load_dataset", "make_synthetic",
    "prepare_dataset", "S3RecModel", "OBJECTIVES", "register_objective", "build_model", "evaluate", "finetune",
    "pretrain", "resolve_device", "seed_everything", "S3RecError", "DataFormatError", "DataNotFoundError",
    "ChecksumError", "ConfigError",
]
