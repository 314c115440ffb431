"""The book's widgets, driven without a browser: set values, trigger the callback, check the result."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from s3rec_lite.book import infonce_demo, widgets  # noqa: E402
from s3rec_lite.book.plots import data_plots  # noqa: E402


def test_true_mi_and_infonce_bound():
    assert infonce_demo.true_mi(0.0, 3) == 0.0
    assert infonce_demo.true_mi(0.8, 2) == pytest.approx(-np.log(1 - 0.64))
    x, y = infonce_demo.sample_correlated_gaussians(512, 0.9, dim=2, seed=1)
    critic = infonce_demo.optimal_critic(0.9)
    few = infonce_demo.infonce_estimate(x, y, critic, 3)
    many = infonce_demo.infonce_estimate(x, y, critic, 255)
    assert few <= np.log(4) + 1e-9  # the log N ceiling
    assert few < many <= np.log(256) + 1e-9  # more negatives tighten the bound
    assert abs(many - infonce_demo.true_mi(0.9, 2)) < 0.25


def test_infonce_switcher_renders_every_state_for_a_static_page():
    sw, sweep = widgets.infonce_switcher(negatives=(1, 15, 255), value=15, n=256, rhos=(0.0, 0.5, 0.9))
    assert sweep["estimate"].shape == (3, 3)
    assert np.all(sweep["estimate"] <= sweep["ceiling"][:, None] + 1e-9)  # each K under its log(K + 1)
    page = sw._repr_html_()
    assert page.count("<img ") == 3 and page.count("data:image/png;base64,") == 3
    assert 'id="ch03-infonce-switcher"' in page and 'data-current="15"' in page
    assert 'type="range" min="0" max="2" step="1" value="1"' in page  # the slider starts on K = 15
    shown = [chunk for chunk in page.split("<img ")[1:] if "display:none" not in chunk]
    assert len(shown) == 1 and shown[0].startswith('data-state="15"')  # one picture visible: the initial K
    assert "oninput=" in page and "<script" not in page  # switches without a kernel and without a script tag
    assert f'<output style="{widgets.FigureSwitcher.READOUT_STYLE}">15</output>' in page  # a fixed-width readout


def test_figure_switcher_rejects_bad_input():
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match="at least one figure"):
        widgets.FigureSwitcher({}, "x", "k")
    with pytest.raises(ValueError, match="not one of the states"):
        widgets.FigureSwitcher({1: plt.figure()}, "x", "k", value=2)


def test_pretrain_explorer_run_button_with_stub():
    calls = []

    def fake_run(mask_ratio, weights):
        calls.append((mask_ratio, weights))
        fin = {"history": [{"epoch": 0, "valid_NDCG@10": 0.1}], "best_epoch": 0, "test": {"NDCG@10": 0.2, "HR@10": 0.3}}
        return {"mask_ratio": mask_ratio, "weights": weights, "finetune": fin, "baseline": None,
                "pretrain_history": [{"epoch": 0, "aap": 2.0, "mip": 1.0, "map": 1.0, "sp": 1.0}]}

    ex = widgets.PretrainExplorer(run_fn=fake_run)
    ex.mask_ratio.value = 0.4
    ex.weights["sp"].value = 0.0
    ex.button.click()  # fires the on_click callback, as a user would
    assert calls == [(0.4, {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.0})]
    assert ex.runs == 1 and ex.figure is not None and "0.200" in ex.status.value


@pytest.mark.slow
def test_run_tiny_experiment_real_training():
    ex = widgets.PretrainExplorer()
    ex.weights["aap"].value = 0.0
    ex.weights["map"].value = 0.0
    ex.mask_ratio.value = 0.3
    ex.button.click()
    res = ex.result
    assert res["weights"]["aap"] == 0.0 and res["mask_ratio"] == pytest.approx(0.3)
    assert len(res["pretrain_history"]) == 5 and all(set(r) >= {"mip", "sp"} for r in res["pretrain_history"])
    assert "aap" not in res["pretrain_history"][0]
    for part in (res["finetune"], res["baseline"]):
        assert 0.0 <= part["test"]["NDCG@10"] <= 1.0 and part["history"]
    assert len(ex.figure.axes) == 2


def test_data_plots_smoke():
    fig = data_plots.plot_toy_ranking(np.array([0.5, 0.9, 0.1, 0.7, 0.2, 0.95]), true_index=0)
    assert fig.axes[0].get_ylabel() == "score"
    m = data_plots.toy_ranking_metrics([0.5, 0.9, 0.1, 0.7, 0.2, 0.95], 0)
    assert m["rank"] == 3 and m["MRR"] == 0.25 and m["NDCG@5"] == pytest.approx(1 / np.log2(5))
    assert data_plots.plot_book_map().axes[0].get_title() == "A map of the book"


def _fake_explorer_results(gain=0.1, seeds=(1, 2, 3)):
    """Stored-run records shaped as the runner writes them, for every point of the explorer grid."""
    from s3rec_lite.experiments import explorer

    rng = np.random.default_rng(0)
    out = []
    for run in explorer("explorer", None, list(seeds)):
        v = 0.3 + rng.normal(0, 0.01) + (0 if run.model == "SASRec" else gain)
        out.append({"experiment": "explorer", "key": run.key, "tag": run.tag, "model": run.model, "seed": run.seed,
                    "valid": {"NDCG@10": v}, "test": {"NDCG@10": v}, "provenance": {"commit": "abc"}})
    return out


def test_explorer_grid_declares_each_sweep_around_the_paper_point():
    from s3rec_lite.experiments import EXPLORER_SWEEPS, explorer, explorer_defaults, explorer_point

    runs = explorer("explorer", None, [1, 2])
    keys = [r.key for r in runs]
    assert len(keys) == len(set(keys))  # the paper's point is run once, not once per sweep
    n_points = 2 + sum(len(v) - 1 for v in EXPLORER_SWEEPS.values())
    assert len(runs) == 2 * n_points and all(r.dataset == "synthetic-longtail" for r in runs)
    assert explorer_point("mask_ratio0.4", "S3-Rec") == ("mask_ratio", 0.4)
    assert explorer_point("aap0", "S3-Rec") == ("aap", 0.0) and explorer_point("", "SASRec") == ("none", None)
    mask = next(r for r in runs if r.tag == "mask_ratio0.8")
    assert mask.overrides == {"mask_ratio": 0.8}
    sp0 = next(r for r in runs if r.tag == "sp0")
    assert sp0.overrides == {"loss_weights": {"sp": 0.0}}
    assert explorer_defaults()["mask_ratio"] in EXPLORER_SWEEPS["mask_ratio"]


def test_explorer_switcher_prerenders_every_stored_point():
    from s3rec_lite.experiments import EXPLORER_SWEEPS

    results = _fake_explorer_results()
    sw, frame = widgets.explorer_switcher(results)
    n_states = sum(len(v) for v in EXPLORER_SWEEPS.values())
    assert len(sw.states) == n_states and len(set(sw.png.values())) == n_states  # each state its own picture
    page = sw._repr_html_()
    assert 'id="ch10-explorer-switcher"' in page and 'data-current="mask_ratio=0.2"' in page
    assert page.count('type="range"') == len(EXPLORER_SWEEPS) and page.count("<img ") == n_states
    shown = [chunk for chunk in page.split("<img ")[1:] if "display:none" not in chunk]
    assert len(shown) == 1 and shown[0].startswith('data-state="mask_ratio=0.2"')
    assert 'data-knob="aap" data-default="1"' in page  # AAP's slider starts on 0.2, its 2nd value
    assert "oninput=" in page and "<script" not in page
    sweep = widgets.explorer_sweep(frame, "aap")
    assert list(sweep["value"]) == list(EXPLORER_SWEEPS["aap"]) and (sweep["n"] == 3).all()
    base = widgets.explorer_baseline(frame)
    assert base["n"] == 3 and sweep["mean"].min() > base["mean"] + 0.05  # the planted gain of 0.1
    fig = widgets.plot_explorer_state(frame, "mask_ratio", 0.4)
    assert fig.get_size_inches()[0] <= 7.0 and "0.4" in fig.axes[0].get_title()


def test_explorer_rejects_bad_input():
    with pytest.raises(ValueError, match="no stored runs"):
        widgets.explorer_frame([])
    bad = _fake_explorer_results()[:1]
    bad[0]["experiment"] = "table2"
    with pytest.raises(ValueError, match="not a run of the explorer"):
        widgets.explorer_frame(bad)
    frame = widgets.explorer_frame(_fake_explorer_results())
    with pytest.raises(ValueError, match="unknown knob"):
        widgets.explorer_sweep(frame, "lr")
    with pytest.raises(ValueError, match="not a stored point"):
        widgets.plot_explorer_state(frame, "mask_ratio", 0.3)


def test_synthetic_longtail_variant_leaves_the_default_alone():
    from s3rec_lite.data import SYNTHETIC_VARIANTS, load_dataset, make_synthetic

    import hashlib

    def digest(ds):
        return hashlib.sha256(np.concatenate(ds.sequences).tobytes()
                              + str(sorted(ds.item_attributes.items())).encode()).hexdigest()[:16]

    # the default data, as make_synthetic made it before the variant existed (other tests rely on it)
    assert digest(make_synthetic()) == "57084be4b6c2181c"
    assert digest(make_synthetic(**widgets.TINY_DATA)) == "8e1e6420d6920ec1"
    tail = load_dataset("synthetic-longtail")
    assert tail.name == "synthetic-longtail" and tail.num_users == SYNTHETIC_VARIANTS["synthetic-longtail"]["num_users"]
    counts = np.bincount(np.concatenate(tail.sequences), minlength=tail.n_items + 1)[1:]
    assert counts.max() >= 4 * np.median(counts)  # a long tail: the head is far above the median item
    with pytest.raises(ValueError, match="popularity_exponent"):
        make_synthetic(popularity_exponent=-1)


def test_weight_switcher_shows_each_stored_ablation_setting():
    import pandas as pd

    from s3rec_lite.config import PAPER_WEIGHTS

    frame = pd.DataFrame({"variant": ["full", "no-aap", "no-mip", "no-map", "no-sp"],
                          "NDCG@10": [0.358, 0.303, 0.363, 0.366, 0.348]})
    sw = widgets.weight_switcher(frame, PAPER_WEIGHTS)
    assert sw.knobs == ["aap", "mip", "map", "sp"] and len(sw.states) == 8
    page = sw._repr_html_()
    assert 'id="ch12-weights-switcher"' in page and 'data-current="aap=0.2"' in page
    assert page.count('type="range"') == 4 and 'data-values="0,0.2"' in page  # left to right: 0, the paper's weight
    assert 'data-knob="aap" data-default="1"' in page  # each slider starts at the paper's weight (its right end)
    assert 'data-knob="mip" data-default="1" data-values="0,1"' in page
    # names and readouts have fixed widths: the rows are equally wide, so the tracks line up in a centred figure
    assert page.count(widgets.SweepSwitcher.LABEL_STYLE) == 4 and page.count(widgets.SweepSwitcher.READOUT_STYLE) == 4
    assert "width:" in widgets.SweepSwitcher.LABEL_STYLE and "width:" in widgets.SweepSwitcher.READOUT_STYLE
    alt = sw.alt["aap=0"]
    assert "λ AAP = 0" in alt and "0.303" in alt
    fig = widgets.plot_weight_state(frame, "aap")
    assert "-0.055" in fig.axes[0].get_title()
    partial = widgets.weight_switcher(frame[frame.variant != "no-sp"], PAPER_WEIGHTS)
    assert partial.knobs == ["aap", "mip", "map"]  # a variant not stored gets no slider
