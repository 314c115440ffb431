#!/usr/bin/env bash
# The main job: set up .venv, then pre-train + fine-tune + test S3-Rec.
# Usage: bash scripts/reproduce.sh [DATASET] [extra options]   (default: LastFM with the tiny preset
# if the data are at hand, else the built-in synthetic dataset).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export S3REC_DATA_DIR="${S3REC_DATA_DIR:-$(cd .. && pwd)/shared/data/s3rec}"
dataset=${1:-}
if [ -z "$dataset" ]; then
  if [ -f "$S3REC_DATA_DIR/LastFM.txt" ] || [ -f data/LastFM.txt ]; then dataset=LastFM; else
    dataset=synthetic
    echo "No datasets found: running on the built-in synthetic data. Get the real ones with"
    echo "  .venv/bin/python -m s3rec_lite download    (or set S3REC_DATA_DIR to a local copy)"
  fi
fi
shift || true
exec .venv/bin/python -m s3rec_lite reproduce --dataset "$dataset" --preset tiny "$@"
