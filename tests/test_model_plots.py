import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from s3rec_lite.book import plots  # noqa: E402
from s3rec_lite.model import attention_mask  # noqa: E402


def _check(fig, n_axes_min=1):
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert len(axes) >= n_axes_min
    main = axes[0]
    assert main.get_xlabel() and main.get_ylabel()
    assert main.get_title() or fig._suptitle is not None
    matplotlib.pyplot.close(fig)


def test_attention_heatmap_and_masks():
    w = torch.softmax(torch.randn(6, 6), -1)
    _check(plots.attention_heatmap(w, labels=list("abcdef")))
    fig = plots.attention_heads(torch.softmax(torch.randn(2, 5, 5), -1))
    assert len([a for a in fig.axes if a.get_label() != "<colorbar>"]) == 2
    _check(fig)
    x = torch.tensor([[0, 0, 3, 4, 5, 6]])
    fig = plots.attention_masks(attention_mask(x, True)[0, 0], attention_mask(x, False)[0, 0])
    assert len(fig.axes) == 2
    _check(fig, 2)


def test_line_figures():
    _check(plots.activation_functions())
    hist = [{"epoch": e, "loss": 1.0 / (e + 1), "valid_NDCG@10": 0.1 * e} for e in range(4)]
    _check(plots.learning_curve(hist))
    _check(plots.loss_curves({"mip": [3, 2, 1, 1], "map": [9, 5, 4, 3]}, relative=True, smooth=2))
    _check(plots.pairwise_loss_shapes())
    _check(plots.finetune_loss_shapes())


def test_sequence_pictures():
    items = np.array([0, 0, 5, 6, 7, 8])
    inputs = np.array([0, 0, 5, 9, 7, 9])
    masked = inputs == 9
    negs = np.array([[1], [1], [2], [3], [4], [1]])
    fig = plots.masking_picture(items, inputs, masked, negs, mask_id=9)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("[M]") == 2 and "3" in texts  # the negative at the first masked position
    _check(fig)
    ctx = np.array([0, 0, 5, 9, 9, 8])
    pos = np.array([0, 0, 9, 6, 7, 9])
    neg = np.array([0, 0, 9, 2, 3, 9])
    _check(plots.segment_views(items, ctx, pos, neg, mask_id=9))
    am = np.zeros((10, 5), dtype=np.uint8)
    am[5, [1, 2]] = am[6, 3] = 1
    fig = plots.attribute_targets(items, am)
    assert fig.axes[0].collections[0].get_array().shape == (4, 3)  # seaborn heat map: 4 items, 3 attributes present
    _check(fig)
    am[7, [1, 4]] = 1  # attribute 1 is now carried by two items: it comes first
    fig = plots.attribute_targets(items, am, max_attributes=2)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1", "2"]
    assert "the 2 most shared of 4 present" in fig.axes[0].get_xlabel()
    _check(fig)


def test_setting_comparison():
    rows = [{"setting": s, "test_NDCG@10": v} for s, v in [("a", 0.1), ("a", 0.2), ("b", 0.3)]]
    fig = plots.setting_comparison(rows)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == pytest.approx([0.15, 0.3])
    _check(fig)


def test_names_are_not_shadowed_by_other_plot_modules():
    from s3rec_lite.book.plots import model_plots

    for name in model_plots.__all__:
        assert getattr(plots, name) is getattr(model_plots, name), f"plots.{name} is shadowed by another module"
