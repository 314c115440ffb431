#!/usr/bin/env bash
# One ~10-minute GPU slot of the paper-scale experiments, resumable: run it again (in a later session, on
# any CUDA machine) and it carries on where the last slot stopped. Results land in results/<preset>/ (commit
# them); checkpoints and training state in runs/ (git-ignored: carry runs/ to the next machine to resume a
# run mid-way, otherwise only the finished runs count).
#
#   bash scripts/gpu_slot.sh campaign             # the CPU campaign's queue (results/campaign.tsv), 8 runs at once
#   bash scripts/gpu_slot.sh                      # table2, paper preset, 3 seeds, 4 runs at once
#   bash scripts/gpu_slot.sh ablation             # another experiment
#   SLOT_SECONDS=3000 PARALLEL=6 bash scripts/gpu_slot.sh table2 --datasets LastFM Beauty
#
# ``campaign`` runs what is left of the queue in its order on the GPU's own fastest path (scripts/campaign.py
# run --device cuda), stores GPU runs beside the CPU ones (seed<S>.cuda.json) and, where OUT is set (the lent
# machine's folder that comes back), copies every result file the slot wrote there under results/, to be
# committed from the checkout. On the device tool: copy the data into data/ (git-ignored) first, then
#   run(command="OUT=$OUT bash scripts/gpu_slot.sh campaign", carry=["data"], timeout_s=600)
#
# Environment: S3REC_DATA_DIR (folder with the authors' NAME.txt / NAME_item2attributes.json files; default:
# data/ of this checkout if it holds them, else ../shared/data/s3rec, else they are downloaded), PRESET
# (paper), SEEDS (3), PARALLEL (4), SLOT_SECONDS (540: stop in time to copy results back), PYTHON (python).
set -uo pipefail
cd "$(dirname "$0")/.."

EXPERIMENT="${1:-table2}"
shift || true
PRESET="${PRESET:-paper}"
SEEDS="${SEEDS:-3}"
PARALLEL="${PARALLEL:-4}"
SLOT_SECONDS="${SLOT_SECONDS:-540}"
PYTHON="${PYTHON:-python}"
if [ -z "${S3REC_DATA_DIR:-}" ]; then
  for d in data ../shared/data/s3rec shared/data/s3rec; do
    if [ -f "$d/LastFM.txt" ]; then export S3REC_DATA_DIR="$(cd "$d" && pwd)"; break; fi
  done
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_slot.sh: no CUDA device visible')" || exit 2
"$PYTHON" -c "import torch; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"

if [ "$EXPERIMENT" = "campaign" ]; then
  marker=$(mktemp); sleep 1
  echo "data: ${S3REC_DATA_DIR:-<download>} | the campaign's queue, ${PARALLEL_CAMPAIGN:-8} at once, slot ${SLOT_SECONDS}s"
  # --seconds stops every worker in time (each keeps its last finished epoch); the queue resumes next slot
  "$PYTHON" scripts/campaign.py run --device cuda --parallel "${PARALLEL_CAMPAIGN:-8}" --seconds "$SLOT_SECONDS" \
    --results results --runs "${RUNS:-runs}" "$@"
  rc=$?
  if [ -n "${OUT:-}" ]; then  # what this slot stored comes back with the lent machine's OUT folder
    find results -name '*.json' -newer "$marker" -print | while read -r f; do
      mkdir -p "$OUT/$(dirname "$f")" && cp "$f" "$OUT/$f"
    done
    echo "gpu_slot.sh: $(find "$OUT/results" -name '*.json' 2>/dev/null | wc -l) result file(s) copied to \$OUT/results"
  fi
  rm -f "$marker"
  exit $rc
fi
echo "data: ${S3REC_DATA_DIR:-<download>} | $EXPERIMENT, preset $PRESET, $SEEDS seeds, $PARALLEL at once, slot ${SLOT_SECONDS}s"

# SIGTERM at the end of the slot reaches every worker (same process group); each keeps its last finished epoch
# (not SIGINT: a process started in the background by a non-interactive shell ignores it).
timeout --signal=TERM --kill-after=30 "$SLOT_SECONDS" \
  "$PYTHON" -m s3rec_lite experiment "$EXPERIMENT" --preset "$PRESET" --seeds "$SEEDS" --device cuda \
  --parallel "$PARALLEL" "$@"
rc=$?
case $rc in
  0) echo "gpu_slot.sh: $EXPERIMENT complete" ;;
  124|130) echo "gpu_slot.sh: slot over; run the same command again to continue" ;;
  *) echo "gpu_slot.sh: the runner failed (exit $rc); the logs are in runs/$PRESET/<run>/log.txt" ;;
esac
"$PYTHON" -m s3rec_lite experiment "$EXPERIMENT" --preset "$PRESET" --seeds "$SEEDS" --list "$@" | tail -n 1
[ $rc -eq 124 ] || [ $rc -eq 130 ] && exit 0
exit $rc
