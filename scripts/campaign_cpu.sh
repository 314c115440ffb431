#!/usr/bin/env bash
# The paper-scale CPU campaign of results/README.md, in the order that makes a partial campaign useful.
# Run it from a git worktree of a committed state (so edits to the checkout cannot change the code it
# imports), in the background; copy each finished JSON into the checkout's results/ and commit it.
#   git worktree add ../wt HEAD && cd ../wt && nohup bash scripts/campaign_cpu.sh a1 a2 > campaign.log 2>&1 &
# Stages (each resumes and skips what is stored):
#   a1  LastFM Table 2: S3-Rec-released and SASRec, 10 seeds            (about 1 min per run)
#   a2  LastFM Table 2: the other ten models, 3 seeds
#   b   Beauty, Toys_and_Games: S3-Rec-released and SASRec, 3 seeds     (tens of minutes per run)
#   c   LastFM Fig. 5: our pre-training at the authors' schedule (150 epochs, batch 100), fine-tuned from
#       every 10th epoch with 3 seeds                                   (hours)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PAR=${PAR:-2}   # runs at once (one thread each on a 2-core machine: see benchmarks/RESULTS.md)
X="$PY -m s3rec_lite experiment"
for stage in "$@"; do
  echo "== stage $stage: $(date -u +%FT%TZ)"
  case $stage in
    a1) $X table2 --preset paper --datasets LastFM --models S3-Rec-released SASRec --seeds 10 --parallel "$PAR" --quiet ;;
    a2) $X table2 --preset paper --datasets LastFM --models PopRec GRU4Rec Caser BERT4Rec HGN GRU4Rec_F SASRec_F FDSA FM AutoInt \
          --seeds 3 --parallel "$PAR" --quiet ;;
    b)  $X table2 --preset paper --datasets Beauty Toys_and_Games --models S3-Rec-released SASRec --seeds 3 --parallel "$PAR" --quiet ;;
    c)  $X pretrain_epochs --preset official --datasets LastFM --seeds 3 --parallel "$PAR" --quiet ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
echo "== done: $(date -u +%FT%TZ)"
