"""Figures for the book, in one consistent style.

``style()`` sets the look; every figure function returns a matplotlib ``Figure`` with labelled axes and
a title that serves as caption. Functions live in topic modules and are re-exported here:
``data_plots`` (datasets, evaluation), ``model_plots`` (attention, masking, objectives), ``results_plots``
(Table 2 and Figures 2-6 from the results store).
"""
from __future__ import annotations

from .style import COLORS, PALETTE, color, glue_figure, style  # noqa: F401
from .results_plots import *  # noqa: F401,F403  Table 2 and Figures 2-6 from the results store
from .model_plots import *  # noqa: F401,F403  attention, masking, objectives (chapters 4, 5, 8-11 and 21)
from .data_plots import *  # noqa: E402,F401,F403
from .fig3_plots import *  # noqa: E402,F401,F403  Fig. 3 (other models pre-trained)
from .paper_results import *  # noqa: E402,F401,F403  the paper-scale CPU runs: Table 2 summary, the SASRec plateau
from .diagrams import *  # noqa: E402,F401,F403  pre-training and the four objectives, drawn (chapters 8-13)
from .attention_plots import *  # noqa: E402,F401,F403  chapter 6: inside the released model
