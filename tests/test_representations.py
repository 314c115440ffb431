"""The representation probes of the book's chapter 12 (s3rec_lite.book.representations)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from s3rec_lite import make_synthetic, preset, seed_everything  # noqa: E402
from s3rec_lite.book import representations as R  # noqa: E402
from s3rec_lite.errors import S3RecError  # noqa: E402
from s3rec_lite.train import build_model  # noqa: E402


def test_roc_auc_matches_counting_pairs():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 60).astype(float)  # many ties
    labels = rng.random(60) < 0.4
    pos, neg = scores[labels], scores[~labels]
    brute = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert R.roc_auc(scores, labels) == pytest.approx(brute)
    assert R.roc_auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert R.roc_auc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    assert R.roc_auc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5
    with pytest.raises(S3RecError, match="positives and negatives"):
        R.roc_auc([1, 2], [1, 1])


def test_pca_2d_finds_the_main_direction():
    rng = np.random.default_rng(1)
    t = rng.normal(size=500)
    X = np.outer(t, [3.0, 0, 0, 4.0]) + 0.01 * rng.normal(size=(500, 4))  # nearly all variance along (3, 0, 0, 4)
    points, share = R.pca_2d(X)
    assert points.shape == (500, 2) and share[0] > 0.99 and share[0] >= share[1]
    assert abs(np.corrcoef(points[:, 0], t)[0, 1]) > 0.999
    with pytest.raises(S3RecError, match="pca_2d"):
        R.pca_2d(np.ones(5))


def test_split_items_is_a_seeded_partition():
    train, test = R.split_items(100, 0.3, seed=7)
    assert len(test) == 30 and len(np.intersect1d(train, test)) == 0
    assert sorted(np.r_[train, test].tolist()) == list(range(100))
    assert np.array_equal(test, R.split_items(100, 0.3, seed=7)[1])
    assert not np.array_equal(test, R.split_items(100, 0.3, seed=8)[1])
    with pytest.raises(S3RecError, match="test_fraction"):
        R.split_items(10, 1.0)


def test_probe_reads_a_planted_signal_and_not_noise():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 8))
    Y = np.stack([X[:, 0] + 0.3 * rng.normal(size=600) > 0, X[:, 1] - X[:, 2] > 0.5], 1).astype(float)  # [600, 2]
    planted = R.probe_auc(X, Y, seeds=(0, 1))
    assert planted.shape == (2, 2) and planted.min() > 0.9
    noise = R.probe_auc(rng.normal(size=(600, 8)), Y, seeds=(0, 1, 2))
    assert abs(noise.mean() - 0.5) < 0.06
    # standardisation: the scale of a table does not change what the probe reads
    assert np.allclose(R.probe_auc(0.01 * X, Y, seeds=(0,)), R.probe_auc(X, Y, seeds=(0,)), atol=1e-4)
    with pytest.raises(S3RecError, match="same n"):
        R.fit_linear_probe(X, Y[:10])


def test_probe_table_summarises_over_tags_and_splits():
    table = R.probe_table({"a": np.array([[0.9, 0.7], [0.8, 0.6]]), "b": np.full((2, 2), 0.5)})
    row = table.set_index("representation").loc["a"]
    assert row["mean AUC"] == pytest.approx(0.75) and row["worst tag"] == pytest.approx(0.65)
    assert row["best tag"] == pytest.approx(0.85) and row["sd over splits"] == pytest.approx(np.std([0.8, 0.7], ddof=1))


@pytest.fixture(scope="module")
def syn():
    return make_synthetic()


def test_attribute_helpers_on_a_dataset(syn):
    counts = syn.attribute_matrix()[1:syn.n_items + 1].sum(0)
    top = R.frequent_attributes(syn, 3)
    assert 0 not in top and list(counts[top]) == sorted(counts[1:], reverse=True)[:3]
    Y = R.attribute_targets(syn, top)
    assert Y.shape == (syn.n_items, 3) and set(np.unique(Y)) <= {0.0, 1.0}
    assert np.array_equal(Y.sum(0), counts[top])
    distinct = R.distinct_attributes(syn, 3)
    assert len(set(distinct.tolist())) == 3 and distinct[0] == top[0]
    labels = R.exclusive_labels(Y)
    one = Y.sum(1) == 1
    assert np.array_equal(labels[one], Y[one].argmax(1)) and (labels[~one] == -1).all()
    assert R.item_counts(syn).sum() == sum(len(s[:-2]) for s in syn.sequences)
    with pytest.raises(S3RecError, match="attribute ids"):
        R.attribute_targets(syn, [0])


def test_item_embedding_matrix_is_a_copy(syn):
    seed_everything(0)
    model = build_model(preset("tiny", progress=False), syn, "cpu")
    E = R.item_embedding_matrix(model, syn.n_items)
    assert E.shape == (syn.n_items, model.arch.hidden_size)
    assert np.allclose(E[0], model.item_embeddings.weight[1].detach().numpy())
    model.item_embeddings.weight.data.add_(1.0)
    assert not np.allclose(E[0], model.item_embeddings.weight[1].detach().numpy())
    with pytest.raises(S3RecError, match="rows"):
        R.item_embedding_matrix(model, syn.n_items + 5)


def test_figures_fit_a_phone():
    rng = np.random.default_rng(3)
    maps = {name: R.pca_2d(rng.normal(size=(50, 4))) for name in ("a", "b", "c")}
    fig = R.plot_embedding_maps(maps, rng.integers(-1, 3, 50), ["t1", "t2", "t3"])
    assert fig.get_size_inches()[0] <= 7.0 and len([a for a in fig.axes if a.get_title()]) == 3
    legend = fig.axes[-1].get_legend()  # in the free fourth panel, over no data
    assert [t.get_text() for t in legend.get_texts()] == ["t1", "t2", "t3", "none or several"]
    fig2 = R.plot_probe({"a": rng.uniform(0.4, 1, (2, 5)), "b": rng.uniform(0.4, 1, (2, 5))}, list("vwxyz"))
    assert fig2.get_size_inches()[0] <= 7.0 and "AUC" in fig2.axes[0].get_xlabel()
    plt.close("all")
    with pytest.raises(S3RecError, match="1 to 3"):
        R.plot_embedding_maps({}, np.zeros(0), [])
