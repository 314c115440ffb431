"""Course assignments: the checks catch wrong implementations, nbgrader releases the masters (solutions and hidden
tests stripped), the master notebooks run under nbval, and nbgrader grades full marks to the masters and zero to the
stubs.

The notebook-running tests start Jupyter kernels (about 1-2 minutes in all on a 2-core CPU); they run with
OMP_NUM_THREADS=1: the models are tiny, and extra threads only fight other processes for the cores.
"""
import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from s3rec_lite import metrics, model, objectives
from s3rec_lite.book import checks
from s3rec_lite.book import grader as assignments

REPO = Path(__file__).resolve().parent.parent
MASTERS = REPO / "book" / "assignments"
NAMES = ["a1_attention", "a2_evaluation", "a3_mip_map", "a4_segment_prediction", "a5_open_project"]


def _kernel_env(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("S3REC_MODE", "fast")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


# ------------------------------------------------------------------------------------------------
# The checks pass the package's own functions and catch one wrong implementation per assignment
# ------------------------------------------------------------------------------------------------
def _passed(result) -> None:
    """A check returns a CheckResult only when every case agreed (it raises otherwise): it must have run some."""
    assert isinstance(result, checks.CheckResult) and result.cases > 0, result


def test_checks_accept_the_reference(capsys):
    _passed(checks.check_attention_mask(model.attention_mask))
    _passed(checks.check_attention(lambda q, k, v, m: model.scaled_dot_product_attention(q, k, v, m)))
    _passed(checks.check_rank(metrics.rank_of_first))
    _passed(checks.check_metrics(metrics.metrics_from_ranks))
    _passed(checks.check_mip_loss(objectives.mip_loss))
    _passed(checks.check_map_loss(objectives.map_loss))
    _passed(checks.check_sp_loss(objectives.sp_loss))
    _passed(checks.check_segment_views(checks.reference_segment_views))
    _passed(checks.check_objective("mip"))
    out = capsys.readouterr().out
    assert out.count("PASSED") == 9


def test_a1_attention_without_causal_mask_is_caught():
    def no_causal(ids, causal):
        return model.attention_mask(ids, causal=False)

    with pytest.raises(checks.CheckFailed, match=r"future \(j > i\)"):
        checks.check_attention_mask(no_causal)

    def unscaled(q, k, v, mask):  # forgets the 1/sqrt(d_k) of Eq. 6
        return torch.softmax(q @ k.transpose(-1, -2) + mask, -1) @ v

    with pytest.raises(checks.CheckFailed, match="differs from the reference"):
        checks.check_attention(unscaled)

    def minus_inf(q, k, v, mask):  # NaN on rows that see no key
        s = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).masked_fill(mask < 0, float("-inf"))
        return torch.softmax(s, -1) @ v

    with pytest.raises(checks.CheckFailed, match="sees no key at all"):
        checks.check_attention(minus_inf)


def test_a2_wrong_log_base_and_optimistic_ties_are_caught():
    def ln_ndcg(ranks):
        out = metrics.metrics_from_ranks(ranks)
        r = np.asarray(ranks, dtype=float)
        for k in (5, 10):
            out[f"NDCG@{k}"] = float(np.mean(np.where(r < k, 1 / np.log(r + 2), 0.0)))
        return out

    with pytest.raises(checks.CheckFailed, match=r"NDCG@5 expected 1\.000000, got 1\.442695.*log2"):
        checks.check_metrics(ln_ndcg)
    with pytest.raises(checks.CheckFailed, match="ties count against the model"):
        checks.check_rank(lambda s: (s[:, 1:] > s[:, :1]).sum(1))

    def with_history(history, n_items, k, rng):  # forgets to exclude the user's items
        return rng.choice(np.arange(1, n_items + 1), k, replace=False)

    with pytest.raises(checks.CheckFailed, match="in the user's history"):
        checks.check_negatives(with_history)


def test_a3_wrong_mip_map_and_masking_are_caught():
    with pytest.raises(checks.CheckFailed, match="averaged instead of summed"):
        checks.check_mip_loss(lambda x, W, b, p, n: objectives.mip_loss(x, W, b, p, n) / max(1, len(x)))

    def raw_scores(x, W, b, pos, neg):  # no sigmoid inside f
        q = F.linear(x, W, b)
        return F.softplus((q * neg).sum(-1) - (q * pos).sum(-1)).sum()

    with pytest.raises(checks.CheckFailed, match="the loss is"):
        checks.check_mip_loss(raw_scores)
    with pytest.raises(checks.CheckFailed, match="the loss is"):
        checks.check_map_loss(lambda x, W, b, t, y: F.binary_cross_entropy_with_logits(F.linear(x, W, b) @ t.T, y))

    def last_not_forced(items, p, mask_id, gen):
        masked = (torch.rand(items.shape, generator=gen) < p) & (items > 0)
        return torch.where(masked, torch.full_like(items, mask_id), items), masked

    with pytest.raises(checks.CheckFailed, match="newest item"):
        checks.check_masking(last_not_forced)


def test_a4_wrong_segment_length_and_views_are_caught():
    def whole_length(lengths, gen):  # segment length up to n instead of n/2
        seg = 1 + (torch.rand(lengths.shape, generator=gen) * lengths).long()
        start = (torch.rand(lengths.shape, generator=gen) * (lengths - seg + 1)).long()
        return start, seg

    with pytest.raises(checks.CheckFailed, match=r"must lie in 1\.\."):
        checks.check_segment_sampling(whole_length)

    def no_mask_outside(items, lengths, start, seg_len, neg, mask_id):
        ctx, pos, negv = checks.reference_segment_views(items, lengths, start, seg_len, neg, mask_id)
        return ctx, torch.where(pos == mask_id, items, pos), negv

    with pytest.raises(checks.CheckFailed, match="the positive view"):
        checks.check_segment_views(no_mask_outside)


def test_a5_objective_without_gradient_is_caught():
    @objectives.register_objective("_test_constant")
    def constant(ctx):
        return ctx.attribute_matrix[ctx.batch.items].mean()

    try:
        with pytest.raises(checks.CheckFailed, match="carries no gradient"):
            checks.check_objective("_test_constant")
        with pytest.raises(checks.CheckFailed, match="no objective is registered"):
            checks.check_objective("_test_missing")
    finally:
        objectives.OBJECTIVES.pop("_test_constant", None)


def test_stub_gives_a_helpful_not_implemented_error():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError, match="still raises NotImplementedError.*YOUR CODE HERE"):
        checks.check_rank(stub)


# ------------------------------------------------------------------------------------------------
# Release and points
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The five student notebooks, released by nbgrader through the command line (about 30 s)."""
    from s3rec_lite.cli import main

    out = tmp_path_factory.mktemp("released")
    assert main(["assignments", "release", str(out)]) == 0
    return out


def test_release_strips_solutions_hidden_tests_and_outputs(released):
    written = sorted(released.glob("*.ipynb"))
    assert sorted(p.stem for p in written) == NAMES
    for path in written:
        master = nbformat.read(MASTERS / path.name, as_version=4)
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, (path.name, marker)
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
        assert len(nb.cells) == len(master.cells)
        for m, c in zip(master.cells, nb.cells):
            meta = m.metadata.get("nbgrader", {})
            if meta.get("solution") and m.cell_type == "code":
                assert "raise NotImplementedError()" in c.source and "# YOUR CODE HERE" in c.source
                assert "hide-input" not in c.metadata.get("tags", [])  # the student's own code shows on the page
            elif meta.get("solution"):
                assert c.source == assignments.MARKDOWN_STUB
            elif meta.get("grade"):
                assert c.source.strip() in m.source  # the visible part of each test is kept
            if meta:  # nbgrader's checksums: what autograde uses to tell an edited cell
                assert c.metadata["nbgrader"]["grade_id"] == meta["grade_id"] and "checksum" in c.metadata["nbgrader"]
        assert nb.metadata["s3rec_assignment"]["released"] is True
        # the setup cell is the first code cell, verbatim
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert first.source.startswith("# Setup: in Colab, install the package")


def test_site_serves_the_committed_release_not_the_masters(released):
    """The site (and its Colab button) shows book/assignments/student/: nbgrader's release of the masters, byte for
    byte, and the table of contents lists no master notebook."""
    import yaml

    student = MASTERS / "student"
    stale = [n for n in NAMES if not (student / f"{n}.ipynb").exists()
             or (student / f"{n}.ipynb").read_bytes() != (released / f"{n}.ipynb").read_bytes()]
    assert not stale, (f"book/assignments/student/ differs from a release of the masters for {stale}: run "
                       "`python -m s3rec_lite assignments release book/assignments/student` and commit it")
    assert sorted(p.stem for p in student.glob("*.ipynb")) == NAMES
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert [f for f in files if f.startswith("book/assignments/a")] == [], "a master notebook is in the toc"
    assert [f"book/assignments/student/{n}" for n in NAMES] == [f for f in files if "/student/" in f]


def test_release_rewords_figure_captions_the_student_page_cannot_show():
    """The student notebooks are shown unexecuted: a master's ``*Figure: ...*`` caption after a code cell becomes a
    sentence about what that cell will draw (no caption without its figure); other markdown is kept."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("plt.plot(x)"),
        nbformat.v4.new_markdown_cell("*Figure: the loss per epoch,\nover two lines.*"),
        nbformat.v4.new_markdown_cell("*Figure: not after a code cell.*"),
        nbformat.v4.new_code_cell("y = 1"),
        nbformat.v4.new_markdown_cell("Some *Figure: text* in a paragraph."),
    ])
    out = [c.source for c in assignments.student_page(nb).cells]
    assert out[1] == "*Once your functions work, the code cell above draws a figure: the loss per epoch,\nover two lines.*"
    assert out[2] == "*Figure: not after a code cell.*"
    assert out[4] == "Some *Figure: text* in a paragraph."
    for path in sorted((MASTERS / "student").glob("*.ipynb")):
        sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
        assert not [s for s in sources if s.startswith("*Figure:")], path.name


def test_release_says_which_master_nbgrader_rejects(tmp_path):
    """A master that breaks nbgrader's rules (here a hidden test outside a grade cell) is one clear error naming
    the file and nbgrader's reason."""
    nb = nbformat.read(MASTERS / "a2_evaluation.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS"))
    src = tmp_path / "masters"
    src.mkdir()
    nbformat.write(nb, src / "a2_evaluation.ipynb")
    with pytest.raises(assignments.S3RecError, match=r"a2_evaluation.ipynb.*[Hh]idden test region"):
        assignments.release(tmp_path / "out", source=src)


def test_points_table_matches_notebook_metadata_and_teachers_guide():
    rows = assignments.points_table()
    guide = (MASTERS / "teachers_guide.md").read_text()
    for name in NAMES:
        nb = nbformat.read(MASTERS / f"{name}.ipynb", as_version=4)
        meta = nb.metadata["s3rec_assignment"]
        mine = {r["test"]: r["points"] for r in rows if r["assignment"] == name}
        assert mine == meta["points"]
        assert sum(mine.values()) == meta["total_points"]
        for row in (r for r in rows if r["assignment"] == name):
            assert f"| {name} | `{row['test']}` | {row['points']} | {row['graded']} |" in guide


# ------------------------------------------------------------------------------------------------
# Running the notebooks
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_master_notebooks_run_under_nbval(monkeypatch):
    _kernel_env(monkeypatch)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--rootdir", str(MASTERS),
         *[str(MASTERS / f"{n}.ipynb") for n in NAMES]],
        cwd=MASTERS, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.slow
def test_grader_full_marks_for_masters_zero_for_stubs(tmp_path, monkeypatch, released):
    """nbgrader grades a solved (the master) and an unsolved (the release) copy of each assignment, a student with a
    wrong function who also edited, deleted and stripped the metadata of test cells, and a submission that kills its
    kernel; the CSV says each test's points and why it failed."""
    _kernel_env(monkeypatch)
    subs = tmp_path / "submissions"
    (subs / "stub_student").mkdir(parents=True)
    (subs / "teacher").mkdir()
    for name in NAMES:
        (subs / "stub_student" / f"{name}.ipynb").write_bytes((released / f"{name}.ipynb").read_bytes())
        (subs / "teacher" / f"{name}.ipynb").write_bytes((MASTERS / f"{name}.ipynb").read_bytes())
    # the natural logarithm in NDCG; a test cell edited to `pass`, one that lost its metadata, one deleted
    nb = nbformat.read(released / "a2_evaluation.ipynb", as_version=4)
    master = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in
              nbformat.read(MASTERS / "a2_evaluation.ipynb", as_version=4).cells}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid and gid.endswith("_solution"):
            cell.source = master[gid].source  # solved ...
        if gid == "a2_metrics_solution":
            cell.source = cell.source.replace("torch.log2(r + 2)", "torch.log(r + 2)")  # ... with one mistake
        if gid == "a2_rank":
            cell.source = "pass"
        if gid == "a2_negatives":
            del cell.metadata["nbgrader"]
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "a2_pipeline"]
    (subs / "ln_student").mkdir()
    nbformat.write(nb, subs / "ln_student" / "a2_evaluation.ipynb")
    # a submission that kills its kernel: nbgrader cannot grade it, and the CSV says so
    nb = nbformat.read(MASTERS / "a1_attention.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "a1_attention_solution":
            cell.source = "import os\nos._exit(1)"
    (subs / "crash_student").mkdir()
    nbformat.write(nb, subs / "crash_student" / "a1_attention.ipynb")
    out, executed, feedback = tmp_path / "scores.csv", tmp_path / "executed", tmp_path / "feedback"
    rc = assignments.main(["grade", str(subs), "--out", str(out), "--keep-executed", str(executed),
                           "--feedback", str(feedback), "--jobs", "2"])
    assert rc == 0
    rows = list(csv.DictReader(out.open()))
    totals = {(r["student"], r["assignment"]): r for r in rows if r["test"].startswith("TOTAL")}
    assert len(totals) == 12
    crash = {r["test"]: r for r in rows if r["student"] == "crash_student"}
    assert all(float(r["points"]) == 0.0 and "grading failed" in r["feedback"] and "DeadKernelError" in r["feedback"]
               for r in crash.values()), crash
    for name in NAMES:
        t = totals[("teacher", name)]
        assert float(t["points"]) == float(t["max_points"]) > 0, [r for r in rows if r["student"] == "teacher"]
        assert float(totals[("stub_student", name)]["points"]) == 0.0
        assert float(totals[("stub_student", name)]["max_points"]) == float(t["max_points"])
        assert (feedback / "teacher" / f"{name}.html").exists()
    ln = {r["test"]: r for r in rows if r["student"] == "ln_student"}
    assert float(ln["a2_rank"]["points"]) == 3.0  # nbgrader restored the edited test cell from the master
    assert float(ln["a2_negatives"]["points"]) == 2.0  # and added back the one without metadata
    assert float(ln["a2_metrics"]["points"]) == 0.0 and "log2" in ln["a2_metrics"]["feedback"]
    assert "missing from the submission" in ln["a2_pipeline"]["feedback"]
    manual = [r for r in rows if r["feedback"] == "graded by hand"]
    assert {r["test"] for r in manual} == {"a5_design", "a5_report"}
    # the released notebooks fail only with NotImplementedError, and the checks say what to do
    for name in NAMES:
        nb = nbformat.read(executed / "stub_student" / f"{name}.ipynb", as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert errors, name
        assert {e.ename for e in errors} == {"NotImplementedError"}, (name, [(e.ename, e.evalue) for e in errors])
        assert any("YOUR CODE HERE" in e.evalue for e in errors), name


def test_cli_delegates_points_and_says_what_is_wrong(tmp_path, capsys):
    from s3rec_lite.cli import main

    assert main(["assignments", "points"]) == 0
    assert "| a5_open_project | `a5_report` | 4 | by hand |" in capsys.readouterr().out
    assert main(["assignments", "grade", str(tmp_path / "empty")]) == 2  # a clear error, not a traceback


def test_reference_segment_views_match_the_package_batches(synthetic):
    """checks.reference_segment_views restates PretrainCorpus.batch's SP rule: keep them in step."""
    from s3rec_lite.batches import PretrainCorpus

    torch.manual_seed(0)
    corpus = PretrainCorpus(synthetic.pretrain_parts(20), 20, synthetic.n_items)
    batch = corpus.batch(torch.randperm(len(corpus))[:200], 0.2)
    keep = batch.lengths >= 2
    items, lengths = batch.items[keep], batch.lengths[keep]
    in_seg = batch.segment_context[keep] == corpus.mask_id
    L = items.shape[1]
    rel = torch.arange(L)[None, :] - (L - lengths)[:, None]
    start = torch.where(in_seg, rel, L).min(dim=1).values
    seg_len = in_seg.sum(dim=1)
    assert ((seg_len >= 1) & (seg_len <= lengths // 2)).all()
    neg = torch.zeros_like(items)
    for r in range(len(items)):
        seg = batch.segment_neg[keep][r][in_seg[r]]
        neg[r, : len(seg)] = seg
    views = checks.reference_segment_views(items, lengths, start, seg_len, neg, corpus.mask_id)
    for got, expected in zip(views, (batch.segment_context, batch.segment_pos, batch.segment_neg)):
        assert torch.equal(got, expected[keep])
