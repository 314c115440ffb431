#!/usr/bin/env bash
# Create .venv (if missing or stale) and install the pinned requirements and the package (editable).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/pip install -q -r requirements.txt
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
  .venv/bin/python -c "import torch, s3rec_lite; print('torch', torch.__version__, '| s3rec_lite', s3rec_lite.__version__)"
  echo "$want" > "$stamp"
fi
