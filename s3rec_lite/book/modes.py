"""The book's run mode, read from one place: ``S3REC_MODE`` = ``fast`` (default) | ``cached`` | ``full``.

fast    tiny runs on a CPU in seconds to minutes: what the tests, nbval and the site build use.
cached  draw from stored results (``results/``) and never train more than a fast demo.
full    re-run the real experiments (meant for a GPU).
"""
from __future__ import annotations

import os

MODES = ("fast", "cached", "full")


def mode() -> str:
    value = os.environ.get("S3REC_MODE", "fast").strip().lower() or "fast"
    if value not in MODES:
        raise ValueError(f"S3REC_MODE={value!r}: expected one of {', '.join(MODES)}")
    return value


def is_full() -> bool:
    return mode() == "full"
