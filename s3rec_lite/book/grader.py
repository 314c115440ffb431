"""Course assignments: release student notebooks from the master copies, and grade submissions.

    python -m s3rec_lite assignments release OUT_DIR [--source DIR]
    python -m s3rec_lite assignments grade SUBMISSIONS_DIR --out scores.csv [--source DIR] [--timeout S]
    python -m s3rec_lite assignments points [--source DIR]

Master copies (``book/assignments/a*.ipynb``) follow nbgrader's conventions:

* code cells with ``metadata.nbgrader.solution = true`` hold the solution between ``### BEGIN SOLUTION``
  and ``### END SOLUTION``; the release replaces each such region by ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` (at the marker's indentation). A markdown solution cell becomes
  ``YOUR ANSWER HERE``.
* test cells (``metadata.nbgrader.grade = true``, a ``grade_id`` and ``points``) may hold hidden tests
  between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``; the release removes them.
* ``metadata.s3rec_assignment`` of the notebook: ``{"id", "title", "points": {grade_id: points}}``.

Grading restores every test cell of a submission from the master copy (matched by ``grade_id``, so the
hidden tests come back and edited tests are undone), runs the notebook with nbclient (errors allowed),
and gives a test cell its points when it runs without an error. Cells that are graded by hand
(``solution`` and ``grade`` both true) are listed with ``points = ""`` for the teacher to fill in.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from ..errors import S3RecError

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
MARKDOWN_STUB = "YOUR ANSWER HERE"
CSV_FIELDS = ["student", "assignment", "test", "points", "max_points", "feedback", "seconds"]


def default_source() -> Path:
    """``book/assignments`` of the checkout this package was imported from."""
    return Path(__file__).resolve().parents[2] / "book" / "assignments"


def _nbformat():
    try:
        import nbclient  # noqa: F401  (grading runs notebooks with it)
        import nbformat
    except ImportError as exc:
        raise S3RecError(f"the assignments commands need nbformat and nbclient: pip install nbformat nbclient ({exc})") from exc
    return nbformat


def master_paths(source: str | os.PathLike | None = None) -> list[Path]:
    src = Path(source) if source else default_source()
    paths = sorted(src.glob("a*.ipynb"))
    if not paths:
        raise S3RecError(f"no master notebooks (a*.ipynb) in {src}; pass --source DIR")
    return paths


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


# ------------------------------------------------------------------------------------------------
# Release
# ------------------------------------------------------------------------------------------------
def strip_region(text: str, begin: str, end: str, replacement: list[str] | None) -> str:
    """Replace (or, with ``replacement=None``, delete) every ``begin``...``end`` region, markers included.
    The replacement lines take the indentation of the ``begin`` marker."""
    out, inside, lines = [], False, text.split("\n")
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise S3RecError(f"nested {begin!r} at line {n}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if replacement is not None:
                out.extend(indent + r for r in replacement)
        elif stripped == end:
            if not inside:
                raise S3RecError(f"{end!r} without {begin!r} at line {n}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise S3RecError(f"{begin!r} without {end!r}")
    return "\n".join(out).rstrip("\n")


# A master's caption of the figure its previous code cell draws: ``*Figure: what it shows.*``. The student
# notebook has no outputs (and is shown on the site as released, not run), so the release words it as what the
# cell will draw, not as the caption of a figure that is not there.
FIGURE_CAPTION = re.compile(r"\A\*Figure:\s+(.*)\*\s*\Z", re.DOTALL)
FIGURE_CAPTION_STUDENT = "*Once your functions work, the code cell above draws a figure: {}*"


def release_caption(text: str) -> str:
    """``*Figure: x*`` becomes ``*Once your functions work, the code cell above draws a figure: x*``."""
    m = FIGURE_CAPTION.match(text)
    return FIGURE_CAPTION_STUDENT.format(m.group(1)) if m else text


def release_notebook(nb):
    """The student version of a master notebook (a new object)."""
    nb = copy.deepcopy(nb)
    previous = None
    for cell in nb.cells:
        meta = _nbgrader(cell)
        text = _source(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if meta.get("solution"):
                if BEGIN_SOLUTION in text:
                    text = strip_region(text, BEGIN_SOLUTION, END_SOLUTION, CODE_STUB)
                else:
                    text = "\n".join(CODE_STUB)
                tags = [t for t in cell.metadata.get("tags", []) if t not in ("hide-input", "hide-cell")]
                if tags:
                    cell.metadata["tags"] = tags
                else:
                    cell.metadata.pop("tags", None)
            if BEGIN_HIDDEN in text:
                text = strip_region(text, BEGIN_HIDDEN, END_HIDDEN, None)
        elif cell.cell_type == "markdown" and meta.get("solution"):
            text = MARKDOWN_STUB
        elif cell.cell_type == "markdown" and previous == "code":
            text = release_caption(text)
        previous = cell.cell_type
        cell.source = text
        for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            if marker in cell.source:
                raise S3RecError(f"a cell still holds {marker!r} after release (is the marker on its own line?)")
    nb.metadata.get("s3rec_assignment", {})["released"] = True
    return nb


def release(out_dir, source=None) -> list[Path]:
    """Write the student version of every master notebook into ``out_dir``."""
    nbformat = _nbformat()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in master_paths(source):
        nb = release_notebook(nbformat.read(path, as_version=4))
        dest = out / path.name
        nbformat.write(nb, dest)
        written.append(dest)
    return written


# ------------------------------------------------------------------------------------------------
# Points
# ------------------------------------------------------------------------------------------------
def points_table(source=None) -> list[dict]:
    """One row per graded cell of every master notebook: assignment, grade_id, points, auto/manual."""
    nbformat = _nbformat()
    rows = []
    for path in master_paths(source):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = _nbgrader(cell)
            if meta.get("grade"):
                rows.append({"assignment": path.stem, "test": meta["grade_id"], "points": meta.get("points", 0),
                             "graded": "by hand" if meta.get("solution") else "automatically"})
    return rows


def points_markdown(source=None) -> str:
    rows = points_table(source)
    lines = ["| assignment | test (grade_id) | points | graded |", "|---|---|---|---|"]
    lines += [f"| {r['assignment']} | `{r['test']}` | {r['points']} | {r['graded']} |" for r in rows]
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["assignment"]] = totals.get(r["assignment"], 0) + r["points"]
    lines += [f"| **{a}** | **total** | **{t:g}** | |" for a, t in totals.items()]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Grading
# ------------------------------------------------------------------------------------------------
def _error_of(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = re.sub(r"\x1b\[[0-9;]*m", "", str(out.get("evalue", "")))
            return f"{out.get('ename')}: {value}"[:500]
    return None


def _identify(nb, path: Path, masters: dict[str, Path]) -> str:
    ident = nb.metadata.get("s3rec_assignment", {}).get("id")
    if ident in masters:
        return ident
    for name in masters:  # fall back on the file name: a1_attention.ipynb, alice_a1_attention.ipynb, ...
        if name in path.stem:
            return name
    raise S3RecError(f"{path}: cannot tell which assignment this is (no metadata.s3rec_assignment.id and no "
                     f"assignment name in the file name; known: {', '.join(masters)})")


def prepare_submission(nb, master):
    """The submission with every test cell's source restored from the master copy (hidden tests
    included), and a list of the master's graded cells missing from it. Test cells are matched by their
    nbgrader ``grade_id``, or, in a cell that lost its metadata (some editors drop it), by the cell id."""
    nb = copy.deepcopy(nb)
    tests = {(_nbgrader(c).get("grade_id")): c for c in master.cells
             if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")}
    by_cell_id = {c.get("id"): gid for gid, c in tests.items() if c.get("id")}
    seen = set()
    for cell in nb.cells:
        gid = _nbgrader(cell).get("grade_id")
        if gid is None and not _nbgrader(cell):
            gid = by_cell_id.get(cell.get("id"))
        if gid in tests and gid not in seen:
            cell.source = _source(tests[gid])
            cell.cell_type = "code"
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
            cell.metadata["nbgrader"] = copy.deepcopy(tests[gid].metadata["nbgrader"])
            seen.add(gid)
    return nb, [gid for gid in tests if gid not in seen]


def execute(nb, timeout: int = 300, cwd: str | None = None):
    """Run a notebook with nbclient, errors allowed (every cell runs), in fast mode."""
    from nbclient import NotebookClient

    os.environ.setdefault("S3REC_MODE", "fast")
    # the kernel imports the same s3rec_lite as the grader, installed or not
    here = str(Path(__file__).resolve().parents[2])
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if here not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([here] + [p for p in paths if p])
    with tempfile.TemporaryDirectory(prefix="s3rec-grade-") as tmp:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                interrupt_on_timeout=True,  # a cell over time fails; the next ones still run
                                resources={"metadata": {"path": cwd or tmp}})
        client.execute()
    return nb


def grade_notebook(path, masters: dict[str, Path], student: str, timeout: int = 300) -> tuple[list[dict], object]:
    """Grade one submitted notebook. Returns (CSV rows, the executed notebook)."""
    nbformat = _nbformat()
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    assignment = _identify(nb, path, masters)
    master = nbformat.read(masters[assignment], as_version=4)
    nb, missing = prepare_submission(nb, master)
    t0 = time.perf_counter()
    stopped = None
    try:
        execute(nb, timeout)
    except Exception as exc:  # a dead kernel or the like: the cells that did not run score 0, with the reason
        stopped = f"the notebook stopped: {type(exc).__name__}: {exc}"[:300]
    seconds = round(time.perf_counter() - t0, 1)
    rows, total, possible, by_hand = [], 0.0, 0.0, 0.0
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if not meta.get("grade"):
            continue
        pts = float(meta.get("points", 0))
        if meta.get("solution"):
            by_hand += pts
            rows.append(dict(test=meta["grade_id"], points="", max_points=pts, feedback="graded by hand"))
            continue
        possible += pts
        error = _error_of(cell)
        if error is None and cell.get("execution_count") is None:
            error = f"not run ({stopped or 'the kernel did not reach this cell'})"
        got = 0.0 if error else pts
        total += got
        rows.append(dict(test=meta["grade_id"], points=got, max_points=pts, feedback=error or "passed"))
    for gid in missing:
        pts = float(next(_nbgrader(c).get("points", 0) for c in master.cells if _nbgrader(c).get("grade_id") == gid))
        possible += pts
        rows.append(dict(test=gid, points=0.0, max_points=pts, feedback="test cell missing from the submission"))
    note = f"; {by_hand:g} more points graded by hand" if by_hand else ""
    rows.append(dict(test="TOTAL (automatic)", points=total, max_points=possible, feedback=f"{path.name}{note}"))
    for r in rows:
        r.update(student=student, assignment=assignment, seconds=seconds)
    return rows, nb


def grade(submissions, out_csv, source=None, timeout: int = 300, keep_executed: str | None = None,
          jobs: int = 1) -> list[dict]:
    """Grade every ``*.ipynb`` under ``submissions`` (a folder per student, or notebooks directly in it)
    and write one CSV row per test, plus a total per notebook. ``jobs`` notebooks run at a time (each in
    its own kernel). Returns the rows."""
    nbformat = _nbformat()
    masters = {p.stem: p for p in master_paths(source)}
    root = Path(submissions)
    paths = sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not paths:
        raise S3RecError(f"no notebooks under {root}")
    def one(path):
        rel = path.relative_to(root)
        student = str(rel.parent) if rel.parent != Path(".") else path.stem
        print(f"grading {rel} ...", file=sys.stderr, flush=True)
        return rel, *grade_notebook(path, masters, student, timeout)

    if jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(jobs) as pool:
            graded = list(pool.map(one, paths))
    else:
        graded = [one(p) for p in paths]
    rows = []
    for rel, nb_rows, executed in graded:
        rows.extend(nb_rows)
        if keep_executed:
            dest = Path(keep_executed) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(executed, dest)
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m s3rec_lite assignments",
                                     description="Release student notebooks and grade submissions.")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("release", help="write the student notebooks (solutions stubbed, hidden tests removed)")
    p.add_argument("out_dir")
    p.add_argument("--source", default=None, help="folder of master notebooks (default: book/assignments)")
    p = sub.add_parser("grade", help="run submitted notebooks and write a CSV of scores")
    p.add_argument("submissions")
    p.add_argument("--out", default="scores.csv")
    p.add_argument("--source", default=None)
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    p.add_argument("--keep-executed", default=None, metavar="DIR", help="also save the executed notebooks here")
    p.add_argument("--jobs", type=int, default=1, help="notebooks run at the same time (one kernel each)")
    p = sub.add_parser("points", help="print the points table (markdown)")
    p.add_argument("--source", default=None)
    args = parser.parse_args(argv)
    if args.action == "release":
        for path in release(args.out_dir, args.source):
            print(path)
    elif args.action == "grade":
        rows = grade(args.submissions, args.out, args.source, args.timeout, args.keep_executed, args.jobs)
        for r in rows:
            if r["test"].startswith("TOTAL"):
                print(f"{r['student']}\t{r['assignment']}\t{r['points']:g} / {r['max_points']:g}")
        print(f"wrote {args.out}")
    else:
        print(points_markdown(args.source))
    return 0
