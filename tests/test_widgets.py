"""The book's widgets, driven without a browser: set values, trigger the callback, check the result."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from s3rec_lite.book import infonce_demo, widgets  # noqa: E402
from s3rec_lite.book.plots import data_plots  # noqa: E402

from conftest import needs_data  # noqa: E402


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


@pytest.mark.slow
def test_run_tiny_experiment_real_training():
    res = widgets.run_tiny_experiment(mask_ratio=0.3, weights={"aap": 0.0, "map": 0.0})
    assert res["weights"]["aap"] == 0.0 and res["mask_ratio"] == pytest.approx(0.3)
    assert len(res["pretrain_history"]) == 5 and all(set(r) >= {"mip", "sp"} for r in res["pretrain_history"])
    assert "aap" not in res["pretrain_history"][0]
    for part in (res["finetune"], res["baseline"]):
        assert 0.0 <= part["test"]["NDCG@10"] <= 1.0 and part["history"]


def test_data_plots_smoke():
    fig = data_plots.plot_toy_ranking(np.array([0.5, 0.9, 0.1, 0.7, 0.2, 0.95]), true_index=0)
    assert fig.axes[0].get_ylabel() == "score"
    m = data_plots.toy_ranking_metrics([0.5, 0.9, 0.1, 0.7, 0.2, 0.95], 0)
    assert m["rank"] == 3 and m["MRR"] == 0.25 and m["NDCG@5"] == pytest.approx(1 / np.log2(5))
    assert data_plots.plot_book_map().axes[0].get_title() == "A map of the book"


def _fake_sweep_results(keep=None, seeds=(1, 2, 3), value=lambda knob, v, seed: 0.35 + 0.001 * seed):
    """Stored-run records shaped as the runner writes them for the sweep experiment (``keep(run)``: which to
    include; default all): seed 1 of each point pre-trains (``pretrain_history``), the others fine-tune from it."""
    from s3rec_lite.experiments import sweep, sweep_point

    out = []
    for run in sweep("official", None, list(seeds)):
        if keep is not None and not keep(run):
            continue
        knob, v = sweep_point(run.tag)
        y = value(knob, v, run.seed)
        weights = {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.5}
        if knob in weights:
            weights[knob] = v
        pre = [] if run.from_pretrain else [{"epoch": e, "loss": 10.0 - e, **{k: 5.0 - e for k, w in weights.items()
                                                                          if w > 0}} for e in range(3)]
        out.append({"experiment": "sweep", "key": run.key, "tag": run.tag, "model": run.model, "seed": run.seed,
                    "test": {"NDCG@10": y}, "valid": {"NDCG@10": y + 0.01}, "best_epoch": 2,
                    "history": [{"epoch": e, "valid_NDCG@10": y - 0.05 + 0.02 * e} for e in range(4)],
                    "pretrain_history": pre, "config": {"pretrain_epochs": 20, "finetune_epochs": 200, "patience": 10},
                    "dataset_stats": {"users": 1090}, "provenance": {"commit": "abc"}})
    return out


@pytest.fixture()
def quick_plots(monkeypatch):
    """plot_sweep_state replaced by an empty figure (a switcher's 28 real figures take seconds each here)."""
    import matplotlib.pyplot as plt

    drawn = []

    def fake(results, knob, value, *args, **kwargs):
        drawn.append((knob, value))
        return plt.figure(figsize=(1, 1))

    monkeypatch.setattr(widgets, "plot_sweep_state", fake)
    return drawn


def test_sweep_plan_frame_and_table_follow_the_store():
    from s3rec_lite.experiments import SWEEP

    plan = widgets.sweep_plan()
    assert list(plan) == list(widgets.SWEEP_LABELS) and plan["mask_ratio"][0] == 0.05 and plan["mask_ratio"][-1] == 0.8
    for knob, values in plan.items():
        assert values == sorted(set(map(float, SWEEP[knob])) | {widgets.sweep_defaults()[knob]})
    results = _fake_sweep_results()
    assert len(results) == 3 * (1 + sum(len(v) - 1 for v in plan.values()))  # 24 points x 3 seeds
    frame = widgets.sweep_frame(results)
    assert (frame.paper.sum(), len(frame)) == (3 * 5, len(results) + 3 * 4)  # the paper's runs: in all 5 sweeps
    table = widgets.sweep_table(frame, "map")
    assert table.value.tolist() == plan["map"] and table.complete.all() and table.paper.sum() == 1
    assert table.loc[table.paper, "mean"].item() == pytest.approx(0.352) and table.n.tolist() == [3] * 5
    assert widgets.sweep_table(widgets.sweep_frame([]), "sp").stored.sum() == 0  # nothing stored: all planned


def test_sweep_readouts_for_stored_partial_and_queued_points():
    some = _fake_sweep_results(keep=lambda r: r.tag in ("paper", "paper-pre1", "paper-pre2", "map0")
                               or r.tag.startswith("map0.5"))
    frame = widgets.sweep_frame(some)
    paper = widgets.sweep_readout(frame, "map", 1.0)
    assert paper.startswith("λ MAP = 1: test NDCG@10 0.3520 ± 0.0010 (mean ± sd, 3 seeds)")
    assert "paper's point" in paper
    one = widgets.sweep_readout(frame, "map", 0.0)
    assert "0.3510 (1 seed); 2 more seeds queued" in one and "The paper's point: 0.3520 ± 0.0010" in one
    queued = widgets.sweep_readout(frame, "map", 1.5)
    assert queued.startswith("λ MAP = 1.5: " + widgets.SWEEP_QUEUED)
    assert widgets.SWEEP_QUEUED in widgets.sweep_readout(widgets.sweep_frame([]), "sp", 0.5)
    alt = widgets.sweep_alt(frame, "map", 0.5)
    assert "3 of 5 values stored" in alt and "0.3520" in alt


def test_sweep_state_figure_shows_sweep_losses_and_finetuning_or_says_queued():
    import matplotlib.pyplot as plt

    results = _fake_sweep_results(keep=lambda r: r.tag in ("paper", "paper-pre1", "sp0"))
    fig = widgets.plot_sweep_state(results, "sp", 0.0)
    sweep_ax, pre_ax, fine_ax = fig.axes
    assert "2 of 5 values stored" in sweep_ax.get_title(loc="left")
    labels = [t.get_text() for t in pre_ax.get_legend().get_texts()]
    assert labels == ["AAP", "MIP", "MAP", "SP: λ = 0, not computed"]  # no curve for a weight of 0
    assert len(pre_ax.get_lines()) == 4 and len(fine_ax.get_lines()) == 2  # 3 curves + the legend entry; 1 seed + star
    plt.close(fig)
    fig = widgets.plot_sweep_state(results, "mask_ratio", 0.8)
    texts = [t.get_text() for ax in fig.axes[1:] for t in ax.texts]
    assert len(texts) == 2 and all("not stored yet" in t and "stage s1" in t for t in texts)
    plt.close(fig)


def test_sweep_explorer_prerenders_every_planned_point_of_a_partial_store(quick_plots):
    results = _fake_sweep_results(keep=lambda r: r.seed == 1 and r.tag in ("paper", "aap0", "mip0", "map0", "sp0"))
    ex = widgets.SweepExplorer(results)
    n_states = sum(len(v) for v in widgets.sweep_plan().values())
    assert len(quick_plots) == n_states == 28 and ex.stored_points == 5
    page = ex._repr_html_()
    assert page.count("<img ") == n_states and page.count("<p data-state=") == n_states
    assert 'id="ch10-sweep-switcher"' in page and 'data-current="mask_ratio=0.2"' in page
    assert page.count('type="range"') == 5 and 'data-values="0.05,0.1,0.2,0.3,0.4,0.5,0.6,0.8"' in page
    assert 'data-knob="mask_ratio" data-default="2"' in page and 'data-knob="sp" data-default="2"' in page
    assert page.count(widgets.SweepSwitcher.LABEL_STYLE) == 5  # fixed-width names: the tracks line up
    shown = [c for c in page.split("<p data-state=")[1:] if "display:none" not in c.split(">")[0]]
    assert len(shown) == 1 and shown[0].startswith('"mask_ratio=0.2"')  # one readout visible: the paper's point
    assert widgets.SWEEP_QUEUED in ex.switcher.readouts["mip=1.5"] and "0.3510" in ex.switcher.readouts["mip=0"]
    assert not widgets.live_kernel() and "needs a live Python kernel" in ex.live().data  # no kernel here


def test_sweep_live_panel_resets_other_sliders_and_runs_the_point(quick_plots):
    calls = []

    def fake_run(mask_ratio, weights):
        calls.append((mask_ratio, dict(weights)))
        return {"mask_ratio": mask_ratio, "weights": weights, "pretrain_history": [], "seconds": 1.0,
                "finetune": {"history": [{"epoch": 0, "valid_NDCG@10": 0.1}], "test": {"NDCG@10": 0.2}},
                "settings": {"users": 50, "all_users": 1090, "pretrain_epochs": 1, "finetune_epochs": 2, "patience": 5}}

    ex = widgets.SweepExplorer(_fake_sweep_results(keep=lambda r: r.tag in ("paper", "map0")))
    panel = widgets.SweepLivePanel(ex, run_fn=fake_run)
    assert panel.point() == ("mask_ratio", 0.2) and "1090 users, 20 pre-training epochs" in panel.status.value
    panel.sliders["map"].value = 0.0
    assert panel.point() == ("map", 0.0) and "λ MAP = 0: test NDCG@10 0.3510" in panel.stored.value
    panel.sliders["sp"].value = 1.0  # moving another slider puts MAP back to the paper's weight
    assert panel.sliders["map"].value == 1.0 and panel.point() == ("sp", 1.0)
    assert widgets.SWEEP_QUEUED in panel.stored.value
    panel.button.click()
    assert calls == [(0.2, {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 1.0})]
    panel.run(mask_ratio=0.33, weights={"aap": 0.0})  # any setting, not only the planned ones
    assert calls[-1] == (0.33, {"aap": 0.0, "mip": 1.0, "map": 1.0, "sp": 1.0})
    assert len(panel.live_runs) == 2 and "not comparable" in panel.status.value
    assert "first 50 of 1090" in panel.status.value


def test_sweep_rejects_bad_input():
    results = _fake_sweep_results(keep=lambda r: r.tag == "paper")
    with pytest.raises(ValueError, match="not a run of the sweep experiment"):
        widgets.sweep_frame([{**results[0], "experiment": "ablation"}])
    with pytest.raises(ValueError, match="0.7 is not a planned value"):
        widgets.sweep_frame([{**results[0], "tag": "mask_ratio0.7"}])
    frame = widgets.sweep_frame(results)
    with pytest.raises(ValueError, match="unknown knob 'lr'"):
        widgets.sweep_table(frame, "lr")
    with pytest.raises(ValueError, match="mask_ratio = 0.25 is not a planned value"):
        widgets.plot_sweep_state(results, "mask_ratio", 0.25)
    with pytest.raises(ValueError, match="unknown loss weight 'xyz'"):
        widgets.run_sweep_point(weights={"xyz": 1.0})
    with pytest.raises(ValueError, match="mask_ratio must be in"):
        widgets.run_sweep_point(mask_ratio=1.5)


@needs_data
def test_run_sweep_point_is_a_short_live_run_on_lastfm():
    import time

    t0 = time.perf_counter()
    res = widgets.run_sweep_point(mask_ratio=0.3, weights={"sp": 0.0}, max_users=40, pretrain_epochs=1,
                                  finetune_epochs=2, patience=2)
    assert time.perf_counter() - t0 < 60
    assert res["settings"] == {"users": 40, "all_users": 1090, "pretrain_epochs": 1, "finetune_epochs": 2, "patience": 2}
    assert len(res["pretrain_history"]) == 1 and "sp" not in res["pretrain_history"][0]
    assert 0.0 <= res["finetune"]["test"]["NDCG@10"] <= 1.0 and len(res["finetune"]["history"]) <= 2
    assert "the first 40 of 1090 LastFM users, 1 pre-training epoch," in widgets.live_run_label(res["settings"])
    fig = widgets.plot_live_run([res], [])
    assert "40 users" in fig.axes[0].get_legend().get_texts()[0].get_text()


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
    # a readout line per state, under the sliders: the numbers, and with std and seeds the spread and the runs
    assert sw.readouts["aap=0"] == "λ AAP = 0 (AAP removed); test NDCG@10, mean ± sd over runs: 0.3030, -0.0550 against all four"
    spread = widgets.weight_switcher(frame.assign(std=0.004, seeds=3), PAPER_WEIGHTS)
    assert spread.readouts["mip=1"] == "all four objectives; test NDCG@10, mean ± sd over runs: 0.3580 ± 0.0040 (3 runs)"
    assert page.count("<p data-state=") == 8


def test_weight_switcher_draws_a_panel_per_dataset_the_papers_first():
    """The sliders read every dataset of the ablation store: a panel each, Beauty above LastFM, and a dataset that
    lacks the chosen variant says so instead of showing another's bar."""
    import pandas as pd

    from s3rec_lite.config import PAPER_WEIGHTS

    frame = pd.DataFrame({"dataset": ["LastFM"] * 5 + ["Beauty"] * 2,
                          "variant": ["full", "no-aap", "no-mip", "no-map", "no-sp", "full", "no-aap"],
                          "NDCG@10": [0.358, 0.303, 0.363, 0.366, 0.348, 0.40, 0.35]})
    sw = widgets.weight_switcher(frame, PAPER_WEIGHTS)
    assert sw.knobs == ["aap", "mip", "map", "sp"]
    fig = widgets.plot_weight_state(frame, "mip")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("Beauty: λ MIP = 0: not stored yet") and titles[1].startswith("LastFM: λ MIP = 0: 0.363")
    assert "Beauty 0.350; LastFM 0.303" in sw.alt["aap=0"] and "Beauty not stored yet" in sw.alt["mip=0"]
    assert "(-0.050 against all four)" in widgets.plot_weight_state(frame, "aap").axes[0].get_title()


@needs_data
def test_in_a_real_kernel_the_explorer_runs_a_live_point(tmp_path):
    """Chapter 13's live path in a real IPython kernel (as in Jupyter or Colab, not the site's build): ``live()``
    gives the ipywidgets panel, not the note; its button runs a short live run of the sliders' point and draws it."""
    import nbformat
    from nbclient import NotebookClient

    code = [
        "import os\nos.environ.pop('S3REC_SITE_BUILD', None)\nimport matplotlib\nmatplotlib.use('Agg')\n"
        "from s3rec_lite.book import widgets\nfrom s3rec_lite.experiments import load_results\n"
        "stored = [r for r in load_results('sweep', 'official') if r['tag'] == 'paper']\n"
        "explorer = widgets.SweepExplorer(stored)\npanel = explorer.live()\npanel",
        "assert widgets.live_kernel() and isinstance(panel, widgets.SweepLivePanel)\n"
        "panel.run_kwargs = dict(max_users=40, pretrain_epochs=1, finetune_epochs=2, patience=2)\n"
        "panel.sliders['mip'].value = 0.5\npanel.button.click()\n"
        "run = panel.live_runs[-1]\n"
        "assert run['weights']['mip'] == 0.5 and run['settings']['users'] == 40, run['settings']\n"
        "assert 'live test NDCG@10' in panel.status.value and panel.figure is not None and not panel.button.disabled\n"
        "print('live run', round(run['finetune']['test']['NDCG@10'], 4), 'in', round(run['seconds']), 's')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in code])
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    first, second = (c["outputs"] for c in nb.cells)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in first), first
    assert "live run" in "".join(o.get("text", "") for o in second), second
