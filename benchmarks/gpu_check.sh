#!/usr/bin/env bash
# One call on a lent GPU machine (no venv: its own Python with torch + CUDA; the package runs from the tree).
# Needs no network. Copy the data into the repo first (git-ignored), e.g.
#   mkdir -p .device/data/checkpoints && cp ../shared/data/s3rec/{Beauty,LastFM,Toys_and_Games}* .device/data/ \
#     && cp ../shared/data/s3rec/checkpoints/*.pt .device/data/checkpoints/
# then run with carry=[".device"]:  bash benchmarks/gpu_check.sh      (about 6 minutes on an H100/H200)
# Everything it prints goes to $OUT/gpu_check.md; the stored runs of step 6 to $OUT/results.tgz.
set -uo pipefail
export PYTHONPATH=. PYTHONUNBUFFERED=1 S3REC_DATA_DIR=${S3REC_DATA_DIR:-.device/data} S3REC_CACHE_DIR=/tmp/s3rec-cache
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/gpu_check
PY=${PYTHON:-python3}
DEV=${DEV:-cuda} N=${STEPS:-100}  # DEV=cpu STEPS=2 SLOT_SECONDS=30: a dry run of the script on a CPU
step() { echo; echo "## $* ($(date -u +%T))"; }
{
  step "0. machine"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
  git log --oneline -1 2>/dev/null || true

  step "1. speed, fast path: pre-training (100 batches of 100) and one fine-tuning epoch + validation"
  timeout 120 $PY benchmarks/speed.py --device "$DEV" --datasets Beauty LastFM --steps "$N" 2>&1 | grep -v '^done'

  step "2. speed, plain path (--no-fast), pre-training"
  timeout 45 $PY benchmarks/speed.py --device "$DEV" --datasets Beauty --steps "$((N / 2 + 1))" --no-fast --pretrain-only 2>&1 | grep -v '^done'

  step "2b. speed, default flags + compile_step (torch.compile + CUDA graphs in the training loop), pre-training"
  timeout 150 $PY benchmarks/speed.py --device "$DEV" --datasets Beauty --steps "$N" --warmup 8 --compile --pretrain-only 2>&1 | grep -v '^done'

  step "3. many runs on one GPU: K copies of the Beauty pre-training step at once (300 batches each)"
  for K in 4 8; do
    for i in $(seq "$K"); do
      OMP_NUM_THREADS=1 timeout 90 $PY benchmarks/speed.py --device "$DEV" --datasets Beauty --steps "$((3 * N))" \
        --pretrain-only > "/tmp/gpu_check/k${K}_$i.md" 2>&1 &
    done
    wait
    echo "K=$K: ms/step of each copy, and the samples/s of all copies together:"
    grep -h '| fast |' /tmp/gpu_check/k${K}_*.md | awk -F'|' '{ms=$6+0; sps+=$7; printf "%s ", ms} END {printf "\ntotal samples/s: %.0f\n", sps}'
  done

  step "4. the authors' released Beauty checkpoint, one fine-tuning epoch (their log: validation NDCG@10 0.3427)"
  timeout 90 $PY -m s3rec_lite finetune --dataset Beauty --checkpoint "$S3REC_DATA_DIR/checkpoints/Beauty-epochs-150.pt" \
    --epochs 1 --device "$DEV" --quiet --out /tmp/gpu_check/ft_beauty 2>&1 | tail -n 2

  step "5. torch.compile of the pre-training step (probe)"
  timeout 200 $PY benchmarks/compile_probe.py --device "$DEV" --dataset Beauty --modes default reduce-overhead \
    --steps "$N" 2>&1 | grep -v Warning

  step "6. stored runs on the GPU (beside the CPU ones, *.cuda.json): LastFM Table 2, released checkpoint and SASRec"
  # the slot ends by ${BUDGET:-560} s after the script's start (one device call may run 600 s), 150 s at most
  slot=$(( ${BUDGET:-560} - SECONDS )); slot=$(( slot > ${SLOT_SECONDS:-150} ? ${SLOT_SECONDS:-150} : slot ))
  echo "slot: ${slot} s"
  timeout --signal=INT --kill-after=15 "$(( slot > 20 ? slot : 20 ))" $PY -m s3rec_lite experiment table2 --preset paper \
    --datasets LastFM --models S3-Rec-released SASRec --seeds 3 --device "$DEV" --parallel 6 --quiet \
    2>&1 | tail -n 8
  $PY -m s3rec_lite experiment table2 --preset paper --datasets LastFM --models S3-Rec-released SASRec --seeds 3 \
    --device "$DEV" --list 2>&1 | tail -n 1
  find results -name '*.cuda.json' | tar czf "$OUT/results.tgz" -T - 2>/dev/null
  echo "stored GPU runs: $(find results -name '*.cuda.json' | wc -l)"
  step "done"
} 2>&1 | tee "$OUT/gpu_check.md"
