#!/usr/bin/env bash
# Set up asdbench on a fresh machine: a virtual environment in .venv with the CPU build of
# PyTorch, asdbench itself, the paper's SSL strategies (plugins/asdbench-ssl) and the example
# third-party plugin (plugins/asdbench-pitchtime), plus the test tools and Ray (the optional
# distributed executor, ~8 s / 240 MB; CI tests it on a local Ray instance), and jemalloc where
# it can (see below).
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

# jemalloc (optional, used by the asdbench command when present; tcmalloc works too): at the paper
# preset ~1.2 GB less peak memory than glibc's malloc at the same speed (asdbench/allocator.py,
# docs/scaling.md). Installed from Debian/Ubuntu's packages when this script runs as root with
# apt-get (ASDBENCH_NO_APT=1 skips it).
preferred_allocator() { $VENV/bin/python -c "from asdbench.allocator import find_preferred; print(find_preferred() or '')"; }
ALLOCATOR=$(preferred_allocator)
if [ -z "$ALLOCATOR" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -z "${ASDBENCH_NO_APT:-}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq libjemalloc2 >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libjemalloc2 >/dev/null 2>&1; } \
      || true
    ALLOCATOR=$(preferred_allocator)
  fi
  [ -n "$ALLOCATOR" ] || echo "note: neither jemalloc nor tcmalloc found; asdbench uses the C library's malloc" \
    "(~1.5x the peak memory). Install libjemalloc2 (Debian/Ubuntu) or jemalloc to lower it."
fi
echo "asdbench installed in $VENV ($($VENV/bin/python -c 'import torch; print("torch", torch.__version__)'), allocator: ${ALLOCATOR:-system malloc})"
