"""Results figures and tables drawn from a stored fixture (tests/fixtures/results: written by the runner,
`python -m s3rec_lite experiment ... --preset tiny --datasets LastFM` with a very small model; see its README)."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from s3rec_lite import experiments, reference
from s3rec_lite.book import plots  # noqa: E402
from s3rec_lite.errors import S3RecError  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "results"


def _check_figure(fig, label="tiny preset, CPU"):
    assert label in fig._suptitle.get_text()
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_title()
    assert fig.axes[0].get_ylabel()
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
