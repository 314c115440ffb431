"""Where each baseline comes from (the zoo and the book name them)."""

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
