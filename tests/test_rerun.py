"""Every stored paper-scale run can be re-created alone: its ``rerun`` command gives the same test metrics,
bit for bit, on a CPU; and no stored run was made by uncommitted code."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from conftest import HAVE_DATA, REPO
from s3rec_lite.experiments import stored_device

PAPER = REPO / "results" / "paper"


def _stored_cpu_runs() -> list[dict]:
    runs = []
    for path in sorted(PAPER.rglob("*.json")) if PAPER.exists() else []:
        if stored_device(path) == "cpu":  # seed<S>.json (GPU runs are seed<S>.cuda.json)
            runs.append({"path": path, **json.loads(path.read_text())})
    return runs


def test_every_stored_paper_run_names_a_clean_commit_and_a_rerun():
    runs = _stored_cpu_runs()
    for r in runs:
        where = r["path"].relative_to(REPO)
        assert not r["provenance"]["commit"].endswith("+dirty"), f"{where}: made by uncommitted code"
        assert r["provenance"]["commit"] not in ("", "unknown"), f"{where}: no commit"
        assert r.get("rerun", "").startswith("python -m s3rec_lite experiment "), f"{where}: no rerun command"
        assert "/" not in r["rerun"].split("--only ")[0].replace("s3rec_lite", ""), f"{where}: absolute path in rerun"


@pytest.mark.skipif(not HAVE_DATA, reason="the authors' data are absent (set S3REC_DATA_DIR)")
def test_the_cheapest_stored_run_reproduces_bit_for_bit(tmp_path):
    runs = [r for r in _stored_cpu_runs() if not r.get("reused_from") and r.get("stage") == "train"
            and not r.get("from_pretrain") and r.get("epochs_run", 0) > 0]
    if not runs:
        pytest.skip("no trained paper-scale CPU run stored yet")
    run = min(runs, key=lambda r: r["wall_seconds"])
    argv = shlex.split(run["rerun"])
    assert argv[:3] == ["python", "-m", "s3rec_lite"]
    env = {"PATH": os.environ["PATH"], "S3REC_DATA_DIR": os.environ["S3REC_DATA_DIR"],
           "PYTHONPATH": str(REPO), "S3REC_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["key"] == run["key"]
    assert last["test"] == run["test"], f"{run['key']}: rerun gave {last['test']}, stored {run['test']}"
    assert last["valid"] == run["valid"]


def test_a_cpu_runs_provenance_names_the_cpus_kind():
    """Two kinds of CPU give a run's numbers apart in the last digits (benchmarks/RESULTS.md, 2026-12-08), so a
    CPU run says which kind made it: torch's CPU capability, and the family and model where /proc/cpuinfo has them."""
    import torch

    from s3rec_lite.provenance import cpu_kind, provenance

    kind = cpu_kind()
    assert kind.startswith(torch.backends.cpu.get_cpu_capability()) and provenance("cpu")["cpu"] == kind
