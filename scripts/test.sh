#!/usr/bin/env bash
# The test command: set up .venv, then run the package tests (and the book tests once the book exists).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export S3REC_DATA_DIR="${S3REC_DATA_DIR:-$(cd .. && pwd)/shared/data/s3rec}"
.venv/bin/python -m pytest -q tests "$@"
