import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_default = REPO.parent / "shared" / "data" / "s3rec"
DATA_DIR = Path(os.environ.get("S3REC_DATA_DIR") or _default)
HAVE_DATA = (DATA_DIR / "LastFM.txt").exists()
if HAVE_DATA:
    os.environ.setdefault("S3REC_DATA_DIR", str(DATA_DIR))

# Under pytest-xdist (scripts/test.sh: one worker per core) each worker's torch takes its share of the cores,
# not all of them: two workers with two threads each on two cores would oversubscribe them. The processes a test
# starts (the command line, kernels) get the same share through OMP_NUM_THREADS, so that a run in this process and
# the same run in a subprocess sum in the same order (tests/test_experiments.py compares them bit for bit).
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
if _workers > 1:
    import torch

    _threads = max(1, len(os.sched_getaffinity(0)) // _workers)
    os.environ["OMP_NUM_THREADS"] = str(_threads)
    torch.set_num_threads(_threads)

needs_data = pytest.mark.skipif(not HAVE_DATA, reason="the authors' data are absent (set S3REC_DATA_DIR)")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # generated negatives and downloads go to a per-session temporary cache, never into the checkout
    monkeypatch.setenv("S3REC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def synthetic():
    from s3rec_lite import make_synthetic

    return make_synthetic(num_users=120, num_items=160, num_clusters=6, seed=3)
