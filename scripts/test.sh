#!/usr/bin/env bash
# The test command: set up .venv, run the package tests, then build the book and test it
# (site build with warnings as errors, nbval over the notebooks, a headless-Chromium test of the site).
#   bash scripts/test.sh               everything; installs Chromium for the browser test if it is missing
#                                      (scripts/install_browser.sh: apt-get, as root or with sudo), and stops
#                                      with an error before testing anything if it cannot
#   bash scripts/test.sh --no-browser  everything but the browser test (say so when you report the results)
#   bash scripts/test.sh --no-book     the package tests only
# Any other argument goes to pytest (package tests). S3REC_CHROMIUM=/path/to/chromium uses another Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
book=1
browser=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-book) book=0; shift ;;
    --no-browser) browser=0; shift ;;
    *) break ;;
  esac
done
chromium="${S3REC_CHROMIUM:-/usr/bin/chromium}"

# The browser first: a missing browser is said at once, not after an hour of other tests.
if [ "$book" = 1 ] && [ "$browser" = 1 ] && [ ! -x "$chromium" ]; then
  [ -z "${S3REC_CHROMIUM:-}" ] && echo "== Chromium is missing: installing it for the browser test (scripts/install_browser.sh)"
  if [ -n "${S3REC_CHROMIUM:-}" ] || ! bash scripts/install_browser.sh; then
    cat >&2 <<EOF

################################################################################################
#  NO BROWSER: the browser test of the book (tests/test_site.py) cannot run.
#  $chromium does not exist and could not be installed (scripts/install_browser.sh needs
#  apt-get and root or sudo). Either install Chromium (Debian/Ubuntu: apt-get install chromium)
#  or point S3REC_CHROMIUM at one, or skip that test explicitly:
#      bash scripts/test.sh --no-browser
################################################################################################
EOF
    exit 3
  fi
fi

bash scripts/setup.sh
export S3REC_DATA_DIR="${S3REC_DATA_DIR:-$(cd .. && pwd)/shared/data/s3rec}"
export S3REC_MODE="${S3REC_MODE:-fast}"
t0=$(date +%s)
# One pytest worker per core (pytest-xdist), a test file per worker (its module fixtures are built once);
# S3REC_TEST_WORKERS=0 runs them in this process, one after the other. The slowest tests are listed at the end.
workers="${S3REC_TEST_WORKERS:-$(.venv/bin/python -c "import os; print(len(os.sched_getaffinity(0)))")}"
.venv/bin/python -m pytest -q tests --ignore=tests/test_site.py -n "$workers" --dist loadfile --durations=12 "$@"
echo "package tests: $(( $(date +%s) - t0 )) s"
if [ "$book" = 1 ] && [ -f scripts/test_book.sh ]; then
  t1=$(date +%s)
  if [ "$browser" = 1 ]; then
    bash scripts/test_book.sh
  else
    bash scripts/test_book.sh --no-browser
    echo "WARNING: the browser test of the site was skipped (--no-browser)" >&2
  fi
  echo "book tests: $(( $(date +%s) - t1 )) s"
fi
