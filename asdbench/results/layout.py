"""Where a run keeps its per-trial outputs (the one layout the runner, compare and plot share).

::

    <run>/run.json
    <run>/results.csv
    <run>/<system>/seed-<k>/                     weights etc. (the runner's business)
    <run>/<system>/seed-<k>/<backend>/scores.csv per-clip test scores of all splits
    <run>/<system>/seed-<k>/<backend>/anomaly_score_<machine>_section_<XX>_test.csv
    <run>/<system>/seed-<k>/<backend>/decision_result_<machine>_section_<XX>_test.csv
    <run>/<system>/ensemble/<backend>/...        the same for the ensemble

The back-end level is always present, even with a single back-end, so paths never change with
the number of back-ends. The challenge CSVs of all splits share the back-end folder: dev and eval
never share a machine type/section in DCASE 2020-2025 nor in the synthetic data, and the
official evaluator (like ``asdbench evaluate --ground-truth``) only reads the files its ground
truth names, so the folder is a valid eval submission as is. A collision is an error when the
files are written. ``<system>`` and ``<backend>`` pass through :func:`safe_name`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "RESULTS_FILE",
    "RUN_FILE",
    "SCORES_FILE",
    "ENSEMBLE",
    "safe_name",
    "trial_name",
    "trial_dir",
    "backend_dir",
    "challenge_dir",
    "scores_table_path",
]

RESULTS_FILE = "results.csv"
RUN_FILE = "run.json"
SCORES_FILE = "scores.csv"
ENSEMBLE = "ensemble"

PathLike = str | os.PathLike[str]


def safe_name(name: str) -> str:
    """A folder name for a system spec or back-end: letters, digits and ``+-._`` are kept,
    anything else becomes ``_`` (``statex+featex`` stays, ``featex(p=0.3)`` -> ``featex_p_0.3_``).
    """
    text = "".join(ch if ch.isalnum() or ch in "+-._" else "_" for ch in str(name))
    if text in ("", ".", ".."):
        raise ValueError(f"cannot use {name!r} as a folder name")
    return text


def trial_name(seed: int | str) -> str:
    """``seed-<k>`` for a trained seed, ``ensemble`` for the ensemble of the seeds."""
    if str(seed) == ENSEMBLE:
        return ENSEMBLE
    try:
        return f"seed-{int(seed)}"
    except (TypeError, ValueError):
        raise ValueError(f"seed must be an integer or {ENSEMBLE!r}, got {seed!r}") from None


def trial_dir(run_dir: PathLike, system: str, seed: int | str) -> Path:
    return Path(run_dir) / safe_name(system) / trial_name(seed)


def backend_dir(run_dir: PathLike, system: str, seed: int | str, backend: str) -> Path:
    return trial_dir(run_dir, system, seed) / safe_name(backend)


def challenge_dir(run_dir: PathLike, system: str, seed: int | str, backend: str) -> Path:
    """The challenge CSVs (all splits) live in the back-end folder itself."""
    return backend_dir(run_dir, system, seed, backend)


def scores_table_path(run_dir: PathLike, system: str, seed: int | str, backend: str) -> Path:
    return backend_dir(run_dir, system, seed, backend) / SCORES_FILE
