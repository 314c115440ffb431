"""The command line contract: JSON summary line, results file, readable errors, resume after SIGKILL."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO


def cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "s3rec_lite", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_reproduce_synthetic_prints_one_json_line_and_writes_results(tmp_path):
    out = tmp_path / "run"
    p = cli("reproduce", "--dataset", "synthetic", "--preset", "tiny", "--quiet", "--out", str(out))
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    keys = {"HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR"}
    assert set(summary["valid"]) == keys and set(summary["test"]) == keys
    res = json.loads((out / "results.json").read_text())
    for key in ("config", "seed", "pretrain_history", "history", "provenance", "wall_seconds", "torch"):
        assert key in res
    assert {"commit", "device", "date", "command"} <= set(res["provenance"])
    # evaluate the fine-tuned checkpoint: the same test metrics
    p = cli("evaluate", "--dataset", "synthetic", "--preset", "tiny", "--checkpoint", str(out / "finetune" / "finetuned.pt"),
            "--out", str(tmp_path / "eval"))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["test"] == summary["test"]


@pytest.mark.parametrize("content, expect", [
    ("1 1 2 3\n2 2 oops 4\n", "bad.txt, line 2: item id 'oops' is not an integer"),
    ("1 1 2 3\n2 2\n", "bad.txt, line 2: user 2 has 1 item(s)"),
])
def test_bad_input_gives_one_readable_line_and_exit_2(tmp_path, content, expect):
    (tmp_path / "bad.txt").write_text(content)
    (tmp_path / "bad_item2attributes.json").write_text('{"1": [1]}')
    p = cli("finetune", "--dataset", "bad", "--data-dir", str(tmp_path), "--no-download", "--out", str(tmp_path / "o"))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert expect in p.stderr and p.stderr.strip().count("\n") == 0


def test_unknown_dataset_and_bad_checkpoint_are_clear(tmp_path):
    p = cli("finetune", "--dataset", "Nope", "--no-download", "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and "unknown dataset 'Nope'" in p.stderr and "Traceback" not in p.stderr
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    p = cli("evaluate", "--dataset", "synthetic", "--checkpoint", str(tmp_path / "junk.pt"), "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and "junk.pt: not a loadable PyTorch checkpoint" in p.stderr


def test_sigkill_then_rerun_resumes_to_the_same_result(tmp_path):
    args = ["reproduce", "--dataset", "synthetic", "--preset", "tiny", "--quiet", "--set", "pretrain_epochs=3"]
    ref = cli(*args, "--out", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, "-m", "s3rec_lite", *args, "--out", str(out)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "pretrain" / "pretrain_state.pt"
    deadline = time.time() + 600  # generous: a loaded machine can take minutes for the first epoch
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert state.exists(), "the run never wrote its first epoch"
    again = cli(*args, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1]) == json.loads(ref.stdout.splitlines()[-1])
