"""scripts/campaign.py: the queue in the repository, its status, and a run that stops on time and resumes."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import campaign  # noqa: E402

TINY = ("table2 --preset tiny --datasets synthetic --models SASRec --seeds 2 --set max_users=12 --set hidden_size=16 "
        "--set num_heads=1 --set num_layers=1 --set max_len=12 --set finetune_epochs=2 --threads 1")


def test_the_repository_queue_declares_every_stage():
    stages = campaign.read_queue()
    names = [s["stage"] for s in stages]
    assert names[:4] == ["c1", "a1", "c2", "s1"] and len(set(names)) == len(names)
    for s in stages:  # every line parses with the runner's own parser and declares runs
        runs, cfgs, a = campaign.declared(s)
        assert runs and a.preset == "official", s["stage"]
        assert all(c.packed_pretraining and c.packed_finetuning for c in cfgs.values()), s["stage"]
        # (c1 and a1: their FDSA runs started before the flag; a3 declares a1's FDSA runs again)
        if s["stage"] not in ("c1", "a1", "a3") and any(r.model == "FDSA" for r in runs):
            assert all(c.packed_fdsa for c in cfgs.values()), s["stage"]


def test_on_a_gpu_the_cpu_speed_flags_are_left_out_and_the_runs_stay_the_same():
    """The queue names the CPU's fastest path; on a GPU the eager default path is faster, and the packed flags
    are not in a run's fingerprint: the same runs, the same config hashes, without them."""
    stage = next(s for s in campaign.read_queue() if s["stage"] == "a2")
    cpu_runs, cpu_cfgs, _ = campaign.declared(stage)
    gpu_runs, gpu_cfgs, a = campaign.declared(stage, "cuda")
    assert not any(c.packed_pretraining or c.packed_finetuning or c.fused_adam_cpu or c.packed_fdsa
                   for c in gpu_cfgs.values())
    assert all(c.pretrain_epochs == 20 for c in gpu_cfgs.values()) and not any("packed" in s for s in a.set)
    assert [r.key for r in gpu_runs] == [r.key for r in cpu_runs]
    assert all(campaign.ex.config_hash(gpu_cfgs[k]) == campaign.ex.config_hash(cpu_cfgs[k]) for k in cpu_cfgs)


def test_a_run_stored_by_a_gpu_leaves_the_cpu_queue(tmp_path):
    """A run a lent GPU stored (seed<S>.cuda.json, same configuration) is done for the CPU's queue too, and the
    chapters read it where no CPU run of that setting and seed is stored (experiments.load_results)."""
    queue = tmp_path / "q.tsv"
    queue.write_text(f"t\ta tiny stage\t{TINY}\n")
    runs, cfgs, a = campaign.declared(campaign.read_queue(queue)[0])
    r = runs[1]
    path = tmp_path / "res" / a.preset / f"{r.key}.cuda.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"key": r.key, "config_hash": campaign.ex.config_hash(cfgs[r.key]), "wall_seconds": 36.0,
                                "test": {"NDCG@10": 0.1}}))
    row = campaign.status(tmp_path / "res", queue)[0]
    assert (row["stored"], row["declared"], row["spent_h"]) == (1, 2, 0.01)
    tasks = campaign.stage_tasks(campaign.read_queue(queue)[0], tmp_path / "res", tmp_path / "runs", "cpu")
    assert [t["run"].key for t in tasks] == [runs[0].key]


def test_a_bad_queue_line_names_the_file_and_line(tmp_path):
    bad = tmp_path / "q.tsv"
    bad.write_text("# comment\nx\tonly two columns\n")
    p = subprocess.run([sys.executable, str(REPO / "scripts" / "campaign.py"), "status", "--queue", str(bad)],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode != 0 and f"{bad}:2: expected 3 tab-separated columns" in p.stderr


def test_status_and_a_run_that_stops_on_time_then_finishes(tmp_path):
    queue = tmp_path / "q.tsv"
    queue.write_text(f"t\ta tiny stage\t{TINY}\n")
    res, runs = tmp_path / "res", tmp_path / "runs"
    rows = campaign.status(res, queue)
    assert rows[0]["stored"] == 0 and rows[0]["declared"] == 2 and rows[0]["left_h"] > 0
    common = ["--queue", str(queue), "--results", str(res), "--runs", str(runs), "--parallel", "1"]
    assert campaign.main(["run", *common, "--seconds", "1"]) == 0  # stopped before anything finished
    assert campaign.status(res, queue)[0]["stored"] == 0
    assert campaign.main(["run", *common]) == 0
    assert campaign.status(res, queue)[0]["stored"] == 2


def test_the_scheduler_runs_across_stages_and_runs_a_shared_run_once(tmp_path, capsys):
    """Stages declaring the same runs: each run is trained once, by the first stage that declares it (u adds a
    third seed to t's two); a run of another experiment with the very same settings (v's sparsity at 100% is
    t's Table 2 run) waits for it and is stored as its copy; a later stage's runs take the free slots while
    the first stage's runs still run."""
    queue = tmp_path / "q.tsv"
    sparsity = TINY.replace("table2", "sparsity").replace("--seeds 2", "--seeds 1")
    queue.write_text(f"t\tseeds 1-2\t{TINY}\nu\tseeds 1-3\t{TINY.replace('--seeds 2', '--seeds 3')}\n"
                     f"v\tsparsity\t{sparsity}\n")
    res, runs = tmp_path / "res", tmp_path / "runs"
    assert campaign.main(["run", "--queue", str(queue), "--results", str(res), "--runs", str(runs),
                          "--parallel", "3"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    shown = "\n".join(lines)  # in every failure message below
    starts = [i for i, line in enumerate(lines) if line.startswith("start tiny/table2/synthetic/SASRec/seed")]
    done = [i for i, line in enumerate(lines) if not line.startswith(("start", "=="))]  # a run's summary line
    assert len(starts) == 3 and max(starts) < min(done), shown  # t's and u's runs all started before one ended
    assert "start tiny/table2/synthetic/SASRec/seed3 (stage u)" in lines and lines[-1] == "== queue done", shown
    assert not any(line.startswith(("failed", "== failed")) for line in lines), shown
    rows = {r["stage"]: r for r in campaign.status(res, queue)}
    assert (rows["t"]["stored"], rows["t"]["declared"], rows["u"]["stored"], rows["u"]["declared"]) == (2, 2, 1, 1)
    assert (rows["v"]["stored"], rows["v"]["declared"]) == (5, 5), shown
    copy = json.loads(next((res / "tiny" / "sparsity").rglob("SASRec-frac100/seed1.json")).read_text())
    assert copy["reused_from"] == "table2/synthetic/SASRec/seed1"


def test_status_names_the_runs_in_progress(tmp_path):
    """A run not stored yet with training state in runs/ is listed with its finished epochs (it resumes there)."""
    import torch

    queue = tmp_path / "q.tsv"
    queue.write_text(f"t\ta tiny stage\t{TINY}\n")
    runs, cfgs, a = campaign.declared(campaign.read_queue(queue)[0])
    r = runs[0]
    folder = tmp_path / "runs" / a.preset / r.key / campaign.ex.config_hash(cfgs[r.key]) / "finetune"
    folder.mkdir(parents=True)
    torch.save({"epoch": 1}, folder / "finetune_state.pt")
    assert campaign.in_progress(tmp_path / "res", tmp_path / "runs", queue) == [
        f"tiny/{r.key} (stage t): fine-tuning, 1 epochs done"]
    # a stored run is in progress only while its pre-training is being done again (its checkpoint was lost)
    (tmp_path / "res" / a.preset / r.key).parent.mkdir(parents=True)
    (tmp_path / "res" / a.preset / f"{r.key}.json").write_text(json.dumps({"config_hash": folder.parent.name}))
    assert campaign.in_progress(tmp_path / "res", tmp_path / "runs", queue) == []
    (folder.parent / "pretrain").mkdir()
    torch.save({"epoch": 1}, folder.parent / "pretrain" / "pretrain_state.pt")
    (folder / "finetune_state.pt").unlink()
    assert cfgs[r.key].pretrain_epochs == 2 and campaign.in_progress(tmp_path / "res", tmp_path / "runs", queue) == [
        f"tiny/{r.key} (stage t): pre-training again, 1 of 2 epochs done"]
    torch.save({"epoch": 2}, folder.parent / "pretrain" / "pretrain_state.pt")  # done again: no longer in progress
    assert campaign.in_progress(tmp_path / "res", tmp_path / "runs", queue) == []


def test_a_run_stopped_mid_way_is_started_first(tmp_path, capsys):
    """Within a stage, a run with training state in runs/ (stopped mid-way) is started before the stage's others,
    so that what it already cost is not lost with the machine."""
    import torch

    queue = tmp_path / "q.tsv"
    queue.write_text(f"t\ta tiny stage\t{TINY}\n")
    runs, cfgs, a = campaign.declared(campaign.read_queue(queue)[0])
    assert [r.seed for r in runs] == [1, 2]
    late = runs[1]
    folder = campaign.ex.run_folder(tmp_path / "runs", a.preset, late, cfgs[late.key]) / "finetune"
    folder.mkdir(parents=True)
    torch.save({"epoch": 0}, folder / "finetune_state.pt")
    assert campaign.started(tmp_path / "runs", a.preset, late, cfgs[late.key])
    tasks = campaign.stage_tasks(campaign.read_queue(queue)[0], tmp_path / "res", tmp_path / "runs", "cpu")
    assert [t["run"].seed for t in tasks] == [2, 1]


def test_a_lost_runs_folder_means_pre_training_again_not_a_copy(tmp_path, capsys):
    """A machine without the runs/ of stored pre-trainings: the fine-tunings still to run from them need their
    checkpoints, so each pre-training run is trained again first (bit for bit the stored numbers), not stored as
    a copy of itself (a copy writes no checkpoint, and the fine-tunings then fail)."""
    import shutil

    crossed = TINY.replace("table2", "ablation").replace("--models SASRec ", "").replace("--seeds 2", "--seeds 1")
    queue = tmp_path / "q.tsv"
    queue.write_text(f"t\tseed 1\t{crossed}\n")
    res, runs = tmp_path / "res", tmp_path / "runs"
    common = ["--queue", str(queue), "--results", str(res), "--runs", str(runs), "--parallel", "2"]
    assert campaign.main(["run", *common]) == 0
    first = {p.relative_to(res): json.loads(p.read_text()) for p in res.rglob("*.json")}
    assert len(first) == 5 and not any("reused_from" in r for r in first.values())
    shutil.rmtree(runs)  # the next machine
    queue.write_text(f"u\tseed 2 from seed 1's pre-training\t{crossed.replace('--seeds 1', '--seeds 2 --pretrain-seeds 1')}\n")
    tasks = campaign.stage_tasks(campaign.read_queue(queue)[0], res, runs, "cpu")
    assert [(t["run"].tag, t["redo"]) for t in tasks[:4]] == [("full", True), ("full-pre1", False),
                                                              ("no-aap", True), ("no-aap-pre1", False)]
    capsys.readouterr()
    assert campaign.main(["run", *common]) == 0
    out = capsys.readouterr().out
    assert "failed" not in out and out.count("start tiny/ablation/") == 10, out
    again = {p.relative_to(res): json.loads(p.read_text()) for p in res.rglob("*.json")}
    assert len(again) == 10 and not any("reused_from" in r for r in again.values())
    for path, old in first.items():  # trained again, same numbers, and its checkpoint is back
        assert again[path]["test"] == old["test"] and again[path]["provenance"] != old["provenance"]
    assert all(r["from_pretrain"]["sha256"] for r in again.values() if "-pre1" in r["key"])
    # each pre-training trained once, by its own worker: not copied onto itself, then trained again inside the
    # workers of its fine-tunings (two of them at once, in one folder)
    logs = {p.parent.parent.name: p.read_text() for p in (runs / "tiny" / "ablation").rglob("log.txt")}
    assert len(logs) == 10 and not any("reused" in text or "pre-training again" in text for text in logs.values())


def test_commit_stores_the_new_results_with_the_readme_tables_regenerated(tmp_path, monkeypatch):
    """`campaign.py commit`: the result JSONs not yet in git, and results/README.md's tables, in one commit."""
    import shutil

    import results_status

    repo = tmp_path / "repo"
    (repo / "results").mkdir(parents=True)
    (repo / "results" / "campaign.tsv").write_text("")  # no stage: the campaign table is just its header
    parts = [f"{b}\nold\n{e}" for b, e in map(results_status._markers, results_status.BLOCKS)]
    (repo / "results" / "README.md").write_text("\n".join(parts) + "\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], check=True)
    run = repo / "results" / "paper" / "table2" / "LastFM" / "SASRec" / "seed1.json"
    run.parent.mkdir(parents=True)
    shutil.copy(REPO / "tests/fixtures/results/tiny/sparsity/LastFM/SASRec-frac100/seed1.json", run)
    for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(k, "t")
    assert campaign.commit(repo / "results") == 0
    shown = subprocess.run([*git, "show", "--stat", "--format=%s", "HEAD"], capture_output=True, text=True).stdout
    assert "results: 1 campaign run(s) landed" in shown and "results/README.md" in shown and "seed1.json" in shown
    assert results_status.stale(repo / "results" / "README.md") == [] and "| paper |" in (repo / "results" / "README.md").read_text()
