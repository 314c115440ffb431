"""results/README.md's generated tables are the store's: a commit of new results must regenerate them."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import results_status  # noqa: E402


def test_the_readme_tables_are_the_stores():
    assert results_status.stale() == [], "results/README.md is out of date: run python scripts/results_status.py --write"


def test_write_rewrites_only_between_the_markers_and_check_names_a_stale_table(tmp_path):
    readme = tmp_path / "README.md"
    begin, end = results_status._markers("stored runs")
    cbegin, cend = results_status._markers("campaign status")
    (tmp_path / "campaign.tsv").write_text((REPO / "results" / "campaign.tsv").read_text())
    readme.write_text(f"intro\n{begin}\n| old |\n{end}\nmiddle\n{cbegin}\nold\n{cend}\noutro\n")
    assert results_status.stale(readme) == ["stored runs", "campaign status"]
    results_status.write(readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and "\nmiddle\n" in text and text.endswith("outro\n") and "| old |" not in text
    assert results_status.stale(readme) == []  # an empty store: its tables, and nothing stale
    readme.write_text(text.replace(end, ""))
    with pytest.raises(SystemExit, match="expected one line"):
        results_status.stale(readme)


def test_check_exits_1_with_one_line_when_stale(tmp_path):
    readme = tmp_path / "README.md"
    (tmp_path / "campaign.tsv").write_text((REPO / "results" / "campaign.tsv").read_text())
    parts = [f"{b}\nstale\n{e}" for b, e in map(results_status._markers, results_status.BLOCKS)]
    readme.write_text("\n".join(parts) + "\n")
    p = subprocess.run([sys.executable, str(REPO / "scripts" / "results_status.py"), "--check", "--readme", str(readme)],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 1 and p.stderr.strip() == (f"{readme}: out of date: stored runs, campaign status; run python "
                                                      "scripts/results_status.py --write")
