#!/usr/bin/env bash
# Build and test the book: (1) a clean site build that executes every notebook and must give zero warnings,
# (2) nbval on the executed notebooks, (3) a real-browser test of the built site (offline).
#
# Why nbval runs on _build/jupyter_execute/ and not on book/:
#   the notebooks in book/ are committed without outputs, so `pytest --nbval-lax book/` would only re-run them
#   (which the build has just done, with raise_on_error) and could compare nothing. The build writes each
#   executed notebook, with its outputs, under _build/jupyter_execute/. Running `pytest --nbval-lax` there
#   re-executes each one in a fresh kernel and compares every cell marked `# NBVAL_CHECK_OUTPUT` with the
#   output the build produced: a check that the marked numbers and tables are reproducible, not an accident
#   of one run. Only notebooks that contain marked cells are re-run (the others would check nothing), so the
#   check costs at most one extra execution of those notebooks.
#
# Usage: bash scripts/test_book.sh [--no-browser]     (S3REC_DATA_DIR defaults to ../shared/data/s3rec)
#   S3REC_CHROMIUM=/path/to/chromium   the browser of step 3 (default /usr/bin/chromium, installed if missing)
#   BOOK_OUT=/some/dir   build into /some/dir/_build instead of ./_build (jupyter-book --path-output)
#   BOOK_TOC=/some/toc.yml   build another table of contents (for a partial check; CI uses _toc.yml)
set -euo pipefail
cd "$(dirname "$0")/.."
export S3REC_DATA_DIR="${S3REC_DATA_DIR:-$(cd .. && pwd)/shared/data/s3rec}"
export S3REC_MODE="${S3REC_MODE:-fast}"
export PYDEVD_DISABLE_FILE_VALIDATION=1
PY=.venv/bin/python
cores() { $PY -c "import os; print(len(os.sched_getaffinity(0)))"; }  # this process's cores (not nproc: it reads OMP_NUM_THREADS)
browser=1
[ "${1:-}" = "--no-browser" ] && browser=0
t_all=$(date +%s)

OUT="${BOOK_OUT:-.}"
BUILD="$OUT/_build"
extra=()
[ -n "${BOOK_OUT:-}" ] && extra+=(--path-output "$BOOK_OUT")
[ -n "${BOOK_TOC:-}" ] && extra+=(--toc "$BOOK_TOC")
export S3REC_BOOK_BUILD="$(mkdir -p "$OUT" && cd "$OUT" && pwd)/_build"   # where tests/test_site.py looks

echo "== 1/3 site build (clean $BUILD, every notebook executed, warnings are errors)"
rm -rf "$BUILD"
t0=$(date +%s)
# the chapters executed on every core into the build's cache first; the build then renders them (a chapter that
# fails there is run again by the build, which reports it)
toc_arg=()
[ -n "${BOOK_TOC:-}" ] && toc_arg+=(--toc "$BOOK_TOC")
$PY scripts/execute_book.py --build "$BUILD" "${toc_arg[@]}" 2> >(grep -v "Kernel is running over TCP" >&2) \
  || echo "== the chapters' pre-execution stopped; the build executes what is not cached"
# the build's own kernels (a chapter not cached) on one thread too, as the pre-execution's and nbval's (fast mode)
build_env=()
[ "$S3REC_MODE" = full ] || build_env=(env OMP_NUM_THREADS=1)
set +e
"${build_env[@]}" .venv/bin/jupyter-book build . -W -n --keep-going "${extra[@]}" 2>&1 | tee /tmp/s3rec_book_build.log | grep -E "WARNING:|ERROR|build succeeded|build finished|Executed notebook|failed" || true
build_rc=${PIPESTATUS[0]}
set -e
build_s=$(( $(date +%s) - t0 ))
n_warn=$(grep -c "WARNING:" /tmp/s3rec_book_build.log || true)
if [ "$build_rc" -ne 0 ] || [ "$n_warn" -ne 0 ]; then
  echo "site build FAILED (exit $build_rc, $n_warn warnings); full log: /tmp/s3rec_book_build.log" >&2
  grep -E "WARNING|ERROR|Error|Traceback" /tmp/s3rec_book_build.log | head -40 >&2
  exit 1
fi
echo "site build OK in ${build_s} s (zero warnings)"

echo "== 2/3 nbval: re-execute the built notebooks that have # NBVAL_CHECK_OUTPUT cells and compare them"
# The student assignments (book/assignments/student/) are shown as released, not executed: they have no output to
# compare, and their stubs raise NotImplementedError. Their masters run under nbval in tests/test_assignments.py.
mapfile -t checked < <(grep -l "NBVAL_CHECK_OUTPUT" $(find "$BUILD/jupyter_execute" -name "*.ipynb" -not -path "*/assignments/student/*" | sort) || true)
t0=$(date +%s)
if [ "${#checked[@]}" -gt 0 ]; then
  # one notebook per worker (pytest-xdist; --dist loadscope keeps a notebook's cells in order in one kernel), each
  # kernel on one thread as in the build (scripts/execute_book.py), so that the outputs compare like with like
  OMP_NUM_THREADS=1 $PY -m pytest -q -p no:cacheprovider -n "${S3REC_TEST_WORKERS:-$(cores)}" --dist loadscope \
    --nbval-lax --nbval-current-env --nbval-cell-timeout=300 "${checked[@]}"
fi
nbval_s=$(( $(date +%s) - t0 ))
echo "nbval OK on ${#checked[@]} notebooks in ${nbval_s} s"

browser_s=0
if [ "$browser" -eq 1 ]; then
  echo "== 3/3 browser test of $BUILD/html (offline, Chromium; screenshots in $BUILD/screenshots)"
  t0=$(date +%s)
  if [ -z "${S3REC_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then bash scripts/install_browser.sh; fi
  # a missing browser or site fails the test instead of skipping it
  S3REC_REQUIRE_BROWSER=1 $PY -m pytest -q -p no:cacheprovider tests/test_site.py
  browser_s=$(( $(date +%s) - t0 ))
fi
echo "book tests passed: build ${build_s} s, nbval ${nbval_s} s, browser ${browser_s} s, total $(( $(date +%s) - t_all )) s"
