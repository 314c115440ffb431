#!/usr/bin/env bash
# One call on a lent GPU machine (no venv: its own Python with torch + CUDA; the package runs from the tree).
# Prepares nothing that needs the network. Copy the data into the repo first (git-ignored), e.g.
#   mkdir -p .device/data && cp -r ../shared/data/s3rec/{Beauty*,LastFM*,checkpoints} .device/data/
# then run with carry=[".device"]:  bash benchmarks/gpu_check.sh
set -uo pipefail
export PYTHONPATH=. PYTHONUNBUFFERED=1 S3REC_DATA_DIR=${S3REC_DATA_DIR:-.device/data} S3REC_CACHE_DIR=/tmp/s3rec-cache
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
# 1. speed, fast path and plain path, Beauty and LastFM
python benchmarks/speed.py --device cuda --datasets Beauty LastFM --steps 100 2>&1 | tee "$OUT/speed_fast.md"
python benchmarks/speed.py --device cuda --datasets Beauty --steps 50 --no-fast 2>&1 | tee "$OUT/speed_plain.md"
# 2. the authors' checkpoint fine-tuned one epoch on the GPU (their log: 0.3427)
python -m s3rec_lite finetune --dataset Beauty --checkpoint .device/data/checkpoints/Beauty-epochs-150.pt \
  --epochs 1 --device cuda --quiet --out "$OUT/ft_beauty" 2>&1 | tail -1 | tee "$OUT/ft_beauty.json"
# 3. a tiny reproduction on the GPU
python -m s3rec_lite reproduce --dataset LastFM --preset tiny --device cuda --quiet --out "$OUT/tiny" 2>&1 | tail -1
