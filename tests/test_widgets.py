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
