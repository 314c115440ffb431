"""Execute the book's notebooks on every core into Jupyter Book's execution cache, before ``jupyter-book build``.

Jupyter Book 1.x (``execute_notebooks: cache`` in ``_config.yml``) executes the chapters one after the other while
Sphinx reads them, and looks each one up in its jupyter-cache first (``_build/.jupyter_cache``, keyed by the code
cells' sources). This script fills that cache with several notebooks at once, each in its own kernel, exactly as
the build would run it (the notebook's own folder as working directory, the configured timeout, errors not
allowed, ``S3REC_SITE_BUILD=1`` as the book's Sphinx extension sets it); the build then finds every chapter
cached and only renders it. A notebook that fails here is not cached: the build runs it again and reports the
error as usual, so the build's verdict does not depend on this script.

    python scripts/execute_book.py [--jobs N] [--build _build] [--toc _toc.yml]

``--jobs`` defaults to the cores this process may use. Every kernel runs torch on one thread (``OMP_NUM_THREADS=1``),
whatever the number of jobs, and so do the build's own kernels and nbval's (``scripts/test_book.sh``): a chapter's
numbers do not depend on how many ran beside it, or on which of the two executed it, and nbval compares like with
like. With ``S3REC_MODE=full`` (the experiments themselves, meant for one GPU) nothing is prepared: the build runs
the chapters one at a time, as before.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc: Path) -> list[str]:
    """Every ``file:`` entry of a jupyter-book table of contents, root first, in reading order."""
    spec = yaml.safe_load(toc.read_text())
    found = [spec["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in spec.items() if k != "root"})
    return found


def notebooks(toc: Path, excluded: list[str], root: Path = ROOT) -> list[Path]:
    """The toc's ``.ipynb`` files (relative to the book's ``root``) that the build executes: those not matched by
    ``execute.exclude_patterns``."""
    out = []
    for name in toc_files(toc):
        path = root / f"{name}.ipynb"
        if path.exists() and not any(fnmatch.fnmatch(f"{name}.ipynb", pat) for pat in excluded):
            out.append(path)
    return out


def execute_one(path: str, timeout: int) -> tuple[str, str | None, float, str | None]:
    """Run one notebook in a fresh kernel on one torch thread; the executed notebook (JSON) or None with the error's
    first line."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    os.environ["S3REC_SITE_BUILD"] = "1"  # as book/_ext/s3rec_site.py sets it for the build's kernels
    os.environ["OMP_NUM_THREADS"] = "1"  # one thread per kernel: the pool runs one kernel per core
    t0 = time.time()
    try:
        nb = nbformat.read(path, as_version=4)
        result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=False,
                                     meta_override=True)
    except Exception as exc:  # a kernel that died or did not start: the build runs the chapter and reports it
        return path, None, time.time() - t0, _first_line(exc)
    if result.err is not None:
        return path, None, result.time, _first_line(result.err)
    return path, nbformat.writes(nb), result.time, None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


def usable_cores() -> int:
    """The cores this process may run on (its affinity: a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=usable_cores(), help="notebooks at once (default: the cores)")
    ap.add_argument("--build", type=Path, default=ROOT / "_build", help="the build folder (its .jupyter_cache)")
    ap.add_argument("--root", type=Path, default=ROOT, help="the book's source folder (the toc's files are in it)")
    ap.add_argument("--toc", type=Path, help="default: ROOT/_toc.yml")
    ap.add_argument("--config", type=Path, help="default: ROOT/_config.yml")
    args = ap.parse_args(argv)
    args.toc = args.toc or args.root / "_toc.yml"
    args.config = args.config or args.root / "_config.yml"

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    if os.environ.get("S3REC_MODE", "fast").strip().lower() == "full":
        print("== S3REC_MODE=full: the build executes the chapters one at a time (nothing prepared)")
        return 0
    execute = yaml.safe_load(args.config.read_text()).get("execute", {})
    if execute.get("execute_notebooks") != "cache":
        print(f"{args.config}: execute.execute_notebooks is not 'cache'; nothing to prepare")
        return 0
    timeout = int(execute.get("timeout", 30))
    cache = get_cache(str(args.build / ".jupyter_cache"))
    todo = []
    for path in notebooks(args.toc, execute.get("exclude_patterns", []), args.root.resolve()):
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))  # already cached: nothing to do
        except KeyError:
            todo.append(path)
    jobs = max(1, min(args.jobs, len(todo)))
    print(f"== executing {len(todo)} notebooks, {jobs} at once (one thread each), into "
          f"{args.build / '.jupyter_cache'}", flush=True)
    t0, failed = time.time(), []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(execute_one, str(p), timeout) for p in todo]
        for fut in as_completed(futures):
            try:
                path, text, seconds, error = fut.result()
            except Exception as exc:  # the worker process itself died (out of memory, say)
                failed.append("a notebook")
                print(f"   a worker stopped ({_first_line(exc)}); the build runs what is not cached", flush=True)
                continue
            rel = os.path.relpath(path, args.root)
            if error is not None:
                failed.append(rel)
                print(f"   {rel}: FAILED after {seconds:.0f} s ({error}); the build runs it again and reports it",
                      flush=True)
                continue
            record = cache.add_nb_to_project(path)
            cache.cache_notebook_bundle(CacheBundleIn(nbformat.reads(text, as_version=4), record.uri,
                                                      data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"   {rel}: {seconds:.0f} s", flush=True)
    print(f"== executed in {time.time() - t0:.0f} s; {len(failed)} failed", flush=True)
    return 0  # failures are the build's to report


if __name__ == "__main__":
    sys.exit(main())
