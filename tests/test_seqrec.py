"""Helpers of chapters 3 and 22 (s3rec_lite.book.seqrec): stored runs by model, rankings of models, Kendall's
tau, swapped pairs, and the probability that a sampled metric counts a hit at a given full rank."""
import json
import math
from itertools import combinations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from s3rec_lite.book import seqrec  # noqa: E402
from s3rec_lite.errors import S3RecError  # noqa: E402


def _run(model, seed, sampled, full, curve=(0.1, 0.2)):
    return {"dataset": "LastFM", "model": model, "seed": seed, "key": f"table2/LastFM/{model}/seed{seed}",
            "test": {"NDCG@10": sampled, "HR@10": 2 * sampled},
            "test_full_ranking": {"NDCG@10": full, "HR@10": 2 * full},
            "history": [{"epoch": i, "valid_NDCG@10": v} for i, v in enumerate(curve)]}


@pytest.fixture
def store(tmp_path):
    """A results store with three models; B and C swap places between sampled and full metrics."""
    runs = [_run("A", 1, 0.40, 0.050), _run("A", 2, 0.42, 0.052),
            _run("B", 2, 0.30, 0.031), _run("B", 1, 0.32, 0.029),  # written out of seed order on purpose
            _run("C", 1, 0.20, 0.040)]
    for r in runs:
        path = tmp_path / "paper" / "table2" / "LastFM" / r["model"] / f"seed{r['seed']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r))
    other = dict(_run("A", 1, 0.9, 0.9), dataset="Beauty")  # another dataset: never mixed in
    (tmp_path / "paper" / "table2" / "Beauty" / "A").mkdir(parents=True)
    (tmp_path / "paper" / "table2" / "Beauty" / "A" / "seed1.json").write_text(json.dumps(other))
    return tmp_path


def test_stored_runs_groups_by_model_sorted_by_seed(store):
    by = seqrec.stored_runs("LastFM", results_root=store)
    assert sorted(by) == ["A", "B", "C"]
    assert [r["seed"] for r in by["B"]] == [1, 2]
    assert all(r["dataset"] == "LastFM" for rs in by.values() for r in rs)
    assert list(seqrec.stored_runs("LastFM", models=["C", "A"], results_root=store)) == ["C", "A"]
    with pytest.raises(S3RecError, match="Z"):
        seqrec.stored_runs("LastFM", models=["A", "Z"], results_root=store)


def test_validation_curve_and_seed_values(store):
    by = seqrec.stored_runs("LastFM", results_root=store)
    assert np.allclose(seqrec.validation_curve(by["A"][0]["history"]), [0.1, 0.2])
    assert np.allclose(seqrec.seed_values(by["B"], "NDCG@10", "test_full_ranking"), [0.029, 0.031])
    with pytest.raises(S3RecError, match="valid_MRR"):
        seqrec.validation_curve(by["A"][0]["history"], "MRR")
    with pytest.raises(S3RecError, match="MRR"):
        seqrec.seed_values(by["A"], "MRR")


def test_seed_summary_has_no_spread_for_one_seed(store):
    s = seqrec.seed_summary(seqrec.stored_runs("LastFM", results_root=store)).set_index("model")
    assert s.loc["A", "seeds"] == 2 and math.isclose(s.loc["A", "NDCG@10 mean"], 0.41)
    assert math.isclose(s.loc["A", "NDCG@10 sd"], np.std([0.40, 0.42], ddof=1))
    assert math.isnan(s.loc["C", "NDCG@10 sd"]) and s.loc["C", "HR@10 max"] == 0.40


def _tau_brute(a, b):
    """Kendall's tau-a by definition (no ties): (concordant - discordant) / pairs."""
    pairs = list(combinations(a, 2))
    s = sum(np.sign(a[x] - a[y]) * np.sign(b[x] - b[y]) for x, y in pairs)
    return s / len(pairs)


def test_kendall_tau_known_cases():
    a = {"w": 4.0, "x": 3.0, "y": 2.0, "z": 1.0}
    assert seqrec.kendall_tau(a, a) == 1.0
    assert seqrec.kendall_tau(a, {k: -v for k, v in a.items()}) == -1.0
    one_swap = {"w": 4.0, "x": 2.0, "y": 3.0, "z": 1.0}
    assert math.isclose(seqrec.kendall_tau(a, one_swap), 1 - 2 * 1 / 6)  # one discordant pair of six
    rng = np.random.default_rng(0)
    for _ in range(20):
        u, v = rng.normal(size=7), rng.normal(size=7)
        da, db = dict(zip("abcdefg", u)), dict(zip("abcdefg", v))
        assert math.isclose(seqrec.kendall_tau(da, db), _tau_brute(da, db))


def test_kendall_tau_b_with_ties():
    # a = (1, 1, 2), b = (1, 2, 3): C = 2, D = 0, one pair tied in a, none in b -> 2 / sqrt(2 * 3)
    assert math.isclose(seqrec.kendall_tau({"p": 1, "q": 1, "r": 2}, {"p": 1, "q": 2, "r": 3}), 2 / math.sqrt(6))


def test_rankings_reject_bad_input():
    with pytest.raises(S3RecError, match="different models"):
        seqrec.kendall_tau({"a": 1, "b": 2}, {"a": 1, "c": 2})
    with pytest.raises(S3RecError, match="two models"):
        seqrec.swapped_pairs({"a": 1}, {"a": 2})
    with pytest.raises(S3RecError, match="tied"):
        seqrec.kendall_tau({"a": 1, "b": 1}, {"a": 1, "b": 2})


def test_ranking_and_swapped_pairs():
    a = {"w": 4.0, "x": 3.0, "y": 2.0, "z": 1.0}
    b = {"w": 1.0, "x": 3.0, "y": 2.5, "z": 0.5}
    assert seqrec.ranking(b) == ["x", "y", "w", "z"]
    assert seqrec.swapped_pairs(a, b) == [("w", "x"), ("w", "y")]
    assert seqrec.swapped_pairs(a, a) == []


def test_sampled_vs_full_and_swap_table(store):
    t = seqrec.sampled_vs_full(seqrec.stored_runs("LastFM", results_root=store))
    assert list(t.model) == ["A", "B", "C"]  # sorted by the sampled place
    assert list(t["sampled place"]) == [1, 2, 3] and list(t["full place"]) == [1, 3, 2]
    swaps = seqrec.swap_table(t)
    assert len(swaps) == 1 and tuple(swaps.iloc[0][["ahead (sampled)", "ahead (full)"]]) == ("B", "C")
    assert math.isclose(swaps.iloc[0]["sampled gap"], 0.31 - 0.20) and swaps.iloc[0]["full gap"] < 0
    assert math.isnan(swaps.iloc[0]["full z"])  # C has one seed: no spread, no z


def test_split_at_largest_gap():
    lead, trail, gap = seqrec.split_at_largest_gap({"c": 0.17, "a": 0.35, "d": 0.16, "b": 0.30})
    assert (lead, trail) == (["a", "b"], ["c", "d"]) and math.isclose(gap, 0.13)
    assert seqrec.split_at_largest_gap({"x": 1.0, "y": 0.0}) == (["x"], ["y"], 1.0)
    with pytest.raises(S3RecError, match="two models"):
        seqrec.split_at_largest_gap({"x": 1.0})


def test_z_of_a_gap():
    assert math.isclose(seqrec._z(0.02, 0.01, 4, 0.01, 4), 0.02 / math.sqrt(0.01 ** 2 / 2))
    assert seqrec._z(0.01, 0.0, 3, 0.0, 3) == math.inf and math.isnan(seqrec._z(0.0, 0.0, 3, 0.0, 3))


def test_sampled_hit_probability_edges_and_monte_carlo():
    n = 500
    assert seqrec.sampled_hit_probability(0, n) == 1.0 and seqrec.sampled_hit_probability(9, n) == 1.0
    assert seqrec.sampled_hit_probability(n, n) == 0.0  # every other item above it: 99 of 99 sampled above
    p = [seqrec.sampled_hit_probability(r, n) for r in range(0, n + 1, 25)]
    assert all(x >= y for x, y in zip(p, p[1:]))  # a worse full rank never helps
    rng = np.random.default_rng(1)
    for r in (30, 60, 120):
        above = np.array([(rng.choice(n, 99, replace=False) < r).sum() for _ in range(4000)])  # items 0..r-1 above
        assert abs((above < 10).mean() - seqrec.sampled_hit_probability(r, n)) < 0.03
    with pytest.raises(S3RecError, match="full_rank"):
        seqrec.sampled_hit_probability(n + 1, n)


def test_figures_are_drawn(store):
    by = seqrec.stored_runs("LastFM", results_root=store)
    t = seqrec.sampled_vs_full(by)
    figs = [seqrec.plot_rank_slope(t), seqrec.plot_seed_spread(by, paper={"A": 0.5}),
            seqrec.plot_sampled_hit_probability(300),
            seqrec.plot_validation_curves({"A": np.array([0.1, 0.2])}, {"A": np.array([0.1, 0.2, 0.25])}, chance=0.05)]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure) and fig.get_size_inches()[0] <= 7
        matplotlib.pyplot.close(fig)
    slope = seqrec.plot_rank_slope(t)
    texts = [x.get_text() for x in slope.axes[0].texts]
    assert "A 0.4100" in texts and "0.0400 C" in texts  # each end labelled with the model and its mean


def test_real_store_has_sampled_and_full_metrics():
    by = seqrec.stored_runs("LastFM")
    if not by:
        pytest.skip("no stored LastFM runs")
    t = seqrec.sampled_vs_full(by)
    assert isinstance(t, pd.DataFrame) and (t.full < t.sampled).all()  # a full ranking is always harsher
