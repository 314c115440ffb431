"""Results figures and tables drawn from a stored fixture (tests/fixtures/results: written by the runner,
`python -m s3rec_lite experiment ... --preset tiny --datasets LastFM` with a very small model; see its README)."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from s3rec_lite import experiments, reference
from s3rec_lite.book import plots  # noqa: E402
from s3rec_lite.errors import S3RecError  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "results"


def _check_figure(fig, label="tiny preset, CPU"):
    assert label in fig._suptitle.get_text()
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_title()
        assert ax.get_legend() is None  # no legend inside a panel, over the data
    assert fig.axes[0].get_ylabel()
    assert len(fig.legends) == 1 and fig.legends[0].get_texts()  # one legend, below the panels
    assert fig.get_figwidth() <= plots.MAX_WIDTH  # fits the book's content column
    plt.close(fig)


def test_reference_tables():
    assert reference.paper_value("Sports", "S3-Rec", "NDCG@10") == 0.3538
    assert reference.paper_value("Toys_and_Games", "SASRec", "HR@1") == 0.1878
    assert reference.authors_value("LastFM", "S3-Rec", "MRR") == 0.2981
    assert reference.paper_value("LastFM", "S3-Rec-no-aap") is None
    assert len(reference.PAPER_TABLE2) == 6 and len(reference.PAPER_MODELS) == 12
    shared = Path(__file__).resolve().parents[2] / "shared" / "reference" / "paper_table2.tsv"
    if shared.exists():  # the package's copy is the shared transcription, byte for byte
        assert reference.PAPER_TABLE2_TSV.strip() == shared.read_text().strip()


def test_table2_frames_put_ours_beside_paper_and_repo():
    long = plots.table2_frame("tiny", FIXTURE)
    row = long[(long.dataset == "LastFM") & (long.model == "S3-Rec") & (long.metric == "NDCG@10")].iloc[0]
    assert row.seeds == 2 and row.paper == 0.3583 and row.authors_repo == 0.3577
    runs = [r for r in experiments.load_results("table2", "tiny", FIXTURE) if r["model"] == "S3-Rec"]
    values = [r["test"]["NDCG@10"] for r in runs]
    assert row.ours == pytest.approx(np.mean(values)) and row.ours_std == pytest.approx(np.std(values, ddof=1))
    assert {"full_HR@20", "full_NDCG@10"} <= set(long.metric)
    wide = plots.table2_display("tiny", FIXTURE)
    assert list(wide.columns) == list(reference.METRICS)
    assert wide.loc[("LastFM", "SASRec", "paper"), "MRR"] == 0.2364
    assert wide.loc[("LastFM", "SASRec", "authors' repo"), "MRR"] == 0.2209
    assert not np.isnan(wide.loc[("LastFM", "SASRec", "ours"), "MRR"])


def test_every_figure_draws_from_the_store_and_says_tiny_cpu():
    _check_figure(plots.plot_table2("tiny", FIXTURE))
    _check_figure(plots.plot_ablation("tiny", FIXTURE))
    _check_figure(plots.plot_sparsity("tiny", FIXTURE))
    _check_figure(plots.plot_pretrain_epochs("tiny", FIXTURE))
    _check_figure(plots.plot_convergence("tiny", FIXTURE))


def test_many_datasets_wrap_to_rows_within_the_width(tmp_path):
    for d in ("LastFM", "Beauty", "Yelp"):  # the fixture's LastFM runs, stored again under two more names
        for src in (FIXTURE / "tiny" / "table2" / "LastFM").rglob("*.json"):
            dst = tmp_path / "tiny" / "table2" / d / src.relative_to(FIXTURE / "tiny" / "table2" / "LastFM")
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(src.read_text().replace('"dataset": "LastFM"', f'"dataset": "{d}"'))
    assert len({r["dataset"] for r in experiments.load_results("table2", "tiny", tmp_path)}) == 3
    fig = plots.plot_convergence("tiny", tmp_path)
    assert len(fig.axes) == 3 and fig.get_figwidth() <= plots.MAX_WIDTH
    assert len({round(ax.get_position().y0, 3) for ax in fig.axes}) == 2  # 3 panels of 3.5 in: two rows
    _check_figure(fig)


def test_one_seed_has_no_spread_and_tables_say_so():
    ab = plots.ablation_frame("tiny", FIXTURE)
    assert (ab.seeds == 1).all() and ab["std"].isna().all()  # not "std 0.0"
    text = plots.summary_table(plots.ablation_seeds("tiny", FIXTURE), "variant")
    assert list(text.columns) == ["variant", "NDCG@10 (mean ± sd)", "seeds"]
    assert "±" not in text.iloc[0, 1] and text.iloc[0, 1] == f"{ab['mean'].iloc[0]:.4f}"
    two = plots.summary_table(plots.convergence_seeds("tiny", FIXTURE).query("epoch == 0"), "model")
    assert two["NDCG@10 (mean ± sd)"].str.contains(" ± ").all() and (two.seeds == 2).all()


def test_table2_summary_marks_what_is_missing():
    t = plots.table2_summary("LastFM", "tiny", FIXTURE)
    assert "model" in t.columns and t.index.tolist() == list(range(len(t)))  # no index to show
    s3 = t.set_index("model").loc["S3-Rec"]
    assert s3.seeds == 2 and " ± " in s3["NDCG@10 ours"] and s3["NDCG@10 paper"] == 0.3583
    fm = t.set_index("model").loc["FM"]
    assert fm["NDCG@10 ours"] == "not run" and np.isnan(fm["NDCG@10 repo"])  # the repository has no FM row


def test_table2_s3rec_row_is_our_own_pre_training_where_table2_has_none(tmp_path):
    """No S3-Rec run in table2: the row shows our runs from the last checkpoint of our own pre-training (Fig. 5's
    store), labelled with its length, beside the paper's S3-Rec; without such runs it says "not run"."""
    import json

    def put(rel, **run):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"dataset": "LastFM", **run}))

    put("paper/table2/LastFM/SASRec/seed1.json", model="SASRec", seed=1, test={"NDCG@10": 0.25, "HR@10": 0.4})
    assert plots.table2_summary("LastFM", "paper", tmp_path).set_index("model").loc["S3-Rec", "NDCG@10 ours"] == "not run"
    src = "pretrain_epochs/LastFM/S3-Rec-pretrain/seed1"
    for epoch, values in ((0, (0.2, 0.2)), (10, (0.33, 0.34)), (30, (0.36, 0.37))):
        for seed, v in enumerate(values, 1):
            put(f"official/pretrain_epochs/LastFM/S3-Rec-pt{epoch:03d}/seed{seed}.json", model="S3-Rec", seed=seed,
                test={"NDCG@10": v, "HR@10": v + 0.2}, from_pretrain={"run": src, "epoch": epoch})
    row = plots.table2_summary("LastFM", "paper", tmp_path).set_index("model").loc["S3-Rec (our pre-training, 30 epochs)"]
    assert row.seeds == 2 and row["NDCG@10 ours"].startswith("0.3650 ± ") and row["NDCG@10 paper"] == 0.3583
    assert plots.table2_summary("LastFM", "paper", tmp_path, own_pretraining=None).model.tolist().count("S3-Rec") == 1


def test_provenance_table_skips_what_is_not_stored(tmp_path):
    both = plots.provenance_table(["table2", "plateau", "ablation"], "tiny", FIXTURE)
    assert len(both) == len(experiments.load_results("table2", "tiny", FIXTURE)) + 5
    assert plots.provenance_table(["ablation"], "paper", tmp_path).empty


def test_chapter21_figures_keep_every_series_visible():
    shares = pd.DataFrame({"aap": [0.4, 0.2], "mip": [0.01, 0.1], "map": [0.58, 0.6], "sp": [0.01, 0.1]},
                          index=["official", "paper"])
    fig = plots.plot_loss_shares(shares)
    assert fig.get_figwidth() <= plots.MAX_WIDTH and len(fig.legends) == 1
    bars = fig.axes[0].patches
    assert len(bars) == 8 and max(b.get_x() + b.get_width() for b in bars) == pytest.approx(1.0)  # stacked to 100%
    plt.close(fig)
    rows = [{"setting": s, "seed": i, "test_NDCG@10": v} for s, vals in (("a", [0.1, 0.1, 0.2]), ("b", [0.3, 0.1, 0.2]))
            for i, v in enumerate(vals)]
    fig = plots.plot_seed_comparison(rows)
    ax = fig.axes[0]
    from matplotlib.collections import PathCollection

    dots = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert len(dots) == 6 and len({tuple(d) for d in np.round(dots, 6)}) == 6  # equal values stay apart (jitter)
    means = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert means and all(x > dots[:, 0].max() - 1 for x in means[0].get_xdata())
    assert fig.get_figwidth() <= plots.MAX_WIDTH and len(fig.legends) == 1
    plt.close(fig)


def test_frames_have_one_row_per_variant():
    ab = plots.ablation_frame("tiny", FIXTURE)
    assert list(ab.variant) == ["full", "no-aap", "no-mip", "no-map", "no-sp"]
    sp = plots.sparsity_frame("tiny", FIXTURE)
    assert sorted(set(sp.fraction)) == [0.2, 0.4, 0.6, 0.8, 1.0] and set(sp.model) == {"S3-Rec", "SASRec"}
    pe = plots.pretrain_epochs_frame("tiny", FIXTURE)
    assert list(pe.pretrain_epochs) == [0, 1, 2, 3, 4]
    cv = plots.convergence_frame("tiny", FIXTURE)
    assert set(cv.model) == {"S3-Rec", "SASRec"} and (cv.seeds == 2).all()
    prov = plots.provenance_frame("ablation", "tiny", FIXTURE)
    assert len(prov) == 5 and prov.command.str.contains("experiment ablation").all()


def test_pending_status_and_missing_results(tmp_path):
    assert plots.pending_status("ablation", "tiny", FIXTURE).startswith("5 'ablation' runs are stored (tiny preset, datasets LastFM)")
    empty = plots.pending_status("ablation", "paper", tmp_path)
    assert empty.startswith("No 'ablation' run is stored yet") and "experiment ablation --preset paper" in empty
    with pytest.raises(S3RecError, match="experiment ablation --preset tiny"):
        plots.plot_ablation("tiny", tmp_path)


def _fig3_store(tmp_path):
    """A Fig. 3 store made of the fixture's table2 runs, relabelled (their numbers are real runs of our code):
    SASRec from scratch on a GPU (``seed<S>.cuda.json``), SASRec+pretrain on the CPU; no other model stored."""
    import json

    for src_model, dst_model, suffix, device in (("SASRec", "SASRec", ".cuda", "NVIDIA H200"),
                                                 ("S3-Rec", "SASRec+pretrain", "", None)):
        for src in sorted((FIXTURE / "tiny" / "table2" / "LastFM" / src_model).glob("seed*.json")):
            run = json.loads(src.read_text())
            run["model"], run["experiment"] = dst_model, "other_models"
            if device:
                run["provenance"]["device"] = device
            dst = tmp_path / "tiny" / "other_models" / "LastFM" / dst_model / f"{src.stem}{suffix}.json"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(json.dumps(run))
    return tmp_path


def test_fig3_labels_devices_and_never_draws_a_missing_arm_as_zero(tmp_path):
    root = _fig3_store(tmp_path)
    seeds = plots.other_models_seeds("tiny", root)
    assert set(zip(seeds.pretrained, seeds.device)) == {(False, "NVIDIA H200"), (True, "CPU")}
    pairs = plots.other_models_pairs("tiny", root).set_index("model")
    assert list(pairs.index) == [base for base, _ in experiments.FIG3_PAIRS]  # every model of Fig. 3, in order
    sas = pairs.loc["SASRec"]
    assert sas.both and sas.gain == pytest.approx(sas.pretrained_mean - sas.scratch_mean)
    assert sas.scratch_device == "NVIDIA H200" and sas.pretrained_device == "CPU"
    assert not pairs.drop("SASRec").both.any() and pairs.drop("SASRec").gain.isna().all()
    assert pairs.loc["Caser", "pretrained_device"] == plots.NOT_RUN and pairs.loc["Caser", "pretraining"] == "embeddings only"
    table = plots.other_models_table("tiny", root)
    assert "dataset" not in table.columns and len(table) == 2 * len(experiments.FIG3_PAIRS)
    assert (table.set_index(["model", "arm"]).loc[("Caser", "pre-trained (embeddings only)"),
                                                 ["NDCG@10 (mean ± sd)", "device"]] == plots.NOT_RUN).all()
    status = plots.other_models_status("tiny", root)
    assert "2 made on CPU, 2 made on NVIDIA H200" in status and "not run yet: GRU4Rec from scratch" in status
    prov = plots.other_models_provenance("tiny", root)
    assert len(prov) == 4 and prov.run.str.endswith(".cuda").sum() == 2
    fig = plots.plot_other_models("tiny", root, reference={"LastFM": ("a reference", 0.1)})
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]  # the device inside each bar, "not run yet" where no bar is
    assert texts.count(plots.NOT_RUN) == 2 * len(experiments.FIG3_PAIRS) - 2
    assert texts.count("H200") == 1 and texts.count("CPU") == 1
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 2 and min(heights) > 0  # two bars drawn (SASRec's arms); nothing drawn as zero
    assert len(fig.legends[0].get_texts()) == 3  # from scratch, pre-trained, the reference line
    _check_figure(fig, "tiny preset, CPU + NVIDIA H200")


def test_fig3_without_runs_says_how_to_make_them(tmp_path):
    assert plots.other_models_status("tiny", tmp_path).startswith("No `other_models` run is stored yet")
    with pytest.raises(S3RecError, match="experiment other_models --preset tiny"):
        plots.plot_other_models("tiny", tmp_path)


def test_sasrec_plateau_figure_keeps_every_stopped_seed_visible(monkeypatch):
    """Issue 24: the seeds that stopped on the plateau are drawn on top of the others (thicker, one line style
    each, a cross where they stopped) and magnified in an inset, so none hides under the seeds that went on."""
    from s3rec_lite.book.plots import paper_results

    runs = [r for r in experiments.load_results("table2", "paper") if r["dataset"] == "LastFM" and r["model"] == "SASRec"]
    if not runs:
        pytest.skip("no stored paper-scale SASRec runs on LastFM")
    monkeypatch.setattr(paper_results, "authors_curve", lambda *a, **k: None)  # no log file needed here
    fig = plots.plot_sasrec_plateau("paper", "LastFM")
    (ax,), insets = fig.axes, fig.axes[0].child_axes
    assert len(insets) == 1  # the magnified epochs of the stopped seeds
    stopped = [r for r in runs if max(h["valid_NDCG@10"] for h in r["history"]) <= plots.PLATEAU_ESCAPE]
    assert stopped  # the stored runs have seeds that stopped on the plateau
    for a in (ax, insets[0]):
        lines = [ln for ln in a.get_lines() if len(ln.get_xdata()) > 1 and ln.get_linestyle() != "None"]
        red = [ln for ln in lines if "stopped on the plateau" in ln.get_label()]
        blue = [ln for ln in lines if "left the plateau" in ln.get_label()]
        assert len(red) == len(stopped) and len(blue) == len(runs) - len(stopped)
        assert len({ln.get_linestyle() for ln in red}) == len(red)  # one line style per stopped seed
        assert min(ln.get_zorder() for ln in red) > max(ln.get_zorder() for ln in blue)  # on top
        assert min(ln.get_linewidth() for ln in red) > max(ln.get_linewidth() for ln in blue)
        crosses = [ln for ln in a.get_lines() if ln.get_marker() == "X"]
        assert sorted(int(ln.get_xdata()[0]) for ln in crosses) == sorted(len(r["history"]) - 1 for r in stopped)
    assert insets[0].get_xlim()[1] >= max(len(r["history"]) - 1 for r in stopped)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "where a run stopped on the plateau" in labels
    plt.close(fig)
