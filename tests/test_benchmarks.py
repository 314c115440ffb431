"""The benchmark scripts keep working as the package changes (one of them once imported a renamed function)."""
from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_speed_script_times_a_pretraining_step_on_synthetic_data():
    out = _run("benchmarks/speed.py", "--device", "cpu", "--datasets", "synthetic", "--steps", "1", "--warmup", "0",
               "--pretrain-only")
    assert out.returncode == 0, out.stderr[-2000:]
    row = [line for line in out.stdout.splitlines() if "| synthetic |" in line]
    assert len(row) == 1 and "| fast |" in row[0], out.stdout


def test_speed_script_times_the_packed_bf16_path_and_refuses_bf16_alone():
    out = _run("benchmarks/speed.py", "--device", "cpu", "--datasets", "synthetic", "--steps", "1", "--warmup", "0",
               "--pretrain-only", "--packed", "--bf16", "--threads", "1")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| fast + packed + bf16 |" in out.stdout, out.stdout
    alone = _run("benchmarks/speed.py", "--datasets", "synthetic", "--bf16")
    assert alone.returncode == 2 and "--bf16 works inside the packed encoder: add --packed" in alone.stderr


def test_the_other_benchmark_scripts_import():
    for script in ("benchmarks/compile_probe.py", "benchmarks/side_by_side.py", "benchmarks/profile_step.py",
                   "benchmarks/finetune_step.py", "benchmarks/finetune_epoch.py"):
        out = _run(script, "--help")
        assert out.returncode == 0 and "usage" in out.stdout, f"{script}: {out.stderr[-2000:]}"
