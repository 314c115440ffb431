"""The book's table helpers: formatting a reader sees (no NaN, no spread for one seed, a collapsed provenance)."""
import math

import numpy as np
import pandas as pd

from s3rec_lite.book.tables import format_number, mean_std, provenance, show_table


def test_format_number():
    assert format_number(0.356123) == "0.3561"
    assert format_number(float("nan")) == "—" and format_number(None) == "—"
    assert format_number(np.int64(12)) == "12" and format_number("x") == "x"


def test_mean_std_one_seed_has_no_spread():
    assert mean_std([0.3]) == "0.3000 (1 seed)"
    m = mean_std([0.35, 0.36, 0.37])
    assert m.startswith("0.3600 ± 0.0100") and m.endswith("(3 seeds)")
    assert mean_std([]) == "—" and mean_std([math.nan]) == "—"


def test_show_table_hides_index_and_nan():
    html = show_table(pd.DataFrame({"a": [1.23456, float("nan")]}, index=[7, 8])).to_html()
    assert "1.2346" in html and "nan" not in html.lower().replace("nan-", "") and ">7<" not in html


def test_provenance_is_collapsed():
    out = provenance(pd.DataFrame({"run": ["x"], "commit": ["abc"]}))._repr_html_()
    assert out.startswith("<details") and "<summary>" in out and "abc" in out
