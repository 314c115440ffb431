"""The diagrams of pre-training (s3rec_lite.book.plots.diagrams): each draws the names of what it shows, fits a
phone (at most 7 inches wide, no text under 9 pt), and the overview prints the loss weights it is given."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from s3rec_lite.book import plots  # noqa: E402
from s3rec_lite.book.plots import diagrams  # noqa: E402
from s3rec_lite.config import PAPER_WEIGHTS  # noqa: E402


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _check_size(fig):
    w, _ = fig.get_size_inches()
    assert w <= 7.0 + 1e-9, w
    small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text) if t.get_text() and t.get_fontsize() < 9]
    assert not small, small


# (function, strings some text label must contain): the head, the vector that goes through it, what it meets
EXPECTED = {
    "aap_diagram": ["W_{\\mathrm{AAP}}", "F_2", "E_A", "e_{a_1}", "binary cross-entropy", "[M]"],
    "mip_diagram": ["W_{\\mathrm{MIP}}", "F_3", "e_{i_3}", "e_{j}", "softplus", "[M]", "hides"],
    "map_diagram": ["W_{\\mathrm{MAP}}", "F_3", "E_A", "e_{a_1}", "[M]", "hides"],
    "sp_diagram": ["W_{\\mathrm{SP}}", "\\tilde s", "s^-", "softplus", "[M]", "segment"],
    "pretraining_diagram": ["W_{\\mathrm{AAP}}", "W_{\\mathrm{MIP}}", "W_{\\mathrm{MAP}}", "W_{\\mathrm{SP}}",
                            "item embeddings $E_I$", "attribute embeddings $E_A$", "bidirectional Transformer",
                            "[M]"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_diagram_names_what_it_draws(name):
    fig = getattr(plots, name)()  # exported from s3rec_lite.book.plots
    texts = _texts(fig)
    for want in EXPECTED[name]:
        assert any(want in t for t in texts), (name, want, texts)
    _check_size(fig)
    plt.close(fig)


def test_objective_diagrams_draw_the_official_vectors():
    """What meets W follows objectives.py: AAP at an unmasked output, MIP and MAP at a masked one."""
    aap = " ".join(_texts(plots.aap_diagram()))
    assert "x = F_2" in aap and "sees $i_2$" in aap  # F_t where the item is visible
    mip = " ".join(_texts(plots.mip_diagram()))
    assert "x = F_3" in mip and "W F_3 + b" in mip  # the masked output goes through W, the item embeddings do not
    sp = " ".join(_texts(plots.sp_diagram()))
    assert "W \\tilde s + b" in sp  # the context view goes through W_SP, the segments do not
    plt.close("all")


def test_overview_prints_the_loss_weights():
    fig = plots.pretraining_diagram()
    loss = [t for t in _texts(fig) if "mathcal{L} =" in t]
    assert len(loss) == 1
    for name in ("aap", "mip", "map", "sp"):
        assert f"{PAPER_WEIGHTS[name]:.1f}" in loss[0]
    fig2 = plots.pretraining_diagram({"sp": 0.0})
    assert "0.0\\,\\mathcal{L}_{SP}" in " ".join(_texts(fig2))
    plt.close("all")


def test_objective_diagram_by_name():
    fig = diagrams.objective_diagram("MIP")
    assert any("W_{\\mathrm{MIP}}" in t for t in _texts(fig))
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown objective"):
        diagrams.objective_diagram("xyz")
