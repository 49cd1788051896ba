#!/usr/bin/env bash
# Set up asdbench on a fresh machine: a virtual environment in .venv with the CPU build of
# PyTorch, asdbench itself, the paper's SSL strategies (plugins/asdbench-ssl) and the example
# third-party plugin (plugins/asdbench-pitchtime), plus the test tools and Ray (the optional
# distributed executor, ~8 s / 240 MB; CI tests it on a local Ray instance).
#
# PyTorch: a bare "torch" requirement can make pip download a multi-GB CUDA build. We install the
# pinned CPU build first (ASDBENCH_TORCH overrides the requirement, e.g. for a CUDA machine:
# ASDBENCH_TORCH="torch" bash scripts/bootstrap.sh); asdbench's own "torch>=2.2" is then satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${ASDBENCH_VENV:-.venv}"
TORCH_REQ="${ASDBENCH_TORCH:-torch==2.13.0}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip
$VENV/bin/python -c "import torch" 2>/dev/null || $PIP install --quiet "$TORCH_REQ"
$PIP install --quiet -e ".[test,plot,resample,ray]" -e plugins/asdbench-ssl -e plugins/asdbench-pitchtime
echo "asdbench installed in $VENV ($($VENV/bin/python -c 'import torch; print("torch", torch.__version__)'))"
