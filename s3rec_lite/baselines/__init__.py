"""Baselines of Table 2 and Fig. 3 of the S3-Rec paper, each in its own small file, each a
:class:`~s3rec_lite.recommender.Recommender` trained and evaluated by the shared loop (:mod:`s3rec_lite.train`).
:mod:`s3rec_lite.zoo` names them for ``python -m s3rec_lite reproduce --model NAME`` and the runner.

====================  ===============================================================  ===========
name                  what                                                              pre-trained
====================  ===============================================================  ===========
PopRec                training-set popularity, no training (:mod:`.pop`)                no
GRU4Rec, GRU4Rec_F    a GRU over item embeddings (_F: with attributes) (:mod:`.gru4rec`)  no
SASRec_F              SASRec with attributes in its input (:mod:`.sasrec`)              no
BERT4Rec              bidirectional Transformer, Cloze objective (:mod:`.bert4rec`)     no
FDSA                  item-level + feature-level self-attention (:mod:`.fdsa`)          no
Caser                 horizontal and vertical convolutions (:mod:`.caser`)              no
FM                    factorization machine over user bag, item, attributes (:mod:`.fm`)  no
HGN                   feature and instance gating over the last items (:mod:`.hgn`)     no
AutoInt               self-attention across feature fields (:mod:`.autoint`)            no
GRU4Rec+pretrain ...  Fig. 3: the four S3-Rec objectives applied to other models        yes
====================  ===============================================================  ===========

Fig. 3 is the ``other_models`` experiment of :mod:`s3rec_lite.experiments` and its figure
:func:`s3rec_lite.book.plots.plot_other_models`. "SASRec" and "S3-Rec" are :class:`s3rec_lite.model.S3RecModel`.
"""
from __future__ import annotations

from .autoint import AutoInt, AutoIntPretrained
from .bert4rec import BERT4Rec
from .caser import Caser, CaserPretrained
from .citations import CITATIONS, FIG3
from .common import AttributeTable, SequentialRecommender
from .fdsa import FDSA
from .fm import FM
from .gru4rec import GRU4Rec, GRU4RecF
from .hgn import HGN
from .pop import PopRec
from .sasrec import SASRecF, sasrec_unidirectional

__all__ = ["PopRec", "GRU4Rec", "GRU4RecF", "SASRecF", "BERT4Rec", "FDSA", "Caser", "CaserPretrained", "HGN", "FM",
           "AutoInt", "AutoIntPretrained", "SequentialRecommender", "AttributeTable", "sasrec_unidirectional",
           "CITATIONS", "FIG3"]
