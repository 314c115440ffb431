"""Print the markdown table of results/README.md: what each experiment has stored, per preset, with run counts,
seeds, devices, commits and CPU time spent (summed wall time). Usage: python scripts/results_status.py [PRESET ...]"""
from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from s3rec_lite.experiments import stored_device  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "results"


def main(presets) -> None:
    print("| preset | experiment | dataset | model | seeds stored | device | commits | wall time (sum) |")
    print("|---|---|---|---|---|---|---|---|")
    for preset in presets:
        groups = collections.defaultdict(list)
        for p in sorted((ROOT / preset).rglob("*.json")):
            r = json.loads(p.read_text())
            if "stage" not in r:  # a derived file (e.g. probe_objectives/), not a training run
                continue
            kind = stored_device(p)  # seed1.cuda.json: a GPU run
            groups[(r["experiment"], r["dataset"], r["model"] + (f"-{r['tag']}" if r.get("tag") else ""), kind)].append(r)
        for (exp, d, m, _), rs in sorted(groups.items()):
            seeds = sorted(r["seed"] for r in rs)
            devices = sorted({("CPU" if r["provenance"]["device"].startswith("CPU") else r["provenance"]["device"])
                              + f", {r['provenance'].get('threads', '?')} thread(s)" for r in rs})
            commits = sorted({r["provenance"]["commit"][:8] for r in rs})
            hours = sum(r["wall_seconds"] for r in rs) / 3600
            span = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))
            print(f"| {preset} | {exp} | {d} | {m} | {len(seeds)} ({span}) | {'; '.join(devices)} | "
                  f"{', '.join(commits)} | {hours:.2f} h |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["paper", "official"])
