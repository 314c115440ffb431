#!/usr/bin/env bash
# The CPU speed measurements of benchmarks/RESULTS.md in one go. Run on a quiet machine (nothing else on the cores):
#   AUTHORS=/path/to/CIKM2020-S3Rec [OLD=/path/to/an/older/checkout] bash benchmarks/cpu_check.sh
# AUTHORS: the authors' repository (their code is run, never copied here); OLD (optional): an older checkout of this
# repository, whose default fine-tuning run is timed beside today's. Needs S3REC_DATA_DIR (or the data cache).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$PWD/.venv/bin/python}
echo "### $(date -u) commit $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)"
for t in 1 2; do
  echo "## side_by_side, $t thread(s)"
  $PY benchmarks/side_by_side.py --authors "$AUTHORS" --steps 20 --threads "$t" 2>&1 | tail -n 7
done
echo "## speed.py: packed, packed + bf16, one thread"
$PY benchmarks/speed.py --datasets LastFM Beauty --steps 20 --packed --threads 1 --device cpu 2>&1 | tail -n 2
$PY benchmarks/speed.py --datasets LastFM Beauty --steps 20 --packed --bf16 --threads 1 --device cpu 2>&1 | tail -n 2
echo "## LastFM: a whole fine-tuning run of the released checkpoint, seed 42, one thread (process start to exit)"
ft() { /usr/bin/time -f "$1: %e s" "$PY" -m s3rec_lite finetune --dataset LastFM --preset official \
         --model S3-Rec-released --seed 42 --quiet --out "$2" "${@:3}" 2>&1 | tail -n 1
       "$PY" -c "import json; print('  test NDCG@10', round(json.load(open('$2/results.json'))['test']['NDCG@10'], 5))"; }
out=$(mktemp -d)
if [ -n "${OLD:-}" ]; then (cd "$OLD" && OMP_NUM_THREADS=1 ft "older checkout $(git rev-parse --short HEAD)" "$out/old"); fi
ft "default flags" "$out/default" --threads 1
ft "packed_finetuning" "$out/packed" --threads 1 --set packed_finetuning=true
ft "packed_finetuning + bf16_finetuning" "$out/bf16" --threads 1 --set packed_finetuning=true --set bf16_finetuning=true
echo "## profile of the packed + bf16 step, one thread"
$PY benchmarks/profile_step.py --threads 1 --packed --bf16
echo "### done $(date -u)"
