"""Where a result came from: commit, device, versions, date. Stored next to every number we publish."""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

from .errors import S3RecError
from .files import atomic_file

import torch


def git_commit() -> str:
    """The commit of the source tree the package runs from (``+dirty`` if it has uncommitted changes)."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return os.environ.get("S3REC_COMMIT", "unknown")
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "s3rec_lite"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return sha.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("S3REC_COMMIT", "unknown")


def device_name(device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {cpu}, {torch.get_num_threads()} threads"


def cpu_kind() -> str:
    """Which CPU kernels a run's numbers come from: torch's CPU capability (``AVX2``, ``AVX512``, ...) and the
    CPU's family and model from ``/proc/cpuinfo``, e.g. ``AVX512, family 25 model 17``. Two CPUs that differ here
    may give a run's numbers apart in the last digits (benchmarks/RESULTS.md, 2026-12-08): the same seed then
    parts like another seed over many epochs. The same kind gives the same numbers bit for bit."""
    kind = torch.backends.cpu.get_cpu_capability()
    ids = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key = line.split(":", 1)[0].strip()
            if key in ("cpu family", "model") and key not in ids:
                ids[key] = line.split(":", 1)[1].strip()
            if len(ids) == 2:
                break
    except OSError:
        pass
    return f"{kind}, family {ids['cpu family']} model {ids['model']}" if len(ids) == 2 else kind


def provenance(device, command: list[str] | None = None) -> dict:
    out = {
        "command": " ".join(command if command is not None else sys.argv),
        "commit": git_commit(),
        "device": device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if torch.device(device).type == "cpu":
        out["cpu"] = cpu_kind()
    return out


def write_json_atomic(obj, path) -> None:
    """Write JSON atomically (:func:`s3rec_lite.files.atomic_file`): readers never see half a file."""
    try:
        text = json.dumps(obj, indent=1, sort_keys=False, allow_nan=False)  # strict JSON: no NaN, no Infinity
    except ValueError:
        raise S3RecError(f"{path}: not written: {_non_finite(obj) or 'a value'} is not a finite number") from None
    with atomic_file(path, "w") as (fh, _):
        fh.write(text + "\n")


def _non_finite(obj, where: str = "") -> str | None:
    """The path (``test.NDCG@10``) of the first NaN or infinite number in ``obj``, if any."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return f"{where} ({obj})"
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for k, v in items:
        found = _non_finite(v, f"{where}.{k}" if where else str(k))
        if found:
            return found
    return None
