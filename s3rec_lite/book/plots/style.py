"""The book's one look: a seaborn theme, a palette with a stable colour per model name, and the way a
figure reaches the page (``glue_figure``: a numbered caption on the site, a plain figure in a live notebook)."""
from __future__ import annotations

import zlib

import matplotlib
from matplotlib.figure import Figure

PALETTE = {
    "S3-Rec": "#C0392B", "S3-Rec-released": "#E67E22", "SASRec": "#2E86C1", "FDSA": "#7D3C98", "GRU4Rec": "#27AE60", "Caser": "#D68910",
    "BERT4Rec": "#17A589", "PopRec": "#7F8C8D", "paper": "#000000", "ours": "#C0392B", "authors": "#2E86C1",
    # the other models of Table 2: a feature variant is a lighter shade of its base model
    "FM": "#D4AC0D", "HGN": "#34495E", "AutoInt": "#A04000", "GRU4Rec_F": "#82E0AA", "SASRec_F": "#85C1E9",
}
COLORS = ["#C0392B", "#2E86C1", "#27AE60", "#D68910", "#7D3C98", "#17A589", "#7F8C8D", "#2C3E50"]

#: Matplotlib settings on top of seaborn's "whitegrid" theme. A figure is at most about 7 inches wide at
#: 100 dpi (the content column is 784 px) and no text is smaller than 9 pt, so it stays readable on a phone.
RC = {
    "figure.figsize": (6.4, 3.8), "figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight",
    "axes.spines.top": False, "axes.spines.right": False, "grid.alpha": 0.5,
    "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9, "legend.title_fontsize": 9,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "font.size": 10, "legend.frameon": False,
}


def style() -> None:
    """The book's theme for every figure of every chapter: ``seaborn.set_theme`` with the book's palette
    and :data:`RC` (each chapter's setup cell calls it; every figure function calls it too)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=COLORS, rc=RC)


def color(name: str) -> str:
    return PALETTE.get(name, COLORS[zlib.crc32(name.encode()) % len(COLORS)])  # stable across processes


def glue_figure(name: str, obj) -> None:
    """Show ``obj`` (a matplotlib Figure, or anything with an HTML representation) as the figure ``name``.

    On the site the cell is tagged ``remove-output`` and the Markdown cell after it pastes the figure with
    ``{glue:figure} name`` (numbered caption, alt text). The object is glued for that (myst-nb's ``glue``,
    when myst-nb is installed) and also displayed once in the cell, so that a live notebook (Jupyter, Colab,
    where the directive is not rendered) shows it. A Figure is closed afterwards (shown once, not twice)."""
    from IPython.display import display

    try:
        from myst_nb import glue
    except ImportError:  # Colab and other live kernels without the site's tools
        glue = None
    if glue is not None:
        glue(name, obj, display=False)
    display(obj)
    if isinstance(obj, Figure):
        import matplotlib.pyplot as plt

        plt.close(obj)
