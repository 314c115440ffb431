"""The book's run mode, read from one place: ``S3REC_MODE`` = ``fast`` (default) | ``full``.

fast    the results chapters read the stored paper-scale results (``results/``, with their provenance); every
        cell that trains is a small live run that takes seconds to a minute on a CPU. What the tests, nbval and
        the site build use.
full    the results chapters first run (or resume) their paper-scale experiment (meant for a GPU).
"""
from __future__ import annotations

import os

MODES = ("fast", "full")


def mode() -> str:
    value = os.environ.get("S3REC_MODE", "fast").strip().lower() or "fast"
    if value not in MODES:
        raise ValueError(f"S3REC_MODE={value!r}: expected one of {', '.join(MODES)}")
    return value


def is_full() -> bool:
    return mode() == "full"
