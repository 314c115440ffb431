"""The campaign queue of results/campaign.tsv: what is left, and one command that runs it.

    python scripts/campaign.py status [--runs RUNS]   # each stage: runs stored / declared, CPU hours spent and left;
                                                      # with RUNS: the runs in progress there, epochs done
    python scripts/campaign.py run [STAGE ...]        # run what is left (all stages in queue order by default)
    python scripts/campaign.py commit                 # git-commit the result JSONs that have landed (from the checkout)

Run it from a git worktree of a committed state, in the background, with the checkout's results folder and a
runs folder outside both, so that edits cannot change the code a running job imports and finished results land
where they are committed:

    git worktree add ../wt HEAD && cd ../wt
    S3REC_DATA_DIR=... nohup python scripts/campaign.py run --results ../main/results --runs ../runs > ../campaign.log 2>&1 &

On a lent GPU, one prepared call runs as much of the queue as the slot allows, many runs at once, on the GPU's own
fastest path (the queue's CPU speed flags are left out: :func:`cpu_flags_off`; the GPU's runs are stored beside the
CPU ones as ``seed<S>.cuda.json``, and count as done for the CPU's queue; the chapters read one run per setting
and seed, the CPU's where both are stored, else the GPU's, and their scope boxes name the devices):

    python scripts/campaign.py run --device cuda --parallel 8 --seconds 520 --results results --runs .device/runs

It keeps every slot busy across stages: a slot goes to the first run in queue order that can start (its
pre-training has finished; within a stage, runs stopped mid-way come first), reading the next stage when the stages read so far have none, so a stage's last long
pre-training runs beside the next stage's runs instead of beside an idle core. Each run is a worker process of
the runner (``python -m s3rec_lite experiment ... --only KEY``, its log in ``RUNS/PRESET/KEY/log.txt``).

Stopping it (``pkill -TERM -f "scripts/campaign.py run"``: it stops its workers) loses at most the epoch in
progress of each run: the same command resumes every run from its last finished epoch. Costs: measured on stored runs of the same experiment, dataset and
kind of run where there are any, else from the per-dataset epoch times of benchmarks/RESULTS.md (2026-12-07).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from s3rec_lite import experiments as ex  # noqa: E402
from s3rec_lite.config import parse_overrides  # noqa: E402

QUEUE = ROOT / "results" / "campaign.tsv"

#: Seconds at one thread, two runs at once, packed fp32 (benchmarks/RESULTS.md, 2026-12-07, AMD EPYC, AVX2, no
#: avx512_bf16): a pre-training epoch at batch 100, and a whole fine-tuning run to early stopping (about 50 epochs
#: of training + validation). Only used where no run of the kind is stored yet.
EPOCH_S = {"LastFM": 43, "Beauty": 196, "Toys_and_Games": 168, "Sports_and_Outdoors": 315, "Yelp": 281}
FINETUNE_EPOCH_S = {"LastFM": 1.0, "Beauty": 8.7, "Toys_and_Games": 7.6, "Sports_and_Outdoors": 11.7, "Yelp": 12.1}
FINETUNE_EPOCHS = 50
#: A model's fine-tuning epoch against S3-Rec's packed one (same machine, benchmarks/RESULTS.md, 2026-12-07): FDSA has
#: two stacks of blocks and pools its items' attributes; padded (without ``packed_fdsa``) it runs every slot of the
#: [256, 50] batch and pools every item's attributes at every step.
MODEL_FACTOR = {("FDSA", True): 2.3, ("FDSA", False): 8.5}

#: One NVIDIA H200, eager default flags (benchmarks/RESULTS.md, GPU section, 2026-11-28): a Beauty pre-training
#: epoch at batch 100 takes 28.2 s (steps are launch-bound, so an epoch scales with its number of steps: its
#: prefixes, PREFIXES), a Beauty fine-tuning epoch + validation 0.65 s; 8 runs at once give 6.4x the throughput
#: of one. Used for the status table's GPU column only: an estimate, never a measurement of these runs.
PREFIXES = {"LastFM": 25_726, "Beauty": 150_258, "Toys_and_Games": 125_896, "Sports_and_Outdoors": 223_464,
            "Yelp": 247_854}
GPU_EPOCH_S, GPU_FINETUNE_EPOCH_S, GPU_THROUGHPUT = 28.2, 0.65, 6.4  # the last: 8 runs at once against one


def read_queue(path=QUEUE) -> list[dict]:
    """The stages of the queue, in order: ``{"stage", "what", "args"}``; one clear error per bad line."""
    stages = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise SystemExit(f"error: {path}:{n}: expected 3 tab-separated columns (stage, what, arguments), got {len(parts)}")
        stages.append({"stage": parts[0], "what": parts[1], "args": shlex.split(parts[2])})
    names = [s["stage"] for s in stages]
    if len(set(names)) != len(names):
        raise SystemExit(f"error: {path}: a stage name appears twice")
    return stages


def _parse(args: list[str]):
    return ex.build_parser().parse_args(args)


def cpu_flags_off(args: list[str]) -> list[str]:
    """A stage's arguments without its CPU speed flags (``--set packed_pretraining=true`` and the other
    :data:`s3rec_lite.config.OPT_IN_SPEED_FLAGS`): on a GPU the eager default path is the fastest
    (benchmarks/RESULTS.md, GPU section), and these flags are not in a run's fingerprint, so the runs are the same."""
    from s3rec_lite.config import OPT_IN_SPEED_FLAGS

    out, i = [], 0
    while i < len(args):
        if args[i] == "--set" and i + 1 < len(args) and args[i + 1].split("=", 1)[0] in OPT_IN_SPEED_FLAGS:
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def declared(stage: dict, device: str = "cpu", extra_args: list[str] = ()) -> tuple[list, dict, argparse.Namespace]:
    """The runs a stage declares and their configs, as the runner would see them (``extra_args``: more of the
    runner's options, e.g. ``--results``)."""
    args = stage["args"] if device == "cpu" else cpu_flags_off(stage["args"])
    a = _parse([*args, *extra_args])
    extra = parse_overrides(a.set)
    runs = ex.declared_runs(ex.get_experiment(a.name), a.preset, a.datasets, list(range(1, (a.seeds or 3) + 1)),
                            a.pretrain_seeds, extra)
    if a.models:
        runs = [r for r in runs if r.model in {ex.get_model_spec(m).name for m in a.models}]
    cfgs = {r.key: ex.run_config(r, a.preset, extra, device) for r in runs}
    ex.check_checkpoints(runs, cfgs)
    return runs, cfgs, a


def _kind(run) -> str:
    if run.stage == "pretrain":
        return "pretrain"
    if run.from_pretrain is not None:
        return "finetune"
    return "train+pretrain" if run.model == "S3-Rec" or run.model.endswith("+pretrain") else "train"


def _cost_key(run, cfg, packed_fdsa: bool) -> tuple:
    """Runs that cost alike: experiment, dataset, kind, pre-training length, data kept; and for a model trained from
    scratch, the model and whether its packed path is on (FDSA's epoch is several times SASRec's). ``packed_fdsa``:
    the flag the run is (or a stored run was) made with: it is not in the run's hash, so a stored run's own config
    says it, not the declaring stage."""
    kind = _kind(run)
    model = (run.model, bool(packed_fdsa) if run.model == "FDSA" else None) if kind == "train" else None
    return run.experiment, run.dataset, kind, model, cfg.pretrain_epochs, cfg.train_fraction


def estimate_seconds(run, cfg, spent: dict) -> float:
    """Seconds one run costs here: the median wall time of stored runs that cost alike, else the tables above."""
    like = spent.get(_cost_key(run, cfg, cfg.packed_fdsa))
    if like:
        return statistics.median(like)
    pre = EPOCH_S.get(run.dataset, 200) * cfg.pretrain_epochs * cfg.train_fraction * (100 / cfg.pretrain_batch_size)
    ft = FINETUNE_EPOCH_S.get(run.dataset, 10) * FINETUNE_EPOCHS * cfg.train_fraction
    ft *= MODEL_FACTOR.get((run.model, bool(cfg.packed_fdsa)), 1.0)
    return {"pretrain": pre, "finetune": ft, "train+pretrain": pre + ft, "train": ft}[_kind(run)]


def gpu_estimate_seconds(run, cfg) -> float:
    """Seconds of an H200 one run costs when 8 share it (eager default flags): its pre-training epochs at Beauty's
    28.2 s scaled by the dataset's prefixes, plus a 50-epoch fine-tuning at Beauty's 0.65 s scaled like the CPU's,
    divided by the 6.4x throughput of 8 runs at once."""
    scale = PREFIXES.get(run.dataset, PREFIXES["Beauty"]) / PREFIXES["Beauty"]
    pre = GPU_EPOCH_S * scale * cfg.pretrain_epochs * cfg.train_fraction * (100 / cfg.pretrain_batch_size)
    ft = (GPU_FINETUNE_EPOCH_S * FINETUNE_EPOCH_S.get(run.dataset, 10) / FINETUNE_EPOCH_S["Beauty"] * FINETUNE_EPOCHS
          * cfg.train_fraction * MODEL_FACTOR.get((run.model, bool(cfg.packed_fdsa)), 1.0))
    return {"pretrain": pre, "finetune": ft, "train+pretrain": pre + ft, "train": ft}[_kind(run)] / GPU_THROUGHPUT


def status(results_root, queue=QUEUE, runs_root=None) -> list[dict]:
    """A row per stage: runs stored and declared, CPU hours spent and left. With ``runs_root``, the hours left also
    count the stored pre-trainings whose checkpoints are not there but that runs still to come fine-tune from
    (``redo``: they are trained again first)."""
    rows, spent = [], {}
    for stage in read_queue(queue):
        runs, cfgs, a = declared(stage)
        for r in runs:
            got = ex.stored_on_any_device(results_root, a.preset, r, cfgs[r.key])
            if got is not None and not got.get("reused_from"):
                c = cfgs[r.key]
                made_with = got.get("config", {}).get("packed_fdsa", False)
                spent.setdefault(_cost_key(r, c, made_with), []).append(got["wall_seconds"])
    seen: set = set()  # a run two stages declare counts in the first
    for stage in read_queue(queue):
        runs, cfgs, a = declared(stage)
        runs = [r for r in runs if (a.preset, r.key) not in seen]
        seen |= {(a.preset, r.key) for r in runs}
        got = {r.key: ex.stored_on_any_device(results_root, a.preset, r, cfgs[r.key]) for r in runs}
        done = [r for r in runs if got[r.key] is not None]
        left = [r for r in runs if r not in done]
        hours = sum(got[r.key].get("wall_seconds", 0) for r in done) / 3600
        redo = [] if runs_root is None else ex.missing_pretrainings(left, runs, cfgs, runs_root, a.preset)
        cost = {r.key: estimate_seconds(r, cfgs[r.key], spent) for r in left + redo}
        rows.append({"stage": stage["stage"], "what": stage["what"], "stored": len(done), "declared": len(runs),
                     "spent_h": hours, "redo": len(redo), "left_h": sum(cost.values()) / 3600,
                     "gpu_h": sum(gpu_estimate_seconds(r, cfgs[r.key]) for r in left + redo) / 3600,
                     "per_run_min": sum(cost[r.key] for r in left) / len(left) / 60 if left else None})
    return rows


def _states(runs_root, preset: str, run, cfg) -> list[tuple]:
    """``(part, what, path)`` of the resumable training states a run may have in ``runs_root``."""
    folder = ex.run_folder(runs_root, preset, run, cfg)
    return [(part, what, folder / part / f"{part}_state.pt")
            for part, what in (("finetune", "fine-tuning"), ("pretrain", "pre-training"))]


def started(runs_root, preset: str, run, cfg) -> bool:
    """Whether ``run`` has training state in ``runs_root`` to resume from (it was stopped mid-way)."""
    return any(path.exists() for _, _, path in _states(runs_root, preset, run, cfg))


def in_progress(results_root, runs_root, queue=QUEUE) -> list[str]:
    """The runs with training state in ``runs_root`` that is not finished (they resume from it), each as ``KEY:
    pre-training, 16 of 20 epochs done`` or ``KEY: fine-tuning, 12 epochs done``, in queue order: runs not stored
    yet, and stored pre-trainings being done again for the checkpoint that fine-tunings still to come need
    (``KEY: pre-training again, ...``)."""
    import torch

    out, seen = [], set()
    for stage in read_queue(queue):
        runs, cfgs, a = declared(stage)
        for r in runs:
            if (a.preset, r.key) in seen:
                continue
            seen.add((a.preset, r.key))
            again = ex.stored_on_any_device(results_root, a.preset, r, cfgs[r.key]) is not None
            for part, what, state in _states(runs_root, a.preset, r, cfgs[r.key]):
                if state.exists():
                    done = int(torch.load(state, map_location="cpu", weights_only=False)["epoch"])
                    if again and (part != "pretrain" or done >= cfgs[r.key].pretrain_epochs):
                        break  # stored, and its pre-training (done again or not) is finished
                    of = f" of {cfgs[r.key].pretrain_epochs}" if part == "pretrain" else ""
                    out.append(f"{a.preset}/{r.key} (stage {stage['stage']}): {what}{' again' if again else ''}, "
                               f"{done}{of} epochs done")
                    break
    return out


def status_markdown(results_root, queue=QUEUE, runs_root=None) -> str:
    """The status table of results/README.md (``scripts/results_status.py --write`` puts it there, without
    ``runs_root``: what a machine still holds is not the store's): a row per stage, then the CPU hours left."""
    rows = status(results_root, queue, runs_root)
    lines = ["| stage | what | runs stored (not counting earlier stages') | CPU hours spent | CPU hours left (estimate) "
             "| CPU minutes per run left (estimate) | H200 hours left (estimate, 8 at once) |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['stage']} | {r['what']} | {r['stored']} of {r['declared']} | {r['spent_h']:.1f} | {r['left_h']:.1f} "
              f"| {'-' if r['per_run_min'] is None else round(r['per_run_min'])} | {r['gpu_h']:.2f} |" for r in rows]
    left, gpu = sum(r["left_h"] for r in rows), sum(r["gpu_h"] for r in rows)
    lines += ["", f"Left: {left:.1f} CPU hours at one thread per run, about {left / 2:.1f} h of wall time with two runs "
              f"at once; on one H200, about {gpu:.1f} h with 8 runs at once (eager steps; not yet measured on these "
              "runs)."]
    redo = [f"{r['stage']} {r['redo']}" for r in rows if r.get("redo")]
    if redo:
        lines += [f"Counted in it: stored pre-trainings whose checkpoints are not in {runs_root}, trained again before "
                  f"the fine-tunings that start from them ({', '.join(redo)})."]
    return "\n".join(lines)


def print_status(results_root, queue=QUEUE, runs_root=None) -> None:
    print(status_markdown(results_root, queue, runs_root))
    going = in_progress(results_root, runs_root, queue) if runs_root is not None else []
    if going:  # counted in full above
        print(f"\nIn progress in {runs_root} (each resumes from its last finished epoch; counted in full above):")
        for line in going:
            print(f"- {line}")


def stage_tasks(stage: dict, results_root, runs_root, device: str) -> list[dict]:
    """What a stage still needs, as its runner would see it now (:func:`s3rec_lite.experiments.left_to_run`:
    copies of runs another experiment already made are stored on the spot): one task per run, ``{"stage",
    "args", "run", "cfg", "redo", "twin"}`` (``redo``: stored, but its checkpoints are gone: trained again; ``twin``:
    :func:`s3rec_lite.experiments.reuse_key`)."""
    runs, cfgs, a = declared(stage, device, ["--results", str(results_root), "--runs", str(runs_root),
                                             "--device", device, "--quiet"])
    todo = [r for r in runs if ex.stored_on_any_device(results_root, a.preset, r, cfgs[r.key]) is None]  # CPU or GPU
    todo = ex.left_to_run(todo, runs, cfgs, results_root, runs_root, a.preset)
    # runs stopped mid-way go first: they finish what is already paid for, and their state in runs/ is not lost
    # with the machine before they do (the order among the others is the stage's)
    todo.sort(key=lambda r: not started(runs_root, a.preset, r, cfgs[r.key]))
    redo = sum(ex.stored(results_root, a.preset, r, cfgs[r.key]) is not None for r in todo)
    again = f" ({redo} of them stored, trained again for the checkpoints runs still to come need)" if redo else ""
    print(f"== stage {stage['stage']}: {stage['what']}: {len(runs)} runs, {len(runs) - len(todo) + redo} stored, "
          f"{len(todo)} to run{again}", flush=True)
    return [{"stage": stage["stage"], "args": a, "run": r, "cfg": cfgs[r.key],
             "redo": ex.stored(results_root, a.preset, r, cfgs[r.key]) is not None,
             "twin": ex.reuse_key(r, cfgs[r.key])} for r in todo]


def run(stages: list[str], results_root, runs_root, parallel: int, device: str = "cpu", seconds: float | None = None,
        queue=QUEUE) -> int:
    """Run what the stages have left, in queue order, ``parallel`` one-run worker processes at once **across
    stages**: a slot goes to the first run, in queue order, whose pre-training has finished; when no run of the
    stages read so far is ready, the next stage is read. So the last long pre-training of a stage (or Fig. 5's one
    100-epoch pre-training) no longer holds the other slot idle: the next stage's runs fill it. A run identical to
    one still running or waiting (the same settings, another experiment) waits for it and is then stored as its copy.
    ``device``: ``cuda`` stores GPU runs beside the CPU ones (``seed<S>.cuda.json``); ``seconds``: stop (SIGTERM to
    every worker: each keeps its last finished epoch) when they are up, for a GPU slot of fixed length."""
    import signal
    import time

    deadline = None if seconds is None else time.time() + seconds
    path, queue = queue, read_queue(queue)
    names = [s["stage"] for s in queue]
    for name in stages:
        if name not in names:
            raise SystemExit(f"error: no stage {name!r} in {path}; stages: {', '.join(names)}")
    unread = [s for s in queue if not stages or s["stage"] in stages]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    pending, active, lost, failed = [], [], set(), []

    def ident(t):  # a run is the same run in every stage that declares it
        return (t["args"].preset, t["run"].key)

    def busy_keys():
        return {ident(t) for t in pending} | {ident(t) for t, _, _ in active}

    def ready():
        busy = busy_keys()
        for t in pending:
            if (t["args"].preset, t["run"].depends_on) in busy:
                continue
            # the same run under another name (its reuse key, computed once per task), still to finish first?
            if t["twin"] is not None and any(o["twin"] == t["twin"] and o is not t
                                             for o in pending[:pending.index(t)] + [o for o, _, _ in active]):
                continue
            return t
        return None

    def stop_all(sig=signal.SIGTERM):
        for _, proc, _ in active:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        for _, proc, fh in active:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            fh.close()

    def on_term(signum, frame):  # the campaign stopped: its workers stop too, each keeping its last epoch
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            for t in [t for t in pending if (t["args"].preset, t["run"].depends_on) in lost]:
                pending.remove(t)
                lost.add(ident(t))
                failed.append(f"{t['run'].key} (not run: {t['run'].depends_on} failed)")
            while len(active) < parallel:
                t = ready()
                if t is None and unread:  # nothing ready: read the next stage
                    seen = busy_keys()
                    pending += [n for n in stage_tasks(unread.pop(0), results_root, runs_root, device)
                                if ident(n) not in seen]
                    continue
                if t is None:
                    break
                pending.remove(t)
                r, a = t["run"], t["args"]
                log = Path(runs_root) / a.preset / r.key / "log.txt"
                log.parent.mkdir(parents=True, exist_ok=True)
                fh = open(log, "a")
                cmd = ex.worker_command(a, r, parallel) + (["--redo"] if t["redo"] else [])
                print(f"   start {a.preset}/{r.key} (stage {t['stage']})", flush=True)
                active.append((t, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                                   start_new_session=True), fh))
            if not active and not pending and not unread:
                break
            time.sleep(1.0)
            for item in list(active):
                t, proc, fh = item
                if proc.poll() is None:
                    continue
                fh.close()
                active.remove(item)
                r, a = t["run"], t["args"]
                if proc.returncode != 0:
                    lost.add(ident(t))
                    failed.append(f"{r.key} (exit {proc.returncode}, log {Path(runs_root) / a.preset / r.key / 'log.txt'})")
                    print(f"   failed {a.preset}/{r.key} (exit {proc.returncode})", flush=True)
                    continue
                got = ex.result_path(results_root, a.preset, r, device)
                print("   " + (ex.summary_line(json.loads(got.read_text())) if got.exists() else f"done {r.key}"),
                      flush=True)
            if deadline is not None and time.time() > deadline:
                stop_all()
                print("== time is up: stopped; the same command resumes every run", flush=True)
                return 0
    except KeyboardInterrupt:
        stop_all()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if failed:
        print("== failed: " + "; ".join(failed), flush=True)
    print("== queue done", flush=True)
    return 0


def commit(results_root) -> int:
    """Commit the result JSONs not yet in git (the campaign's finished runs), one commit, listed in its message."""
    top = Path(results_root).resolve().parent
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "results"], cwd=top,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    new = [line[3:] for line in out if line.startswith("??") and line.endswith(".json")]
    if not new:
        print("no new result file")
        return 0
    import results_status  # the README's generated tables follow the store in the same commit

    results_status.write(Path(results_root) / "README.md")
    new.append("results/README.md")
    subprocess.run(["git", "add", "--", *new], cwd=top, check=True)
    groups = sorted({"/".join(Path(p).parts[2:5]) for p in new[:-1]})
    msg = (f"results: {len(new) - 1} campaign run(s) landed ({'; '.join(groups[:6])}{'; ...' if len(groups) > 6 else ''}); "
           "results/README.md's tables regenerated")
    subprocess.run(["git", "commit", "-q", "-m", msg, "--", *new], cwd=top, check=True)
    print(msg)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("status", "run", "commit"))
    p.add_argument("stages", nargs="*", help="run: these stages only, in queue order (default: all)")
    p.add_argument("--results", default=str(ex.DEFAULT_RESULTS))
    p.add_argument("--runs", default=str(ex.DEFAULT_RUNS))
    p.add_argument("--parallel", type=int, default=2, help="runs at once (one thread each; on a GPU, runs sharing it)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda: a GPU slot (its runs are stored as seed<S>.cuda.json)")
    p.add_argument("--seconds", type=float, default=None, help="stop when this many seconds are up (a GPU slot)")
    p.add_argument("--queue", default=str(QUEUE), help="the queue file (default: results/campaign.tsv)")
    a = p.parse_args(argv)
    if a.command == "status":
        print_status(a.results, a.queue, a.runs)
        return 0
    if a.command == "commit":
        return commit(a.results)
    try:
        return run(a.stages, a.results, a.runs, a.parallel, a.device, a.seconds, a.queue)
    except KeyboardInterrupt:
        print("== interrupted: the same command resumes every run from its last finished epoch", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
