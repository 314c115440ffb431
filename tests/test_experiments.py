"""The experiment runner and its results store: registry, errors, atomic JSON, skip, resume after SIGKILL,
and one experiment (ablation, tiny preset, synthetic data, a very small model) end to end."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s3rec_lite.config import parse_overrides
from s3rec_lite import experiments as ex
from s3rec_lite.provenance import write_json_atomic

REPO = Path(__file__).resolve().parent.parent
#: a very small model so each run takes seconds on a shared CPU
SMALL_MODEL = ["--set", "max_users=24", "--set", "hidden_size=16", "--set", "num_heads=1", "--set", "num_layers=1",
               "--set", "max_len=12"]
SMALL = SMALL_MODEL + ["--set", "pretrain_epochs=1", "--set", "finetune_epochs=2"]
SMALL_DICT = parse_overrides(SMALL[1::2])


def test_registry_signature_and_declared_runs():
    assert {"table2", "ablation", "sparsity", "pretrain_epochs", "convergence"} <= set(ex.EXPERIMENTS)

    def mine(preset, datasets, seeds):
        return [ex.Run("mine", d, "SASRec", s) for d in datasets or ["synthetic"] for s in seeds]

    ex.register_experiment("mine_test", mine, "a test experiment")
    try:
        assert [r.key for r in ex.get_experiment("mine_test").fn("tiny", None, [1, 2])] == [
            "mine/synthetic/SASRec/seed1", "mine/synthetic/SASRec/seed2"]
    finally:
        ex.EXPERIMENTS.pop("mine_test")
    runs = ex.ablation("paper", None, [1, 2, 3])
    assert len(runs) == 4 * (5 + 1) * 3 and len({r.key for r in runs}) == len(runs)  # 5 variants and FDSA
    assert {r.tag for r in runs} == {"full", "no-aap", "no-mip", "no-map", "no-sp", ""}
    assert {r.model for r in runs if not r.tag} == {"FDSA"}
    # crossed: 2 pre-trainings per variant, each fine-tuned with the 3 seeds (the diagonal in the same run)
    crossed = [r for r in ex.ablation("official", ["Beauty"], [1, 2, 3], pretrain_seeds=2) if r.model == "S3-Rec"]
    assert len(crossed) == 5 * 2 * 3 and sum(r.from_pretrain is None for r in crossed) == 10
    # each pre-training is followed at once by the fine-tunings from it (a variant's seeds complete together, and
    # its checkpoint is used before a lost machine can take it); every variant's first pre-training comes first
    assert [(r.tag, r.seed) for r in crossed[:4]] == [("full", 1), ("full-pre1", 2), ("full-pre1", 3), ("no-aap", 1)]
    assert [r.seed for r in crossed if r.from_pretrain is None] == [1] * 5 + [2] * 5
    for i, r in enumerate(crossed):  # the last pre-training before a fine-tuning is its own
        if r.from_pretrain is not None:
            last = next(p for p in reversed(crossed[:i]) if p.from_pretrain is None)
            assert last.key == r.depends_on, r.key
    assert {r.depends_on for r in crossed if r.tag == "no-map-pre2"} == {"ablation/Beauty/S3-Rec-no-map/seed2"}
    assert sorted(r.seed for r in crossed if r.tag == "no-map-pre2") == [1, 3]
    no_sp = [r for r in runs if r.tag == "no-sp"][0]
    assert ex.run_config(no_sp, "paper").loss_weights == {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.0}
    fig5 = ex.pretrain_epochs("paper", ["Beauty"], [1])
    assert [r.from_pretrain[1] for r in fig5[1:]] == list(range(0, 101, 10))
    assert all(r.depends_on == fig5[0].key for r in fig5[1:]) and fig5[0].save_every == 10
    # chapter 13's sweep: 24 points (the paper's, 7 more mask ratios, 4 more values of each weight), each
    # pre-trained once and fine-tuned with every seed
    sweep = ex.sweep("official", None, [1, 2, 3])
    assert len(sweep) == 24 * 3 and sum(r.from_pretrain is None for r in sweep) == 24
    points = {ex.sweep_point(r.tag) for r in sweep}
    assert len(points) == 24 and ("mask_ratio", 0.05) in points and ("map", 2.0) in points and ("paper", None) in points
    mr = next(r for r in sweep if r.tag == "mask_ratio0.3-pre1")
    assert ex.run_config(mr, "official").mask_ratio == 0.3 and mr.depends_on == "sweep/LastFM/S3-Rec-mask_ratio0.3/seed1"
    fracs = {ex.run_config(r, "paper").train_fraction for r in ex.sparsity("paper", None, [1])}
    assert fracs == {0.2, 0.4, 0.6, 0.8, 1.0}


@pytest.mark.parametrize("argv, needle", [
    (["no_such_experiment"], "unknown experiment"),
    (["table2", "--datasets", "NoSuchData"], "unknown dataset"),
    (["table2", "--set", "no_such_field=1"], "unknown config field"),
])
def test_errors_exit_2_with_one_line(argv, needle, capsys):
    assert ex.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0]


def test_atomic_write_never_leaves_a_partial_file(tmp_path):
    target = tmp_path / "a" / "r.json"
    write_json_atomic({"x": 1}, target)

    class Boom:
        pass

    with pytest.raises(TypeError):
        write_json_atomic({"x": Boom()}, target)  # fails half-way through serialising
    assert json.loads(target.read_text()) == {"x": 1}  # the old file is intact
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]  # no temporary file left behind


def _cli(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "s3rec_lite", "experiment", *args], cwd=REPO, env=env, **kw)


def _strip(result):
    hist = [{k: v for k, v in h.items() if "seconds" not in k} for h in result["history"]]
    return hist, result["test"], result["valid"], result["test_full_ranking"], result["best_epoch"]


def test_store_skip_and_resume_after_sigkill(tmp_path):
    key = "table2/synthetic/SASRec/seed1"
    # long enough (60 epochs of a few milliseconds each) to be killed mid-way on a fast, quiet machine
    sets = SMALL[:-2] + ["--set", "finetune_epochs=60", "--set", "patience=60"]
    args = ["table2", "--preset", "tiny", "--datasets", "synthetic", "--only", key, *sets, "--quiet"]
    # interrupted: killed with SIGKILL once the first fine-tuning epoch is saved, then run again
    a = ["--results", str(tmp_path / "res_a"), "--runs", str(tmp_path / "runs_a")]
    proc = _cli(args + a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = None
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        found = list((tmp_path / "runs_a").rglob("finetune_state.pt"))
        if found:
            state = found[0]
            break
        time.sleep(0.05)
    assert state is not None, "the run never saved its first epoch"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out_a = tmp_path / "res_a" / "tiny" / f"{key}.json"
    assert not out_a.exists(), "the run finished before it could be killed"
    assert _cli(args + a).wait() == 0
    resumed = json.loads(out_a.read_text())
    # uninterrupted, in this process
    assert ex.main(args + ["--results", str(tmp_path / "res_b"), "--runs", str(tmp_path / "runs_b")]) == 0
    straight = json.loads((tmp_path / "res_b" / "tiny" / f"{key}.json").read_text())
    assert _strip(resumed) == _strip(straight)
    assert len(resumed["history"]) == 60
    # stored: a second call skips it and leaves the file untouched
    mtime = out_a.stat().st_mtime_ns
    assert ex.main(args + a) == 0
    assert out_a.stat().st_mtime_ns == mtime
    # provenance and the full configuration travel with the numbers
    for field in ("config", "seed", "dataset_checksums", "provenance", "wall_seconds", "torch", "history"):
        assert field in resumed
    assert {"command", "commit", "device", "torch", "date"} <= set(resumed["provenance"])
    assert resumed["config"]["finetune_epochs"] == 60 and resumed["config"]["hidden_size"] == 16


def test_ablation_tiny_end_to_end(tmp_path, capsys):
    argv = ["ablation", "--preset", "tiny", "--datasets", "synthetic", *SMALL, "--quiet",
            "--results", str(tmp_path / "res"), "--runs", str(tmp_path / "runs")]
    assert ex.main(argv) == 0
    runs = ex.load_results("ablation", "tiny", tmp_path / "res")
    assert sorted(r["tag"] for r in runs) == sorted(["full", "no-aap", "no-mip", "no-map", "no-sp"])
    for r in runs:
        assert set(r["test"]) == {"HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR"}
        assert set(r["test_full_ranking"]) == {"HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20", "NDCG@20"}
        assert len(r["pretrain_history"]) == 1
        removed = r["tag"][3:] if r["tag"] != "full" else None
        assert all((w == 0.0) == (k == removed) for k, w in r["config"]["loss_weights"].items())
        assert removed is None or removed not in r["pretrain_history"][0]  # a removed objective is not computed
    capsys.readouterr()
    assert ex.main(argv + ["--list"]) == 0
    assert capsys.readouterr().out.count("stored ") == 5
    # Table 2's S3-Rec with the same settings is the ablation's full model: stored as a copy, not re-trained
    t2 = ["table2", "--preset", "tiny", "--datasets", "synthetic", "--models", "S3-Rec", *SMALL, "--quiet",
          "--results", str(tmp_path / "res"), "--runs", str(tmp_path / "runs_never_used")]
    assert ex.main(t2) == 0
    assert not (tmp_path / "runs_never_used").exists()
    copy = ex.load_results("table2", "tiny", tmp_path / "res")[0]
    full = [r for r in runs if r["tag"] == "full"][0]
    assert copy["reused_from"] == full["key"] and copy["key"] == "table2/synthetic/S3-Rec/seed1"
    assert copy["test"] == full["test"] and copy["provenance"] == full["provenance"]


def test_pretrain_epochs_fine_tunes_from_one_pretraining_and_survives_a_fresh_machine(tmp_path):
    argv = ["pretrain_epochs", "--preset", "tiny", "--datasets", "synthetic", *SMALL_MODEL, "--set", "max_users=12",
            "--set", "finetune_epochs=1",
            "--quiet",
            "--results", str(tmp_path / "res")]
    assert ex.main(argv + ["--runs", str(tmp_path / "runs1")]) == 0
    runs = {r["tag"]: r for r in ex.load_results("pretrain_epochs", "tiny", tmp_path / "res")}
    assert sorted(runs) == ["pretrain", "pt000", "pt001", "pt002", "pt003", "pt004"]
    assert len(runs["pretrain"]["pretrain_history"]) == 4 and runs["pt003"]["from_pretrain"]["epoch"] == 3
    # a new machine without runs/: one fine-tuning run is missing, so the pre-training is done again first
    (tmp_path / "res" / "tiny" / "pretrain_epochs" / "synthetic" / "S3-Rec-pt003" / "seed1.json").unlink()
    assert ex.main(argv + ["--runs", str(tmp_path / "runs2")]) == 0
    again = {r["tag"]: r for r in ex.load_results("pretrain_epochs", "tiny", tmp_path / "res")}
    assert again["pt003"]["test"] == runs["pt003"]["test"]  # same CPU, same seeds: the same numbers
    assert (tmp_path / "runs2").exists() and again["pt001"] == runs["pt001"]  # the others were skipped


def test_default_parallel_is_two_one_thread_runs_on_a_cpu(monkeypatch):
    assert ex.default_parallel("cpu", cores=2) == 2 and ex.default_parallel("cpu", cores=16) == 2
    assert ex.default_parallel("cpu", cores=1) == 1
    monkeypatch.setattr(ex, "device_kind", lambda device="auto": "cuda")
    assert ex.default_parallel("auto", cores=16) == 1
    args = ex.build_parser().parse_args(["table2", "--threads", "3"])
    assert args.parallel is None  # resolved in main(): an explicit --parallel always wins
    cmd = ex.worker_command(ex.build_parser().parse_args(["table2"]), ex.Run("table2", "LastFM", "SASRec", 1, {}), 2)
    assert cmd[cmd.index("--threads") + 1] == str(max(1, (os.cpu_count() or 1) // 2))


def test_load_results_reads_one_run_per_seed_the_cpus_first(tmp_path):
    """A GPU run (seed<S>.cuda.json) sits beside the CPU run of the same setting: by default a reader gets one run
    per seed, the CPU's where both are stored and the GPU's where only it is (a lent GPU's campaign runs count);
    every run says which kind it is, and naming the device reads that device's runs only."""
    folder = tmp_path / "paper" / "table2" / "LastFM" / "SASRec"
    for name, ndcg in (("seed1.json", 0.25), ("seed1.cuda.json", 0.17), ("seed2.json", 0.28), ("seed3.cuda.json", 0.3)):
        write_json_atomic({"key": "table2/LastFM/SASRec/seed1", "test": {"NDCG@10": ndcg}}, folder / name)
    one = ex.load_results("table2", "paper", tmp_path)
    assert [(r["device_kind"], r["test"]["NDCG@10"]) for r in one] == [("cpu", 0.25), ("cpu", 0.28), ("cuda", 0.3)]
    cpu = ex.load_results("table2", "paper", tmp_path, device="cpu")
    assert [r["test"]["NDCG@10"] for r in cpu] == [0.25, 0.28] and {r["device_kind"] for r in cpu} == {"cpu"}
    gpu = ex.load_results("table2", "paper", tmp_path, device="cuda")
    assert [(r["device_kind"], r["test"]["NDCG@10"]) for r in gpu] == [("cuda", 0.17), ("cuda", 0.3)]
    assert len(ex.load_results("table2", "paper", tmp_path, device="all")) == 4
    with pytest.raises(ex.ConfigError, match="device must be"):
        ex.load_results("table2", "paper", tmp_path, device="gpu")


def test_pretrain_epochs_follows_set_and_bad_checkpoint_is_refused():
    exp = ex.get_experiment("pretrain_epochs")
    runs = ex.declared_runs(exp, "official", ["Beauty"], [1, 2, 3], extra={"pretrain_epochs": 100})
    tags = sorted({r.tag for r in runs if r.stage != "pretrain"})
    assert tags[-1] == "pt100" and len(runs) == 1 + 11 * 3
    assert len(ex.declared_runs(exp, "official", ["Beauty"], [1, 2, 3])) == 1 + 16 * 3  # the preset's 150
    cfgs = {r.key: ex.run_config(r, "official", {"pretrain_epochs": 100}, "cpu") for r in runs}
    ex.check_checkpoints(runs, cfgs)  # every checkpoint it fine-tunes from is written
    old = ex.declared_runs(exp, "official", ["Beauty"], [1])  # declared for 150 epochs, run with --set 100
    cfgs = {r.key: ex.run_config(r, "official", {"pretrain_epochs": 100}, "cpu") for r in old}
    with pytest.raises(ex.ConfigError, match="S3-Rec-pt110/seed1 fine-tunes from epoch 110 .* pre-trains 100 epochs"):
        ex.check_checkpoints(old, cfgs)
