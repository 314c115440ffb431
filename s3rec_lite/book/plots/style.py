"""The book's one look: a matplotlib style, a palette with a stable colour per model name."""
from __future__ import annotations

import zlib

import matplotlib

PALETTE = {
    "S3-Rec": "#C0392B", "S3-Rec-released": "#E67E22", "SASRec": "#2E86C1", "FDSA": "#7D3C98", "GRU4Rec": "#27AE60", "Caser": "#D68910",
    "BERT4Rec": "#17A589", "PopRec": "#7F8C8D", "paper": "#000000", "ours": "#C0392B", "authors": "#2E86C1",
}
COLORS = ["#C0392B", "#2E86C1", "#27AE60", "#D68910", "#7D3C98", "#17A589", "#7F8C8D", "#2C3E50"]


def style() -> None:
    """The book's matplotlib style (call once per notebook; figure functions call it too)."""
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 3.8), "figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight",
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9, "legend.frameon": False,
        "axes.prop_cycle": matplotlib.cycler(color=COLORS), "font.size": 10,
    })


def color(name: str) -> str:
    return PALETTE.get(name, COLORS[zlib.crc32(name.encode()) % len(COLORS)])  # stable across processes
