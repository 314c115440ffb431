#!/usr/bin/env bash
# The main thing: set up .venv, then build the book website. Every chapter is executed (fast mode: tiny runs
# on this CPU, stored results for the results chapters). Open _build/html/index.html in a browser.
#   S3REC_MODE=full bash scripts/build_book.sh     re-runs the real experiments (meant for a GPU)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export S3REC_DATA_DIR="${S3REC_DATA_DIR:-$(cd .. && pwd)/shared/data/s3rec}"
export S3REC_MODE="${S3REC_MODE:-fast}"
# the chapters not in the build's cache yet run on every core first (each on one thread); the build then renders them
.venv/bin/python scripts/execute_book.py --build _build 2> >(grep -v "Kernel is running over TCP" >&2) \
  || echo "== the chapters' pre-execution stopped; the build executes what is not cached"
build_env=()
[ "$S3REC_MODE" = full ] || build_env=(env OMP_NUM_THREADS=1)  # a chapter the build runs itself: one thread too
"${build_env[@]}" .venv/bin/jupyter-book build . -W -n --keep-going
echo "The book: file://$(pwd)/_build/html/index.html"
