"""scripts/campaign.py: the queue in the repository, its status, and a run that stops on time and resumes."""
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
