#!/usr/bin/env bash
# The test command: set up .venv, run the package tests, then build the book and test it
# (site build with warnings as errors, nbval over the notebooks, a headless-Chromium test of the site).
#   bash scripts/test.sh            everything
#   bash scripts/test.sh --no-book  the package tests only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export S3REC_DATA_DIR="${S3REC_DATA_DIR:-$(cd .. && pwd)/shared/data/s3rec}"
export S3REC_MODE="${S3REC_MODE:-fast}"
book=1
if [ "${1:-}" = "--no-book" ]; then book=0; shift; fi
t0=$(date +%s)
.venv/bin/python -m pytest -q tests --ignore=tests/test_site.py "$@"
echo "package tests: $(( $(date +%s) - t0 )) s"
if [ "$book" = 1 ] && [ -f scripts/test_book.sh ]; then
  t1=$(date +%s)
  bash scripts/test_book.sh
  echo "book tests: $(( $(date +%s) - t1 )) s"
fi
