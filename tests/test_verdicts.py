"""The verdicts of chapters 16, 18 and 19 (s3rec_lite/book/verdicts.py) on made-up runs whose answer is known."""
import pytest
import math

import pandas as pd

from s3rec_lite.book import verdicts as v


def run(dataset, tag, seed, value, model="S3-Rec", pre=None, fraction=1.0, epoch=None):
    r = {"dataset": dataset, "tag": tag, "model": model, "seed": seed, "test": {"NDCG@10": value},
         "config": {"train_fraction": fraction, "pretrain_epochs": 20}, "provenance": {"device": "CPU: x"},
         "negatives": "released file x"}
    if pre is not None:
        r["from_pretrain"] = {"run": f"ablation/{dataset}/S3-Rec-{tag.split('-pre')[0]}/seed{pre}", "epoch": "final"}
    if epoch is not None:
        r["from_pretrain"] = {"run": "pretrain_epochs/D/S3-Rec-pretrain/seed1", "epoch": epoch}
    return r


def crossed(dataset, tag, means, spread=0.001):
    """Two pre-trainings (their means ``means``) x three fine-tuning seeds each, the diagonal as train runs."""
    out = []
    for p, m in enumerate(means, 1):
        for s, e in zip((1, 2, 3), (-spread, 0.0, spread)):
            out.append(run(dataset, tag if s == p else f"{tag}-pre{p}", s, m + e, pre=None if s == p else p))
    return out


def test_pretraining_groups_and_the_standard_error_of_a_crossed_design():
    runs = crossed("B", "full", [0.30, 0.32])
    df = v.seed_frame(runs, v.variant_of)
    assert sorted(df.pretrain.unique()) == [1, 2] and set(df.setting) == {"full"}
    est = v.estimates(df, pool=["full"])[("B", "full")]
    assert est.groups == 2 and est.runs == 6 and math.isclose(est.mean, 0.31)
    # the two pre-training means (0.30, 0.32) scatter with sd 0.01414: se = sd / sqrt(2) = 0.01
    assert math.isclose(est.se, 0.01, rel_tol=1e-9) and est.pretrain_spread


def test_ablation_verdicts_hold_fail_and_cannot_be_told():
    runs = (crossed("B", "full", [0.300, 0.302]) + crossed("B", "no-aap", [0.250, 0.252])  # far below: holds
            + crossed("B", "no-mip", [0.3005, 0.3015]) + crossed("B", "no-map", [0.330, 0.332])  # noise; above: fails
            + crossed("B", "no-sp", [0.280, 0.282])
            + [run("B", "", s, 0.20 + s / 1000, model="FDSA") for s in (1, 2, 3)])
    got = v.ablation_verdicts(runs).set_index("claim").verdict
    assert got["removing AAP lowers NDCG@10"] == v.HOLDS
    assert got["removing MIP lowers NDCG@10"] == v.UNCLEAR
    assert got["removing MAP lowers NDCG@10"] == v.FAILS
    assert got["removing SP lowers NDCG@10"] == v.HOLDS
    assert got["removing any objective lowers NDCG@10"] == v.FAILS
    assert got["every variant beats FDSA"] == v.HOLDS
    assert got["AAP and MAP matter more than MIP and SP"] == v.FAILS  # AAP matters most, MAP not at all


def test_one_pretraining_per_variant_cannot_decide_unless_a_spread_is_borrowed():
    toys = [run("T", "full", 1, 0.30), run("T", "full-pre1", 2, 0.301, pre=1), run("T", "full-pre1", 3, 0.299, pre=1),
            run("T", "no-sp", 1, 0.20), run("T", "no-sp-pre1", 2, 0.201, pre=1), run("T", "no-sp-pre1", 3, 0.199, pre=1)]
    assert v.ablation_verdicts(toys).set_index("claim").verdict["removing SP lowers NDCG@10"] == v.UNCLEAR
    beauty = crossed("B", "full", [0.30, 0.33]) + crossed("B", "no-sp", [0.28, 0.30])  # a 5% pre-training spread
    table = v.ablation_verdicts(toys + beauty)
    toys_sp = table[(table.dataset == "T") & (table.claim == "removing SP lowers NDCG@10")].iloc[0]
    assert toys_sp.verdict == v.HOLDS and toys_sp.se > 0.01  # the borrowed spread widens the error
    assert toys_sp.detail.count("(pre-training spread borrowed)") == 2  # the table says which errors borrow
    beauty_sp = table[(table.dataset == "B") & (table.claim == "removing SP lowers NDCG@10")].iloc[0]
    assert "borrowed" not in beauty_sp.detail  # measured on its own pre-trainings


def test_sparsity_verdicts_and_the_lead_at_20_percent():
    runs = []
    for f, (s3, sas) in {0.2: (0.20, 0.10), 1.0: (0.35, 0.30)}.items():
        for s in (1, 2, 3):
            runs.append(run("S", f"frac{int(f * 100)}", s, s3 + s / 1000, fraction=f))
            runs.append(run("S", f"frac{int(f * 100)}", s, sas + s / 1000, model="SASRec", fraction=f))
    got = v.sparsity_verdicts(runs).set_index("claim").verdict
    assert got["S3-Rec beats the baselines at 20%"] == got["S3-Rec beats the baselines at 100%"] == v.HOLDS
    assert got["S3-Rec's lead is largest at 20%"] == v.HOLDS  # +100% against +17%


def test_pretrain_epochs_verdict_uses_the_borrowed_spread():
    runs = [run("D", f"pt{e:03d}", s, m + s / 10000, epoch=e) for e, m in {0: 0.20, 20: 0.30, 100: 0.31}.items()
            for s in (1, 2, 3)]
    assert v.pretrain_epochs_verdict(runs, 0.01).verdict.tolist() == [v.HOLDS]
    assert v.pretrain_epochs_verdict(runs, None).verdict.tolist() == [v.UNCLEAR]  # no pre-training spread measured
    assert v.pretrain_epochs_verdict(runs, 0.5).verdict.tolist() == [v.UNCLEAR]  # a huge spread: cannot tell


def test_scope_box_says_datasets_seeds_and_negatives():
    text = v.scope_markdown(crossed("Beauty", "full", [0.3, 0.31]), "ablation")
    assert text.startswith("```{admonition} Scope") and "**Beauty**: 6 runs" in text
    assert "2 pre-training(s) per setting x 3 fine-tuning seed(s)" in text and "released" in text
    assert isinstance(v.verdict_table(pd.DataFrame(columns=["dataset", "claim", "difference", "se", "verdict",
                                                            "detail"])), pd.DataFrame)


def test_scope_box_of_fine_tunings_from_one_pre_trainings_checkpoints():
    """Fig. 5: every run fine-tunes from a checkpoint (epoch 0: none) of one pre-training run: the box says so, with
    the checkpoints' epochs and the seeds per checkpoint, not a per-setting average."""
    src = "pretrain_epochs/LastFM/S3-Rec-pretrain/seed1"
    runs = [{**run("LastFM", f"pt{e:03d}", s, 0.3), "from_pretrain": {"run": src, "epoch": e}}
            for e, seeds in ((0, 3), (10, 3), (150, 6)) for s in range(1, seeds + 1)]
    for r in runs:
        r["config"] = {**r["config"], "pretrain_epochs": 150}
    text = v.scope_markdown(runs, "pretrain_epochs")
    assert "1 pre-training run(s) of 150 epochs, fine-tuned from the checkpoints at epochs 0, 10, 150" in text
    assert "with 3-6 seeds each" in text


def test_scope_box_names_the_released_checkpoints_own_pretraining():
    """An S3-Rec-released run is pre-trained by the authors' schedule, whatever the preset says: the box names it,
    from the stored schedule or, for runs stored before it was recorded, from the checkpoint's file name."""
    from s3rec_lite.zoo import released_schedule

    base = crossed("Beauty", "full", [0.3, 0.31])[0]
    old = {**base, "model": "S3-Rec-released", "released_checkpoint": {"file": "Beauty-epochs-150.pt"}}
    new = {**old, "released_checkpoint": {"file": "X-epochs-7.pt", "schedule": released_schedule("Yelp-epochs-100.pt")}}
    assert "their pre-training: 150 epochs, batch 100" in v.scope_markdown([old], "table2")
    assert "their pre-training: 100 epochs, batch 100" in v.scope_markdown([new], "table2")
    assert "**Beauty**: 1 run (" in v.scope_markdown([old], "table2")
    with pytest.raises(ValueError, match="not a released checkpoint's name"):
        released_schedule("model.pt")


def _sweep_runs(means: dict, spread=0.001, seeds=(1, 2, 3)):
    """Runs of a made-up 1-D sweep: ``means`` {(knob, value) or "paper": mean}, seeds at mean - s, mean, mean + s."""
    out = []
    for point, m in means.items():
        tag = "paper" if point == "paper" else f"{point[0]}{point[1]:g}"
        for s, e in zip(seeds, (-spread, 0.0, spread)):
            out.append({"tag": tag if s == 1 else f"{tag}-pre1", "seed": s, "test": {"NDCG@10": m + e}})
    return out


def _point(tag):
    if tag.startswith("paper"):
        return "paper", None
    return tag[0], float(tag.split("-pre")[0][1:])


def test_sweep_verdicts_judge_complete_knobs_only():
    plan, paper = {"a": (0.0, 1.0, 2.0), "b": (0.0, 1.0, 2.0), "c": (0.0, 1.0, 2.0)}, {"a": 1.0, "b": 1.0, "c": 1.0}
    means = {"paper": 0.350, ("a", 0.0): 0.3505, ("a", 2.0): 0.3495,  # a: flat within the noise
             ("b", 0.0): 0.300, ("b", 2.0): 0.380,                   # b: clearly not flat, the paper's far from best
             ("c", 0.0): 0.340}                                       # c: value 2 missing
    runs = _sweep_runs(means)
    out = v.sweep_verdicts(runs, plan, paper, point=_point).set_index("knob")
    assert list(out.index) == ["a", "b"]  # c is not complete: no conclusion yet
    a, b = out.loc["a"], out.loc["b"]
    assert a.runs == 9 and a.flat and a.paper_near_best and a.se_range == pytest.approx(0.001 * math.sqrt(2 / 3))
    assert a.range == pytest.approx(0.001)
    assert not b.flat and b.best == 2.0 and b.worst == 0.0 and b.gap == pytest.approx(0.03) and not b.paper_near_best
    # one seed short at a value: that knob drops out
    short = [r for r in runs if not (r["tag"].startswith("b2") and r["seed"] == 3)]
    assert list(v.sweep_verdicts(short, plan, paper, point=_point).knob) == ["a"]
    assert v.sweep_verdicts([], plan, paper, point=_point).empty  # nothing stored: nothing concluded
    with pytest.raises(ValueError, match="seeds must be at least 2"):
        v.sweep_verdicts(runs, plan, paper, seeds=1, point=_point)


def test_sweep_verdicts_read_the_sweep_experiments_tags():
    from s3rec_lite.experiments import SWEEP

    paper = {"mask_ratio": 0.2, "aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.5}
    means = {"paper": 0.35, **{(k, x): 0.35 for k, xs in SWEEP.items() for x in xs if x != paper[k]}}
    out = v.sweep_verdicts(_sweep_runs(means), SWEEP, paper)  # tags as the experiment writes them
    assert list(out.knob) == list(SWEEP) and out.flat.all() and out.paper_near_best.all()


def test_critical_values_follow_the_degrees_of_freedom_of_the_noise():
    """A spread from 3 runs (2 dof) needs 4.30 standard errors, from 10 dof 2.23, from many 1.96; none: nothing."""
    assert v.critical(2) == pytest.approx(4.3027, abs=1e-4) and v.critical(10) == pytest.approx(2.2281, abs=1e-4)
    assert v.critical(math.inf) == pytest.approx(1.96, abs=1e-3) and v.critical(0) == math.inf
    assert v.verdict(0.05, 0.02, True, dof=2) == v.UNCLEAR and v.verdict(0.05, 0.02, True, dof=math.inf) == v.HOLDS
    assert v.verdict(-0.05, 0.01, True, dof=2) == v.FAILS
    # Welch-Satterthwaite: two equal variances with d dof each give 2d; a part without noise adds nothing
    assert v.satterthwaite([(1.0, 2), (1.0, 2)]) == pytest.approx(4.0)
    assert v.satterthwaite([(1.0, 2), (0.0, 0)]) == pytest.approx(2.0)
    assert v.satterthwaite([(1.0, math.inf)]) == math.inf and v.satterthwaite([(1.0, 0)]) == 0.0


def test_a_difference_of_two_estimates_from_one_pool_keeps_the_pools_dof():
    a = v.Estimate(0.30, 0.01, 3, 3, dof=10.0, pooled="LastFM")
    b = v.Estimate(0.28, 0.01, 3, 3, dof=10.0, pooled="LastFM")
    c = v.Estimate(0.28, 0.01, 3, 3, dof=2.0)
    assert v.difference(a, b).dof == 10.0 and v.difference(a, c).dof == pytest.approx(v.satterthwaite([(1e-4, 10), (1e-4, 2)]))
    d = v.difference(a, c)
    assert (d.diff, d.se, d.pretrain_spread) == (pytest.approx(0.02), pytest.approx(math.sqrt(2) * 0.01), True)


def test_a_borrowed_spread_is_one_estimate_in_a_difference_not_two():
    """Two settings, each one pre-training with 3 fine-tuning seeds and the same borrowed pre-training spread (10
    dof): the difference's dof counts the borrowed estimate once. Counted as two independent estimates it would
    claim about twice the dof the one borrowed spread has."""
    import pandas as pd

    df = pd.DataFrame({"dataset": "D", "setting": ["full"] * 3 + ["no-sp"] * 3, "pretrain": 1, "seed": [1, 2, 3] * 2,
                       "value": [0.300, 0.301, 0.302, 0.290, 0.291, 0.292]})
    est = v.estimates(df, pool=["full", "no-sp"], borrow=0.05, borrow_dof=10.0)
    a, b = est[("D", "full")], est[("D", "no-sp")]
    assert a.borrowed and [p[2] for p in a.parts] == [None, "borrowed"]
    d = v.difference(a, b)
    ft = 1e-6 / 3  # each mean's fine-tuning variance: sd 0.001 over 3 seeds
    lent = (0.05 * a.mean) ** 2 + (0.05 * b.mean) ** 2
    assert d.se == pytest.approx(math.sqrt(2 * ft + lent))
    assert d.dof == pytest.approx(v.satterthwaite([(ft, 2), (ft, 2), (lent, 10)]))
    assert d.dof < 10.5 < v.satterthwaite([(a.se ** 2, a.dof), (b.se ** 2, b.dof)])  # the old count: about 20
    assert v.merge_parts([(1.0, 2, None), (2.0, 10, "x"), (3.0, 10, "x")]) == [(1.0, 2), (5.0, 10)]


def test_with_three_seeds_a_difference_that_is_not_there_is_rarely_called():
    """Null data: two settings with the same mean, 3 runs each. Two standard errors would call "holds" or "does
    not hold" in about 12% of draws; the t threshold keeps it near 5%."""
    import numpy as np

    rng = np.random.default_rng(0)
    called = 0
    for _ in range(2000):
        x, y = rng.normal(0.3, 0.01, 3), rng.normal(0.3, 0.01, 3)
        a = v.Estimate(x.mean(), x.std(ddof=1) / math.sqrt(3), 3, 3, dof=2.0)
        b = v.Estimate(y.mean(), y.std(ddof=1) / math.sqrt(3), 3, 3, dof=2.0)
        called += v.verdict(*v.difference(a, b)) != v.UNCLEAR
    assert called / 2000 < 0.07


def test_a_flat_sweep_is_called_flat_despite_picking_its_best_and_worst():
    """Null data: 8 values of a knob, 3 seeds each, one true mean. The best minus the worst of 8 means against two
    standard errors would say "not flat" about half the time; Tukey's studentized range keeps it near 5%."""
    import numpy as np

    rng = np.random.default_rng(1)
    plan, paper = {"a": tuple(float(x) for x in range(8))}, {"a": 0.0}
    not_flat = 0
    for _ in range(300):
        runs = [{"tag": f"a{x:g}" if s == 1 else f"a{x:g}-pre1", "seed": s, "test": {"NDCG@10": float(rng.normal(0.3, 0.01))}}
                for x in plan["a"] for s in (1, 2, 3)]
        row = v.sweep_verdicts(runs, plan, paper, point=_point).iloc[0]
        not_flat += not row.flat
    assert row.dof == 16 and row.critical == pytest.approx(3.462, abs=1e-3)  # q(0.95; 8, 16) / sqrt(2)
    assert not_flat / 300 < 0.10


def test_the_sweeps_errors_can_hold_the_pre_training_spread():
    """Each sweep point is its own pre-training: with a borrowed relative pre-training spread, a difference the
    fine-tuning seeds alone would call is no longer called, and the degrees of freedom combine both parts."""
    plan, paper = {"b": (0.0, 1.0, 2.0)}, {"b": 1.0}
    runs = _sweep_runs({"paper": 0.350, ("b", 0.0): 0.345, ("b", 2.0): 0.355})
    alone = v.sweep_verdicts(runs, plan, paper, point=_point).iloc[0]
    both = v.sweep_verdicts(runs, plan, paper, point=_point, pretrain_spread=0.02, spread_dof=10).iloc[0]
    assert not alone.flat and alone.dof == 6 and not alone.pretrain_spread
    assert both.flat and both.pretrain_spread and both.se_range > 10 * alone.se_range
    assert both.dof == pytest.approx(v.satterthwaite([(alone.se_range ** 2, 6),
                                                      ((0.02 * 0.345) ** 2 + (0.02 * 0.355) ** 2, 10)]))


def test_datasets_come_in_the_books_order_everywhere():
    """The paper's datasets first (Beauty, Sports, Toys, Yelp), LastFM last, whatever the store's order (an
    alphabetical store puts LastFM before Sports and Toys)."""
    from s3rec_lite import experiments, reference
    from s3rec_lite.book import widgets

    runs = crossed("LastFM", "full", [0.30, 0.31]) + crossed("Toys_and_Games", "full", [0.30, 0.31]) \
        + crossed("Beauty", "full", [0.30, 0.31])
    assert reference.in_paper_order(r["dataset"] for r in runs) == ["Beauty", "Toys_and_Games", "LastFM"]
    assert v.scope_frame(runs).dataset.tolist() == ["Beauty", "Toys_and_Games", "LastFM"]
    assert experiments.PAPER_DATASETS == reference.PAPER_DATASETS == widgets.WEIGHT_DATASETS
    frame = pd.DataFrame({"dataset": ["LastFM", "Toys_and_Games"], "claim": ["c", "c"], "difference": [0.1, 0.1],
                          "se": [0.01, 0.01], "dof": [10.0, 10.0], "verdict": [v.HOLDS] * 2, "detail": ["", ""]})
    assert v.verdict_table(frame).dataset.tolist() == ["Toys_and_Games", "LastFM"]
