"""scripts/execute_book.py: the chapters executed on every core into Jupyter Book's cache, which the build reads."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import execute_book  # noqa: E402


def test_it_prepares_exactly_the_notebooks_the_build_executes():
    config = yaml.safe_load((REPO / "_config.yml").read_text())["execute"]
    found = execute_book.notebooks(REPO / "_toc.yml", config["exclude_patterns"])
    names = [p.relative_to(REPO).as_posix() for p in found]
    assert "book/01_welcome.ipynb" in names and "book/appendix_performance.ipynb" in names
    assert not [n for n in names if "/student/" in n]  # shown as released, not run
    assert len(names) == len(set(names)) == len(list((REPO / "book").glob("[0-9][0-9]_*.ipynb"))) + 1


@pytest.mark.slow
def test_a_prepared_notebook_is_a_cache_hit_and_a_failing_one_is_left_to_the_build(tmp_path):
    """A notebook that raises and one whose kernel dies are both reported and left to the build (exit 0)."""
    from jupyter_cache import get_cache

    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: good\n  - file: bad\n  - file: dead\n")
    (tmp_path / "_config.yml").write_text("execute:\n  execute_notebooks: cache\n  timeout: 60\n")
    good = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nprint(6 * 7, os.environ['S3REC_SITE_BUILD'])")])
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('no')")])
    dead = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nos._exit(1)")])
    for name, nb in (("good", good), ("bad", bad), ("dead", dead)):
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "execute_book.py"), "--root", str(tmp_path),
                           "--build", str(tmp_path / "_build"), "--jobs", "2"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bad.ipynb: FAILED" in proc.stdout and "dead.ipynb: FAILED" in proc.stdout and "2 failed" in proc.stdout
    cache = get_cache(str(tmp_path / "_build" / ".jupyter_cache"))
    # what myst-nb does on reading a chapter: match the notebook as read from disk, merge the cached outputs
    _, merged = cache.merge_match_into_notebook(nbformat.read(tmp_path / "good.ipynb", as_version=4))
    assert merged.cells[0].outputs[0]["text"] == "42 1\n"  # executed as the build would (S3REC_SITE_BUILD=1)
    for name in ("bad", "dead"):
        with pytest.raises(KeyError):
            cache.match_cache_notebook(nbformat.read(tmp_path / f"{name}.ipynb", as_version=4))


def test_full_mode_prepares_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("S3REC_MODE", "full")
    assert execute_book.main(["--build", str(tmp_path / "_build")]) == 0
    assert not (tmp_path / "_build").exists()
