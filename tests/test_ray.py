"""experiment --backend ray: a small experiment on a local Ray instance stores the same results, with the same
rerun commands, as the local runner (one thread per run on both: the same numbers bit for bit on a CPU)."""
import pytest

from s3rec_lite import experiments as ex

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 's3rec_lite[ray]')")

# one pre-training and fine-tunings from its checkpoints: the tasks depend on each other
ARGS = ["pretrain_epochs", "--preset", "tiny", "--datasets", "synthetic", "--set", "max_users=12", "--set", "hidden_size=16",
        "--set", "num_heads=1", "--set", "num_layers=1", "--set", "max_len=12", "--set", "finetune_epochs=1",
        "--threads", "1", "--quiet"]


def _stored(root):
    out = {}
    for r in ex.load_results("pretrain_epochs", "tiny", root):
        out[r["key"]] = {k: r.get(k) for k in ("test", "valid", "pretrain_history", "best_epoch", "config_hash", "rerun")}
        for row in out[r["key"]]["pretrain_history"] or []:
            row.pop("seconds", None)  # wall time differs
    return out


@pytest.mark.slow
def test_ray_backend_stores_what_the_local_runner_stores(tmp_path):
    assert ex.main(ARGS + ["--parallel", "2", "--results", str(tmp_path / "local"), "--runs", str(tmp_path / "runs1")]) == 0
    assert ex.main(ARGS + ["--backend", "ray", "--results", str(tmp_path / "ray"), "--runs", str(tmp_path / "runs2")]) == 0
    local, on_ray = _stored(tmp_path / "local"), _stored(tmp_path / "ray")
    assert len(local) == 6 and set(local) == set(on_ray)  # the pre-training and 5 fine-tunings
    for key in local:
        assert on_ray[key] == local[key], key
    # a second call finds everything stored and starts no task
    assert ex.main(ARGS + ["--backend", "ray", "--results", str(tmp_path / "ray"), "--runs", str(tmp_path / "runs2")]) == 0
