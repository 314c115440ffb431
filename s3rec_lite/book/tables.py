"""How the book shows a table and a run's provenance: one look for every chapter.

``show_table(df)`` renders a DataFrame for a reader: no index column (unless it carries meaning), a fixed
number of decimals, an em dash instead of NaN, and a caption. ``mean_std(values)`` formats a metric over
seeds ("0.3561 ± 0.0076 (10 seeds)"; one seed has no spread, so none is printed). ``provenance(df)`` puts
where the numbers come from into one collapsed block (HTML ``<details>``), out of the reading flow.
"""
from __future__ import annotations

import html
import math
import numbers

import pandas as pd

__all__ = ["show_table", "mean_std", "provenance", "format_number"]

DASH = "—"


def format_number(x, decimals: int = 4) -> str:
    """``0.35612 -> "0.3561"``; NaN/None -> an em dash; integers stay integers; text unchanged."""
    if x is None or (isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral) and math.isnan(x)):
        return DASH
    if isinstance(x, bool) or isinstance(x, str):
        return str(x)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    try:
        return f"{float(x):.{decimals}f}"
    except (TypeError, ValueError):
        return str(x)


def mean_std(values, decimals: int = 4, seeds: bool = True) -> str:
    """Mean ± sample standard deviation over seeds; one value is printed alone ("(1 seed)"), none as a dash."""
    v = [float(x) for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return DASH
    mean = sum(v) / len(v)
    if len(v) == 1:
        return f"{mean:.{decimals}f}" + (" (1 seed)" if seeds else "")
    std = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}" + (f" ({len(v)} seeds)" if seeds else "")


def show_table(df: pd.DataFrame, decimals: int | dict = 4, caption: str | None = None, index: bool = False):
    """A pandas Styler for a reader: ``index=False`` hides the index (reset a meaningful one first or pass
    ``index=True``), numbers get ``decimals`` places (a dict per column is allowed), NaN becomes a dash."""
    def fmt(col):
        d = decimals.get(col, 4) if isinstance(decimals, dict) else decimals
        return lambda x: format_number(x, d)

    styler = df.style.format({c: fmt(c) for c in df.columns})
    if not index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    return styler.set_table_styles([{"selector": "caption", "props": "caption-side: top; text-align: left;"}])


class _HTML:
    """Displays as HTML in Jupyter and on the site; prints as plain text elsewhere."""

    def __init__(self, html_text: str, text: str):
        self._html, self._text = html_text, text

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._text


def provenance(df: pd.DataFrame, summary: str = "Provenance: where every number on this page comes from"):
    """One collapsed block (``<details>``) holding ``df`` (for example ``plots.provenance_frame(...)``)."""
    table = df.to_html(index=False, na_rep=DASH, escape=True, border=0)
    body = (f'<details class="s3rec-provenance"><summary>{html.escape(summary)}</summary>'
            f'<div class="s3rec-provenance-table">{table}</div></details>')
    return _HTML(body, f"{summary}\n{df.to_string(index=False)}")
