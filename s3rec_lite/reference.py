"""Published numbers to compare ours with, each with its source.

``PAPER_TABLE2``: Table 2 of Zhou et al., "S3-Rec: Self-Supervised Learning for Sequential Recommendation with
Mutual Information Maximization", CIKM 2020 (all models, six datasets, six metrics; 99 sampled negatives,
test set), transcribed as a tab-separated table (``PAPER_TABLE2_TSV``).

``AUTHORS_REPO``: the test results the authors list in their repository RUCAIBox/CIKM2020-S3Rec
(``reproduce/README.md``, branch master): SASRec and S3-Rec on the five released datasets.

``AUTHORS_LOG_BEAUTY``: validation NDCG@10 per fine-tuning epoch in the authors' released logs
(``logs/Finetune_sample-Beauty-{0,150}.txt`` of the same repository): the first epochs only.

Dataset names: the paper writes "Sports" and "Toys"; :func:`canonical` maps them to our dataset names
(``Sports_and_Outdoors``, ``Toys_and_Games``).
"""
from __future__ import annotations

#: The datasets in the book's order: the paper's figures' datasets first, LastFM (the small-data case) last. Every
#: table, figure and verdict that lists datasets follows it (:func:`dataset_rank`).
PAPER_DATASETS = ("Beauty", "Sports_and_Outdoors", "Toys_and_Games", "Yelp", "LastFM")


def dataset_rank(name: str) -> int:
    """A dataset's place in :data:`PAPER_DATASETS` (any other dataset after them): a sort key."""
    return PAPER_DATASETS.index(name) if name in PAPER_DATASETS else len(PAPER_DATASETS)


def in_paper_order(names) -> list:
    """``names`` without repeats, in the book's order (:func:`dataset_rank`, then as given)."""
    return sorted(dict.fromkeys(names), key=dataset_rank)


METRICS = ("HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR")

PAPER_SOURCE = "Zhou et al., CIKM 2020, Table 2"
AUTHORS_SOURCE = "RUCAIBox/CIKM2020-S3Rec, reproduce/README.md"
AUTHORS_LOG_SOURCE = "RUCAIBox/CIKM2020-S3Rec, logs/Finetune_sample-Beauty-{0,150}.txt"

_ALIASES = {"Sports": "Sports_and_Outdoors", "Toys": "Toys_and_Games"}


def canonical(name: str) -> str:
    """Our dataset name for a paper name (``Sports`` -> ``Sports_and_Outdoors``); others unchanged."""
    return _ALIASES.get(name, name)


def short(name: str) -> str:
    """The paper's short name for one of our dataset names."""
    return {v: k for k, v in _ALIASES.items()}.get(name, name)


PAPER_TABLE2_TSV = """\
dataset	metric	PopRec	FM	AutoInt	GRU4Rec	Caser	SASRec	BERT4Rec	HGN	GRU4Rec_F	SASRec_F	FDSA	S3-Rec	improvement
Meituan	HR@1	0.0946	0.1084	0.0804	0.1194	0.1368	0.1797	0.1381	0.1603	0.1436	0.1746	0.1778	0.2040	13.52%
Meituan	HR@5	0.2660	0.3218	0.2662	0.3382	0.3812	0.4524	0.3985	0.4110	0.3799	0.4386	0.4595	0.4925	7.18%
Meituan	NDCG@5	0.1813	0.2170	0.1739	0.2303	0.2619	0.3207	0.2713	0.2887	0.2639	0.3098	0.3236	0.3527	8.99%
Meituan	HR@10	0.3863	0.4709	0.4077	0.4881	0.5267	0.6053	0.5514	0.5573	0.5378	0.5962	0.6164	0.6368	3.31%
Meituan	NDCG@10	0.2200	0.2651	0.2194	0.2787	0.3090	0.3700	0.3208	0.3359	0.3149	0.3607	0.3743	0.3994	6.71%
Meituan	MRR	0.1923	0.2242	0.1854	0.2359	0.2617	0.3146	0.2689	0.2863	0.2666	0.3064	0.3167	0.3421	8.02%
Beauty	HR@1	0.0678	0.0405	0.0447	0.1337	0.1337	0.1870	0.1531	0.1683	0.1702	0.1778	0.1840	0.2192	17.22%
Beauty	HR@5	0.2105	0.1461	0.1705	0.3125	0.3032	0.3741	0.3640	0.3544	0.3727	0.3863	0.4010	0.4502	12.27%
Beauty	NDCG@5	0.1391	0.0934	0.1063	0.2268	0.2219	0.2848	0.2622	0.2656	0.2759	0.2870	0.2974	0.3407	14.56%
Beauty	HR@10	0.3386	0.2311	0.2872	0.4106	0.3942	0.4696	0.4739	0.4503	0.4753	0.4843	0.5096	0.5506	8.05%
Beauty	NDCG@10	0.1803	0.1207	0.1440	0.2584	0.2512	0.3156	0.2975	0.2965	0.3090	0.3185	0.3324	0.3732	12.27%
Beauty	MRR	0.1558	0.1096	0.1226	0.2308	0.2263	0.2852	0.2614	0.2669	0.2751	0.2844	0.2943	0.3340	13.49%
Sports	HR@1	0.0763	0.0489	0.0644	0.1160	0.1135	0.1455	0.1255	0.1428	0.1466	0.1573	0.1585	0.1841	16.15%
Sports	HR@5	0.2293	0.1603	0.1982	0.3055	0.2866	0.3466	0.3375	0.3349	0.3547	0.3730	0.3855	0.4267	10.69%
Sports	NDCG@5	0.1538	0.1048	0.1316	0.2126	0.2020	0.2497	0.2341	0.2420	0.2535	0.2683	0.2756	0.3104	12.63%
Sports	HR@10	0.3423	0.2491	0.2967	0.4299	0.4014	0.4622	0.4722	0.4551	0.4758	0.4912	0.5136	0.5614	9.31%
Sports	NDCG@10	0.1902	0.1334	0.1633	0.2527	0.2390	0.2869	0.2775	0.2806	0.2925	0.3064	0.3170	0.3538	11.61%
Sports	MRR	0.1660	0.1202	0.1435	0.2191	0.2100	0.2520	0.2378	0.2469	0.2549	0.2680	0.2748	0.3071	11.75%
Toys	HR@1	0.0585	0.0257	0.0448	0.0997	0.1114	0.1878	0.1262	0.1504	0.1673	0.1797	0.1717	0.2003	6.66%
Toys	HR@5	0.1977	0.0978	0.1471	0.2795	0.2614	0.3682	0.3344	0.3276	0.3695	0.3927	0.3994	0.4420	10.67%
Toys	NDCG@5	0.1286	0.0614	0.0960	0.1919	0.1885	0.2820	0.2327	0.2423	0.2719	0.2911	0.2903	0.3270	12.33%
Toys	HR@10	0.3008	0.1715	0.2369	0.3896	0.3540	0.4663	0.4493	0.4211	0.4782	0.4981	0.5129	0.5530	7.82%
Toys	NDCG@10	0.1618	0.0850	0.1248	0.2274	0.2183	0.3136	0.2698	0.2724	0.3070	0.3252	0.3271	0.3629	10.94%
Toys	MRR	0.1430	0.0819	0.1131	0.1973	0.1967	0.2842	0.2338	0.2454	0.2717	0.2886	0.2863	0.3202	10.95%
Yelp	HR@1	0.0801	0.0624	0.0731	0.2053	0.2188	0.2375	0.2405	0.2428	0.2293	0.2301	0.2198	0.2591	6.71%
Yelp	HR@5	0.2415	0.2036	0.2249	0.5437	0.5111	0.5745	0.5976	0.5768	0.5858	0.5937	0.5728	0.6085	1.82%
Yelp	NDCG@5	0.1622	0.1333	0.1501	0.3784	0.3696	0.4113	0.4252	0.4162	0.4137	0.4178	0.4014	0.4401	3.50%
Yelp	HR@10	0.3609	0.3153	0.3367	0.7265	0.6661	0.7373	0.7597	0.7411	0.7574	0.7706	0.7555	0.7725	0.25%
Yelp	NDCG@10	0.2007	0.1692	0.1860	0.4375	0.4198	0.4642	0.4778	0.4695	0.4694	0.4751	0.4607	0.4934	3.26%
Yelp	MRR	0.1740	0.1470	0.1616	0.3630	0.3595	0.3927	0.4026	0.3988	0.3929	0.3962	0.3834	0.4190	4.07%
LastFM	HR@1	0.0725	0.0183	0.0349	0.0642	0.0899	0.1211	0.1220	0.0908	0.1385	0.1147	0.0936	0.1743	25.85%
LastFM	HR@5	0.1982	0.0954	0.1550	0.1817	0.2982	0.3385	0.3569	0.2872	0.3202	0.3073	0.2624	0.4523	26.73%
LastFM	NDCG@5	0.1350	0.0552	0.0946	0.1228	0.1960	0.2330	0.2409	0.1896	0.2301	0.2113	0.1766	0.3156	31.01%
LastFM	HR@10	0.3037	0.1578	0.2596	0.2817	0.4431	0.4706	0.4991	0.4193	0.4670	0.4569	0.4055	0.5835	16.91%
LastFM	NDCG@10	0.1687	0.0753	0.1285	0.1550	0.2428	0.2755	0.2871	0.2324	0.2775	0.2594	0.2225	0.3583	24.80%
LastFM	MRR	0.1506	0.0743	0.1122	0.1405	0.2033	0.2364	0.2424	0.1983	0.2410	0.2201	0.1884	0.3072	26.73%
"""


def _parse_table2(text: str) -> dict:
    lines = [line.split("\t") for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    models = header[2:-1]  # the last column is the paper's "improvement"
    table: dict = {}
    for row in rows:
        dataset, metric = canonical(row[0]), row[1]
        for model, value in zip(models, row[2:-1]):
            table.setdefault(dataset, {}).setdefault(model, {})[metric] = float(value)
    return table


#: PAPER_TABLE2[dataset][model][metric] -> float (datasets under our names; Meituan included, never released)
PAPER_TABLE2: dict = _parse_table2(PAPER_TABLE2_TSV)
PAPER_MODELS = tuple(PAPER_TABLE2_TSV.splitlines()[0].split("\t")[2:-1])

#: AUTHORS_REPO[dataset][model][metric] -> float
AUTHORS_REPO: dict = {
    "Beauty": {"SASRec": (.1867, .3721, .2843, .4651, .3142, .2850), "S3-Rec": (.2197, .4626, .3473, .5687, .3816, .3390)},
    "Toys_and_Games": {"SASRec": (.1775, .3683, .2766, .4659, .3081, .2770), "S3-Rec": (.2070, .4481, .3335, .5593, .3695, .3268)},
    "Sports_and_Outdoors": {"SASRec": (.1472, .3441, .2487, .4645, .2875, .2524), "S3-Rec": (.1840, .4319, .3125, .5664, .3559, .3084)},
    "Yelp": {"SASRec": (.2310, .5638, .4017, .7384, .4582, .3856), "S3-Rec": (.2665, .6195, .4492, .7818, .5019, .4270)},
    "LastFM": {"SASRec": (.1156, .3092, .2126, .4587, .2605, .2209), "S3-Rec": (.1569, .4477, .3056, .6083, .3577, .2981)},
}
AUTHORS_REPO = {d: {m: dict(zip(METRICS, v)) for m, v in models.items()} for d, models in AUTHORS_REPO.items()}

#: validation NDCG@10 after fine-tuning epochs 0, 1, 2 (S3-Rec from the released checkpoint) and 0 (SASRec)
AUTHORS_LOG_BEAUTY: dict = {"S3-Rec": {0: 0.3427, 1: 0.3627, 2: 0.3740}, "SASRec": {0: 0.1803}}


def paper_value(dataset: str, model: str, metric: str = "NDCG@10") -> float | None:
    """The paper's Table 2 number, or None where the paper has none (e.g. an ablation variant)."""
    return PAPER_TABLE2.get(canonical(dataset), {}).get(model, {}).get(metric)


def authors_value(dataset: str, model: str, metric: str = "NDCG@10") -> float | None:
    return AUTHORS_REPO.get(canonical(dataset), {}).get(model, {}).get(metric)


def paper_table2_frame():
    """Table 2 as a long pandas DataFrame: dataset, model, metric, value."""
    import pandas as pd

    rows = [(d, m, k, v) for d, models in PAPER_TABLE2.items() for m, mets in models.items() for k, v in mets.items()]
    return pd.DataFrame(rows, columns=["dataset", "model", "metric", "value"])
