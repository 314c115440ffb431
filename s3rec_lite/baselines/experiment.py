"""The ``other_models`` experiment (Fig. 3 of the S3-Rec paper): the four self-supervised objectives
applied to other models.

Each model of :data:`FIG3_PAIRS` is trained twice, without and with pre-training: GRU4Rec, GRU4Rec_F,
SASRec and SASRec_F pre-trained with AAP, MIP, MAP and SP (kept unidirectional), Caser and AutoInt with
only their embedding layers initialised from S3-Rec's pre-trained embeddings.

    python -m s3rec_lite experiment other_models --preset tiny     # CPU-sized: LastFM, 150 users
    python -m s3rec_lite experiment other_models --device cuda      # paper settings, Beauty and Yelp

REFERENCE.md does not record which datasets the paper's Fig. 3 uses; the full run's default (Beauty, Yelp:
one Amazon dataset and Yelp) is our choice, and ``--datasets`` picks others.
"""
from __future__ import annotations

from ..experiments import TINY_OVERRIDES, Run, register_experiment

#: The models of Fig. 3, each without and with pre-training: (baseline, pre-trained variant).
FIG3_PAIRS = [("GRU4Rec", "GRU4Rec+pretrain"), ("GRU4Rec_F", "GRU4Rec_F+pretrain"), ("Caser", "Caser+pretrain"),
              ("SASRec", "SASRec+pretrain"), ("SASRec_F", "SASRec_F+pretrain"), ("AutoInt", "AutoInt+pretrain")]
FULL_DATASETS = ("Beauty", "Yelp")
TINY_DATASETS = ("LastFM",)


def other_models(preset: str, datasets: list[str] | None, seeds: list[int]) -> list[Run]:
    """Fig. 3: GRU4Rec, GRU4Rec_F, Caser, SASRec, SASRec_F and AutoInt without and with S3-Rec pre-training."""
    tiny = preset == "tiny"
    datasets = list(datasets) if datasets else list(TINY_DATASETS if tiny else FULL_DATASETS)
    base = dict(TINY_OVERRIDES) if tiny else {}
    models = [m for pair in FIG3_PAIRS for m in pair]
    return [Run("other_models", d, m, s, base) for d in datasets for m in models for s in seeds]


register_experiment("other_models", other_models)
