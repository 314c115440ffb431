"""Baselines of Table 2 and Fig. 3 of the S3-Rec paper, each in its own small file, all trained and
evaluated by the shared loop (:mod:`s3rec_lite.train`). Importing this package registers them in
:mod:`s3rec_lite.zoo`, so ``python -m s3rec_lite reproduce --model NAME`` and the experiment runner find
them.

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

Fig. 3 is the ``other_models`` experiment (:mod:`.experiment`, registered on import) and its figure
:func:`s3rec_lite.plots.plot_other_models` (:mod:`.plots`).

"SASRec" and "S3-Rec" themselves are registered by :mod:`s3rec_lite.zoo`.
"""
from __future__ import annotations

from ..zoo import register_model
from .autoint import AutoInt, AutoIntPretrained
from .bert4rec import BERT4Rec
from .caser import Caser, CaserPretrained
from .common import AttributeTable, SequentialRecommender
from .experiment import FIG3_PAIRS, other_models  # registers the ``other_models`` experiment (Fig. 3)
from .fdsa import FDSA
from .fm import FM
from .gru4rec import GRU4Rec, GRU4RecF
from .hgn import HGN
from .pop import PopRec
from .sasrec import SASRecF, sasrec_unidirectional

CITATIONS = {
    "PopRec": "popularity baseline (Table 2 of Zhou et al., CIKM 2020)",
    "GRU4Rec": "Hidasi et al., Session-based recommendations with recurrent neural networks, ICLR 2016",
    "Caser": "Tang and Wang, Personalized top-N sequential recommendation via convolutional sequence embedding, WSDM 2018",
    "SASRec": "Kang and McAuley, Self-attentive sequential recommendation, ICDM 2018",
    "BERT4Rec": "Sun et al., BERT4Rec: sequential recommendation with bidirectional encoder representations from transformer, CIKM 2019",
    "AutoInt": "Song et al., AutoInt: automatic feature interaction learning via self-attentive neural networks, CIKM 2019",
    "FM": "Rendle, Factorization machines, ICDM 2010",
    "HGN": "Ma, Kang and Liu, Hierarchical gating networks for sequential recommendation, KDD 2019",
    "FDSA": "Zhang et al., Feature-level deeper self-attention network for sequential recommendation, IJCAI 2019",
}
CITATIONS["GRU4Rec_F"] = CITATIONS["GRU4Rec"] + "; with attributes as in Zhou et al., CIKM 2020"
CITATIONS["SASRec_F"] = CITATIONS["SASRec"] + "; with attributes as in Zhou et al., CIKM 2020"
FIG3 = "pre-trained with the S3-Rec objectives (Fig. 3 of Zhou et al., CIKM 2020)"


def _named(model, name):
    model.zoo_name = name  # checkpoints record it, and rebuild the model with this builder
    return model


register_model("PopRec", trainable=False, citation=CITATIONS["PopRec"])(lambda cfg, ds: PopRec(cfg, ds))
register_model("GRU4Rec", citation=CITATIONS["GRU4Rec"])(lambda cfg, ds: GRU4Rec(cfg, ds))
register_model("GRU4Rec_F", citation=CITATIONS["GRU4Rec_F"])(lambda cfg, ds: GRU4RecF(cfg, ds))
register_model("SASRec_F", citation=CITATIONS["SASRec_F"])(lambda cfg, ds: SASRecF(cfg, ds))
register_model("BERT4Rec", citation=CITATIONS["BERT4Rec"])(lambda cfg, ds: BERT4Rec(cfg, ds))
register_model("FDSA", citation=CITATIONS["FDSA"])(lambda cfg, ds: FDSA(cfg, ds))
register_model("Caser", citation=CITATIONS["Caser"])(lambda cfg, ds: Caser(cfg, ds))
register_model("FM", citation=CITATIONS["FM"])(lambda cfg, ds: FM(cfg, ds))
register_model("HGN", citation=CITATIONS["HGN"])(lambda cfg, ds: HGN(cfg, ds))
register_model("AutoInt", citation=CITATIONS["AutoInt"])(lambda cfg, ds: AutoInt(cfg, ds))

# Fig. 3: the same networks pre-trained with AAP, MIP, MAP and SP before fine-tuning.
register_model("GRU4Rec+pretrain", pretrain=True, citation=f"{CITATIONS['GRU4Rec']}; {FIG3}")(
    lambda cfg, ds: _named(GRU4Rec(cfg, ds, pretrainable=True), "GRU4Rec+pretrain"))
register_model("GRU4Rec_F+pretrain", pretrain=True, citation=f"{CITATIONS['GRU4Rec_F']}; {FIG3}")(
    lambda cfg, ds: _named(GRU4RecF(cfg, ds, pretrainable=True), "GRU4Rec_F+pretrain"))
register_model("SASRec+pretrain", pretrain=True, citation=f"{CITATIONS['SASRec']}; {FIG3}")(sasrec_unidirectional)
register_model("SASRec_F+pretrain", pretrain=True, citation=f"{CITATIONS['SASRec_F']}; {FIG3}")(
    lambda cfg, ds: _named(SASRecF(cfg, ds), "SASRec_F+pretrain"))
register_model("Caser+pretrain", pretrain=True,
               citation=f"{CITATIONS['Caser']}; embeddings initialised from S3-Rec pre-training (Fig. 3)")(
    lambda cfg, ds: CaserPretrained(cfg, ds))
register_model("AutoInt+pretrain", pretrain=True,
               citation=f"{CITATIONS['AutoInt']}; embeddings initialised from S3-Rec pre-training (Fig. 3)")(
    lambda cfg, ds: AutoIntPretrained(cfg, ds))

__all__ = ["PopRec", "GRU4Rec", "GRU4RecF", "SASRecF", "BERT4Rec", "FDSA", "Caser", "CaserPretrained", "HGN", "FM", "AutoInt", "AutoIntPretrained",
           "SequentialRecommender", "AttributeTable", "sasrec_unidirectional", "CITATIONS", "FIG3_PAIRS",
           "other_models"]
