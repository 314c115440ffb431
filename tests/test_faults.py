"""The command line under bad input and faults: one line naming the file, field or value, exit 2 for bad input
and 1 for a fault, never a traceback, never exit 0 with a wrong number, never an earlier result lost.
One test per case of the fault report (issue 23); training runs use a very small model on synthetic data."""
import errno
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from s3rec_lite import cli
from s3rec_lite import experiments as ex
from s3rec_lite.errors import S3RecError, TrainingFault, guarded
from s3rec_lite.metrics import rank_of_first, rank_of_target
from s3rec_lite.provenance import write_json_atomic

REPO = Path(__file__).resolve().parent.parent
SMALL = ["--preset", "tiny", "--quiet", "--threads", "1", "--set", "max_users=30", "--set", "hidden_size=16",
         "--set", "num_heads=1", "--set", "num_layers=1", "--set", "max_len=12"]


def run(*args, env=None):
    """The command in a fresh process: (exit status, stdout, stderr lines)."""
    p = subprocess.run([sys.executable, "-m", "s3rec_lite", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=600, env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr.strip().splitlines()


def one_line(lines, *needles):
    """Exactly one line on stderr, an error naming each of ``needles``; no traceback."""
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and all(n in lines[0] for n in needles), lines[0]
    return lines[0]


def in_process(argv, capsys):
    code = cli.main(argv)
    return code, capsys.readouterr().err.strip().splitlines()


# --- silent wrong results -------------------------------------------------------------------------------
def test_a_diverged_model_stops_with_exit_1_instead_of_scoring_perfectly(tmp_path, capsys):
    code, out, err = run("finetune", "--dataset", "synthetic", *SMALL, "--set", "finetune_lr=1e6", "--epochs", "3",
                         "--out", str(tmp_path))
    assert code == 1 and out == ""
    one_line(err, "fine-tuning diverged in epoch 0", "NaN or infinite")
    assert not (tmp_path / "results.json").exists()
    # the report's 1e30 (and anything Adam cannot step with in float32) is refused before any work
    code, err = in_process(["finetune", "--dataset", "synthetic", "--preset", "tiny", "--set", "finetune_lr=1e30",
                            "--out", str(tmp_path)], capsys)
    assert code == 2
    one_line(err, "finetune_lr must be at most 1e6")


def test_pretraining_that_diverges_names_the_epoch_and_the_loss(tmp_path):
    code, _, err = run("pretrain", "--dataset", "synthetic", *SMALL, "--set", "pretrain_lr=1e6", "--epochs", "3",
                       "--out", str(tmp_path))
    assert code == 1
    one_line(err, "pre-training diverged in epoch 0: the total loss is nan")
    assert not (tmp_path / "pretrained.pt").exists()


def test_metrics_refuse_nan_scores_and_json_is_strict(tmp_path):
    scores = torch.tensor([[float("nan"), 0.1, 0.2]])
    with pytest.raises(TrainingFault):
        rank_of_first(scores)
    with pytest.raises(TrainingFault):
        rank_of_target(torch.tensor([[0.3, float("inf")]]), torch.tensor([0]))
    assert rank_of_target(torch.tensor([[0.3, -float("inf")]]), torch.tensor([0])).item() == 0  # -inf: a mask
    with pytest.raises(S3RecError, match=r"test_full_ranking\.NDCG@20 \(inf\)"):
        write_json_atomic({"test_full_ranking": {"NDCG@20": float("inf")}}, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("setting, field", [
    ("loss_weights.sp=NaN", "loss_weights.sp"), ("weight_decay=NaN", "weight_decay"),
    ("init_std=Infinity", "init_std"), ("finetune_lr=-Infinity", "finetune_lr"), ("mask_ratio=NaN", "mask_ratio")])
def test_every_float_field_refuses_nan_and_infinity(setting, field, capsys, tmp_path):
    code, err = in_process(["finetune", "--dataset", "synthetic", "--preset", "tiny", "--set", setting,
                            "--out", str(tmp_path)], capsys)
    assert code == 2
    one_line(err, field, "finite")


def test_the_recorded_model_is_the_model_trained(tmp_path):
    gru = tmp_path / "gru"
    code, _, err = run("finetune", "--dataset", "synthetic", *SMALL, "--model", "GRU4Rec", "--epochs", "1", "--out", str(gru))
    assert code == 0, err
    ckpt = gru / "finetune" / "finetuned.pt"
    code, _, err = run("finetune", "--dataset", "synthetic", *SMALL, "--model", "S3-Rec", "--checkpoint", str(ckpt),
                       "--out", str(tmp_path / "x"))
    assert code == 2
    one_line(err, "a checkpoint of GRU4Rec, not of S3-Rec")
    code, _, err = run("finetune", "--dataset", "synthetic", *SMALL, "--checkpoint", str(ckpt), "--epochs", "1",
                       "--out", str(tmp_path / "y"))  # no --model: the checkpoint's
    assert code == 0, err
    assert json.loads((tmp_path / "y" / "results.json").read_text())["model"] == "GRU4Rec"


def test_s3rec_without_a_checkpoint_is_refused(capsys, tmp_path):
    code, err = in_process(["finetune", "--dataset", "synthetic", "--preset", "tiny", "--model", "S3-Rec",
                            "--out", str(tmp_path)], capsys)
    assert code == 2
    one_line(err, "is SASRec", "--checkpoint")


@pytest.mark.parametrize("argv, needle", [
    (["pretrain", "--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["pretrain", "--epochs", "-2"], "--epochs must be at least 1, got -2"),
    (["finetune", "--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["reproduce", "--pretrain-epochs", "0"], "--pretrain-epochs must be at least 1"),
])
def test_zero_or_negative_epochs_are_refused(argv, needle, capsys, tmp_path):
    code, err = in_process([*argv, "--dataset", "synthetic", "--preset", "tiny", "--out", str(tmp_path)], capsys)
    assert code == 2
    one_line(err, needle)
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("seeds", ["-2", "0"])
def test_experiment_seeds_below_one_are_refused(seeds, capsys):
    code, err = in_process(["experiment", "table2", "--preset", "tiny", "--seeds", seeds, "--list"], capsys)
    assert code == 2
    one_line(err, f"--seeds must be at least 1, got {seeds}")


def test_epochs_are_in_the_stored_config_and_wall_time_covers_a_resume(tmp_path):
    code, _, err = run("pretrain", "--dataset", "synthetic", *SMALL, "--epochs", "1", "--out", str(tmp_path))
    assert code == 0, err
    first = json.loads((tmp_path / "results.json").read_text())
    assert first["config"]["pretrain_epochs"] == 1
    code, _, err = run("pretrain", "--dataset", "synthetic", *SMALL, "--epochs", "2", "--out", str(tmp_path))
    assert code == 0, err
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["config"]["pretrain_epochs"] == 2 and len(res["pretrain_history"]) == 2
    # the resumed process did one epoch; the whole run's wall time includes the first process's epoch
    assert res["wall_seconds"] > res["wall_seconds_this_process"]
    assert res["wall_seconds"] >= sum(row["seconds"] for row in res["pretrain_history"])
    assert (tmp_path / "results.json").stat().st_mode & 0o044 == 0o044 & ~_umask()  # readable by others


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- lost results ------------------------------------------------------------------------------------------
def test_a_different_command_cannot_overwrite_a_results_folder(tmp_path):
    code, _, err = run("pretrain", "--dataset", "synthetic", *SMALL, "--epochs", "1", "--out", str(tmp_path))
    assert code == 0, err
    before = (tmp_path / "results.json").read_text()
    code, _, err = run("finetune", "--dataset", "synthetic", *SMALL, "--model", "SASRec", "--out", str(tmp_path))
    assert code == 2
    one_line(err, "holds the results of `pretrain` (S3-Rec on synthetic)")
    code, _, err = run("pretrain", "--dataset", "synthetic-longtail", *SMALL, "--epochs", "1", "--out", str(tmp_path))
    assert code == 2
    one_line(err, "holds the results of `pretrain` (S3-Rec on synthetic)")
    assert (tmp_path / "results.json").read_text() == before


def test_a_folder_in_use_by_a_running_run_is_refused_naming_it(tmp_path, capsys):
    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("pid 4242: python -m s3rec_lite reproduce --dataset synthetic\n")
        lock.flush()
        code, err = in_process(["finetune", "--dataset", "synthetic", "--preset", "tiny", "--out", str(tmp_path)], capsys)
    assert code == 2
    one_line(err, "in use by a run still going", "pid 4242")


# --- tracebacks that are now one line ------------------------------------------------------------------------
def test_missing_data_without_downloads(tmp_path):
    env = {"S3REC_DATA_DIR": "", "S3REC_CACHE_DIR": str(tmp_path / "cache")}
    code, _, err = run("finetune", "--dataset", "Yelp", "--data-dir", str(tmp_path), "--no-download", "--quiet",
                       "--out", str(tmp_path / "o"), env=env)
    assert code == 2
    one_line(err, "Yelp.txt not found", "--no-download")


def _dataset(folder: Path, name: str, seq: bytes, attrs: bytes = b'{"1": [1], "2": [2]}') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_bytes(seq)
    (folder / f"{name}_item2attributes.json").write_bytes(attrs)
    return folder


@pytest.mark.parametrize("seq, attrs, needle", [
    (b"1 1 2 3\n2 2 \xff 3\n", b'{"1": [1]}', "Bad.txt, line 2: not UTF-8 text (byte 0xff"),
    (b"1 1 2 3\n2 2 3 1\n", b'{"1": ["\xe9"]}', "Bad_item2attributes.json, line 1: not UTF-8 text"),
    (b"1 1 2 3\n2 2 1000000000000 1\n", b"{}", "Bad.txt, line 2: item id 1000000000000 is above 10,000,000"),
])
def test_malformed_files_are_named(tmp_path, capsys, seq, attrs, needle):
    d = _dataset(tmp_path / "data", "Bad", seq, attrs)
    code, err = in_process(["finetune", "--dataset", "Bad", "--data-dir", str(d), "--preset", "tiny", "--quiet",
                            "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    one_line(err, needle)


def test_an_out_that_is_a_file_or_unwritable_is_found_before_training(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code, err = in_process(["finetune", "--dataset", "synthetic", "--preset", "tiny", "--out", str(tmp_path / "afile")],
                           capsys)
    assert code == 2
    one_line(err, "is a file, not a folder")
    code, err = in_process(["finetune", "--dataset", "synthetic", "--preset", "tiny",
                            "--out", str(tmp_path / "afile" / "below")], capsys)
    assert code == 2
    one_line(err, "cannot write there")


def test_an_interrupted_run_of_other_data_in_the_folder(tmp_path):
    code, _, err = run("pretrain", "--dataset", "synthetic", *SMALL, "--epochs", "1", "--out", str(tmp_path))
    assert code == 0, err
    (tmp_path / "results.json").unlink()  # as if interrupted: only the resumable state is there
    code, _, err = run("pretrain", "--dataset", "synthetic-longtail", *SMALL, "--epochs", "2", "--out", str(tmp_path))
    assert code == 2
    one_line(err, "pretrain_state.pt", "other data")


def test_pretrain_of_a_model_without_pretraining_writes_nothing(tmp_path, capsys):
    code, err = in_process(["pretrain", "--dataset", "synthetic", "--preset", "tiny", "--model", "SASRec",
                            "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    one_line(err, "SASRec has no pre-training stage")
    assert not (tmp_path / "o" / "results.json").exists()


def test_a_full_disk_is_one_line_with_its_cause(tmp_path, capsys, monkeypatch):
    import s3rec_lite.checkpoint as ck

    def full(*_a, **_k):
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "pretrain_state.pt"))
        except OSError as exc:
            raise RuntimeError("PytorchStreamWriter failed writing file data/0") from exc

    monkeypatch.setattr(ck.torch, "save", full)
    code = cli.main(["pretrain", "--dataset", "synthetic", *SMALL, "--epochs", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    one_line(err, "No space left on device", "pretrain_state.pt", "resumes")
    assert guarded(lambda: 0) == 0


def test_a_corrupt_state_file_is_named(tmp_path):
    (tmp_path / "pretrain_state.pt").write_bytes(b"garbage")
    code, _, err = run("pretrain", "--dataset", "synthetic", *SMALL, "--epochs", "1", "--out", str(tmp_path))
    assert code == 2
    one_line(err, "pretrain_state.pt: cannot be read", "delete it")


def test_a_corrupt_stored_result_and_a_results_path_that_is_a_file(tmp_path, capsys):
    res = tmp_path / "res"
    bad = res / "tiny" / "table2" / "synthetic" / "SASRec" / "seed1.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"truncated": ')
    code, err = in_process(["experiment", "table2", "--preset", "tiny", "--datasets", "synthetic", "--models", "SASRec",
                            "--results", str(res), "--list"], capsys)
    assert code == 2
    one_line(err, str(bad), "not a stored run's JSON")
    (tmp_path / "f").write_text("")
    code, err = in_process(["experiment", "table2", "--preset", "tiny", "--results", str(tmp_path / "f"), "--list"], capsys)
    assert code == 2
    one_line(err, "--results", "is a file, not a folder")


# --- newcomer friction --------------------------------------------------------------------------------------
def test_help_lists_every_command_and_the_readme_documents_each():
    code, out, _ = run("--help")
    assert code == 0
    readme = (REPO / "README.md").read_text()
    for command in ("pretrain", "finetune", "evaluate", "reproduce", "download", "info", "experiment", "assignments"):
        assert command in out, command
        assert f"python -m s3rec_lite {command}" in readme, command


def test_progress_says_resumed_early_stopped_and_where_the_results_went(tmp_path):
    args = ["finetune", "--dataset", "synthetic", "--preset", "tiny", "--threads", "1", "--model", "SASRec",
            "--set", "max_users=30", "--set", "hidden_size=16", "--set", "num_heads=1", "--set", "max_len=12",
            "--set", "patience=1", "--set", "finetune_lr=1e-7", "--out", str(tmp_path)]
    code, _, err = run(*args, "--epochs", "1")
    assert code == 0
    assert err[-1] == f"results: {tmp_path / 'results.json'}"
    code, _, err = run(*args, "--epochs", "60")
    assert code == 0
    text = "\n".join(err)
    assert "resuming the fine-tuning from" in text and "after epoch 1" in text
    assert "early stopping: validation MRR did not improve for 1 epochs" in text
