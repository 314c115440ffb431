"""Course assignments on nbgrader: release student notebooks from the master copies, and grade submissions.

    python -m s3rec_lite assignments release OUT_DIR [--source DIR]
    python -m s3rec_lite assignments grade SUBMISSIONS_DIR --out scores.csv [--feedback DIR] [--source DIR] [--timeout S]
    python -m s3rec_lite assignments points [--source DIR]

The master copies (``book/assignments/a*.ipynb``) are nbgrader source notebooks (nbgrader's cell metadata,
``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS`` regions; the exercise answers are 0-point grade cells graded by
hand). nbgrader does the work: ``release`` runs ``nbgrader generate_assignment`` and ``grade`` runs ``nbgrader
generate_assignment``, ``autograde`` (test cells restored from the master, hidden tests included, deleted ones
added back) and ``generate_feedback`` in a throw-away course folder per submission. What nbgrader lacks is kept
here:

* the student pages of the book: a master's ``*Figure: ...*`` caption becomes a sentence about what the cell will
  draw (the released notebook has no outputs), and solution cells lose the ``hide-input`` tag the site uses;
* grading a plain folder of notebooks (one folder per student, or notebooks directly in it): the assignment is told
  from ``metadata.s3rec_assignment.id`` or the file name;
* one CSV row per test with the reason a test failed (its error), and a grading failure said in the CSV rather
  than a silent 0.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import S3RecError

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKDOWN_STUB = "YOUR ANSWER HERE"  # what nbgrader leaves in a markdown solution cell
CSV_FIELDS = ["student", "assignment", "test", "points", "max_points", "feedback", "seconds"]


def default_source() -> Path:
    """``book/assignments`` of the checkout this package was imported from."""
    return Path(__file__).resolve().parents[2] / "book" / "assignments"


def _nbformat():
    try:
        import nbformat
        import nbgrader  # noqa: F401  (releasing and grading run it)
    except ImportError as exc:
        raise S3RecError(f"the assignments commands need nbgrader: pip install nbgrader==0.9.6 ({exc})") from exc
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
# Running nbgrader
# ------------------------------------------------------------------------------------------------
def _course(root: Path, masters: list[Path]) -> Path:
    """An nbgrader course folder: ``source/<name>/<name>.ipynb`` for each master."""
    for path in masters:
        (root / "source" / path.stem).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, root / "source" / path.stem / path.name)
    return root


def _kernel_env() -> dict:
    """nbgrader's environment: its own scripts (it calls ``alembic``) on PATH, the kernel importing the same
    ``s3rec_lite`` as this process (installed or not), and the notebooks' fast mode."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    here = str(Path(__file__).resolve().parents[2])
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in paths if p != here])
    env.setdefault("S3REC_MODE", "fast")
    return env


def nbgrader(command: str, assignment: str, root: Path, *args: str, timeout: float | None = None):
    """``nbgrader <command> <assignment> --force`` in course folder ``root``. Returns (ok, log)."""
    cmd = [sys.executable, "-m", "nbgrader", command, assignment, "--force", f"--CourseDirectory.root={root}",
           "--log-level=WARN", *args]
    try:
        proc = subprocess.run(cmd, cwd=root, env=_kernel_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"nbgrader {command} ran past {timeout:g} s"
    log = (proc.stdout + proc.stderr).strip()
    return proc.returncode == 0 and "[ERROR]" not in log and "| ERROR]" not in log, log


def _last_error(log: str) -> str:
    """The line of nbgrader's log that says why it failed: the last exception line of a traceback (for example
    ``nbclient.exceptions.DeadKernelError: Kernel died``), else its last error line."""
    lines = [l.strip() for l in log.splitlines() if l.strip()]
    raised = [l for l in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b.*:", l)]
    errors = [l for l in lines if "ERROR" in l]
    return ((raised or errors or lines or ["no output"])[-1])[:300]


# ------------------------------------------------------------------------------------------------
# Release
# ------------------------------------------------------------------------------------------------
# A master's caption of the figure its previous code cell draws: ``*Figure: what it shows.*``. The student
# notebook has no outputs (and is shown on the site as released, not run), so the release words it as what the
# cell will draw, not as the caption of a figure that is not there.
FIGURE_CAPTION = re.compile(r"\A\*Figure:\s+(.*)\*\s*\Z", re.DOTALL)
FIGURE_CAPTION_STUDENT = "*Once your functions work, the code cell above draws a figure: {}*"


def release_caption(text: str) -> str:
    """``*Figure: x*`` becomes ``*Once your functions work, the code cell above draws a figure: x*``."""
    m = FIGURE_CAPTION.match(text)
    return FIGURE_CAPTION_STUDENT.format(m.group(1)) if m else text


def student_page(nb):
    """What the book adds to nbgrader's release (a new object): figure captions worded for a notebook without
    outputs, no ``hide-input`` tag on the cells the student writes, and ``released`` in the notebook's metadata."""
    nb = copy.deepcopy(nb)
    previous = None
    for cell in nb.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
            tags = [t for t in cell.metadata.get("tags", []) if t not in ("hide-input", "hide-cell")]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
        elif cell.cell_type == "markdown" and previous == "code":
            cell.source = release_caption(_source(cell))
        previous = cell.cell_type
        for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            if marker in _source(cell):
                raise S3RecError(f"a cell still holds {marker!r} after release (is the marker on its own line?)")
    nb.metadata.setdefault("s3rec_assignment", {})["released"] = True
    return nb


def release(out_dir, source=None) -> list[Path]:
    """``nbgrader generate_assignment`` on every master notebook, then the book's student page of each, written
    into ``out_dir``."""
    nbformat = _nbformat()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    masters = master_paths(source)
    written = []
    with tempfile.TemporaryDirectory(prefix="s3rec-release-") as tmp:
        root = _course(Path(tmp), masters)
        for path in masters:
            ok, log = nbgrader("generate_assignment", path.stem, root)
            made = root / "release" / path.stem / path.name
            if not ok or not made.exists():
                raise S3RecError(f"nbgrader generate_assignment rejected {path}: {_last_error(log)}")
            nb = student_page(nbformat.read(made, as_version=4))
            dest = out / path.name
            nbformat.write(nb, dest)
            written.append(dest)
    return written


# ------------------------------------------------------------------------------------------------
# Points
# ------------------------------------------------------------------------------------------------
def points_table(source=None) -> list[dict]:
    """One row per graded cell with points of every master notebook: assignment, grade_id, points, auto/by hand.
    The exercises' answer cells (0 points, nbgrader grade cells so that nbgrader strips their model answer) are
    not listed."""
    nbformat = _nbformat()
    rows = []
    for path in master_paths(source):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = _nbgrader(cell)
            if meta.get("grade") and meta.get("points", 0):
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


def _student_id(name: str) -> str:
    """nbgrader's student id: the folder (or file) name, with anything but letters, digits, ``-`` and ``_``
    replaced."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "student"


def _scores(root: Path, assignment: str, student: str) -> list:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        try:
            sub = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            return []
        return [(g.name, g.score, g.max_score) for g in sub.grades]


def grade_notebook(path, masters: dict[str, Path], student: str, timeout: int = 300,
                   feedback: str | os.PathLike | None = None) -> tuple[list[dict], object | None]:
    """Grade one submitted notebook with nbgrader. Returns (CSV rows, the autograded notebook or None)."""
    nbformat = _nbformat()
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    assignment = _identify(nb, path, masters)
    master = nbformat.read(masters[assignment], as_version=4)
    sid = _student_id(student)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="s3rec-grade-") as tmp:
        root = _course(Path(tmp), [masters[assignment]])
        dest = root / "submitted" / sid / assignment / f"{assignment}.ipynb"
        dest.parent.mkdir(parents=True)
        shutil.copyfile(path, dest)
        ok, log = nbgrader("generate_assignment", assignment, root)
        if ok:
            ok, log = nbgrader("autograde", assignment, root, f"--student={sid}", "--create",
                               f"--Execute.timeout={timeout}", "--Execute.interrupt_on_timeout=True",
                               "--OverwriteCells.add_missing_cells=True")
        graded_path = root / "autograded" / sid / assignment / f"{assignment}.ipynb"
        graded = nbformat.read(graded_path, as_version=4) if graded_path.exists() else None
        scores = _scores(root, assignment, sid) if graded is not None else []
        if graded is not None and feedback:
            fb_ok, fb_log = nbgrader("generate_feedback", assignment, root, f"--student={sid}")
            made = root / "feedback" / sid / assignment / f"{assignment}.html"
            if fb_ok and made.exists():
                out = Path(feedback) / student / f"{assignment}.html"
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(made, out)
    seconds = round(time.perf_counter() - t0, 1)
    points = {_nbgrader(c).get("grade_id"): float(_nbgrader(c).get("points", 0))
              for c in master.cells if _nbgrader(c).get("grade")}
    by_hand_ids = {_nbgrader(c).get("grade_id") for c in master.cells if _nbgrader(c).get("solution")}
    if not scores:  # nbgrader could not grade it: every test at 0, with nbgrader's reason
        why = f"grading failed: {_last_error(log)}"
        rows = [dict(test=gid, points=0.0, max_points=pts, feedback=why) for gid, pts in points.items() if pts]
        rows.append(dict(test="TOTAL (automatic)", points=0.0, max_points=sum(
            pts for gid, pts in points.items() if gid not in by_hand_ids), feedback=f"{path.name}: {why}"))
    else:
        cells = {_nbgrader(c).get("grade_id"): c for c in graded.cells if _nbgrader(c).get("grade")}
        rows, total, possible, by_hand = [], 0.0, 0.0, 0.0
        for gid, score, max_score in scores:
            if not max_score:
                continue  # an exercise's answer (0 points)
            if gid in by_hand_ids:
                by_hand += max_score
                rows.append(dict(test=gid, points="", max_points=max_score, feedback="graded by hand"))
                continue
            possible += max_score
            cell = cells.get(gid)
            error = _error_of(cell) if cell is not None else "test cell missing from the graded notebook"
            if error is None and cell.get("execution_count") is None:
                error = "not run (the kernel did not reach this cell)"
            if cell is not None and "was missing from the submission" in _source(cell).split("\n", 1)[0]:
                error = f"the test cell was missing from the submission; nbgrader added it back ({error or 'passed'})"
            got = float(score or 0.0)
            total += got
            rows.append(dict(test=gid, points=got, max_points=max_score,
                             feedback=error or ("passed" if got == max_score else "failed")))
        note = f"; {by_hand:g} more points graded by hand" if by_hand else ""
        rows.append(dict(test="TOTAL (automatic)", points=total, max_points=possible, feedback=f"{path.name}{note}"))
    for r in rows:
        r.update(student=student, assignment=assignment, seconds=seconds)
    return rows, graded


def grade(submissions, out_csv, source=None, timeout: int = 300, keep_executed: str | None = None,
          jobs: int = 1, feedback: str | None = None) -> list[dict]:
    """Grade every ``*.ipynb`` under ``submissions`` (a folder per student, or notebooks directly in it) with
    nbgrader and write one CSV row per test, plus a total per notebook. ``jobs`` notebooks are graded at a time
    (each in its own course folder and kernel). ``feedback``: a folder for nbgrader's HTML feedback, one per
    student and assignment. Returns the rows."""
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
        return rel, *grade_notebook(path, masters, student, timeout, feedback)

    if jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(jobs) as pool:
            graded = list(pool.map(one, paths))
    else:
        graded = [one(p) for p in paths]
    rows = []
    for rel, nb_rows, executed in graded:
        rows.extend(nb_rows)
        if keep_executed and executed is not None:
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
    p = sub.add_parser("release", help="write the student notebooks (nbgrader generate_assignment: solutions stubbed, hidden tests removed)")
    p.add_argument("out_dir")
    p.add_argument("--source", default=None, help="folder of master notebooks (default: book/assignments)")
    p = sub.add_parser("grade", help="grade submitted notebooks with nbgrader autograde and write a CSV of scores")
    p.add_argument("submissions")
    p.add_argument("--out", default="scores.csv")
    p.add_argument("--source", default=None)
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    p.add_argument("--keep-executed", default=None, metavar="DIR", help="also save the executed notebooks here")
    p.add_argument("--jobs", type=int, default=1, help="notebooks graded at the same time (one kernel each)")
    p.add_argument("--feedback", default=None, metavar="DIR",
                   help="also write nbgrader's HTML feedback here (DIR/<student>/<assignment>.html)")
    p = sub.add_parser("points", help="print the points table (markdown)")
    p.add_argument("--source", default=None)
    args = parser.parse_args(argv)
    if args.action == "release":
        for path in release(args.out_dir, args.source):
            print(path)
    elif args.action == "grade":
        rows = grade(args.submissions, args.out, args.source, args.timeout, args.keep_executed, args.jobs, args.feedback)
        for r in rows:
            if r["test"].startswith("TOTAL"):
                print(f"{r['student']}\t{r['assignment']}\t{r['points']:g} / {r['max_points']:g}")
        print(f"wrote {args.out}")
    else:
        print(points_markdown(args.source))
    return 0
