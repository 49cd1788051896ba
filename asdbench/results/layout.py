"""Every path and file name of a run directory: the one module that spells them.

::

    <run>/run.json                               the run (results.records.RunRecord)
    <run>/results.csv                            every metric row of every trial and ensemble
    <run>/dataset.json                           the clips the run started on (resume checks them)
    <run>/skipped-files.txt                      clips left out (undecodable, too short), if any
    <run>/plots/                                 ``asdbench plot`` (default folder)
    <run>/tensorboard/<system>/seed-<k>/         ``--tensorboard`` event files
    <run>/<system>/seed-<k>/trial.json           the trial (results.records.TrialRecord), written last
    <run>/<system>/seed-<k>/checkpoint.pt        while training, per epoch (removed when done)
    <run>/<system>/seed-<k>/history.csv          one row per epoch
    <run>/<system>/seed-<k>/weights.pt           the embedder's state_dict
    <run>/<system>/seed-<k>/embeddings.npz       train / test embeddings, indexed by embeddings.csv
    <run>/<system>/seed-<k>/worker.json|.log     Ray only: where the trial ran, its log
    <run>/<system>/seed-<k>/progress.json        Ray only: the trial's last reported phase
    <run>/<system>/seed-<k>/<backend>/scores.csv per-clip test scores of all splits
    <run>/<system>/seed-<k>/<backend>/train_scores.csv, metrics.csv, backend.json + backend.npz
    <run>/<system>/seed-<k>/<backend>/anomaly_score_<machine>_section_<XX>_test.csv
    <run>/<system>/seed-<k>/<backend>/decision_result_<machine>_section_<XX>_test.csv
    <run>/<system>/ensemble/<backend>/...        the same for the ensemble of the seeds

The back-end level is always present, even with a single back-end, so paths never change with
the number of back-ends. The challenge CSVs of all splits share the back-end folder: dev and eval
never share a machine type/section in DCASE 2020-2025 nor in the synthetic data, and the
official evaluator (like ``asdbench evaluate --ground-truth``) only reads the files its ground
truth names, so the folder is a valid eval submission as is. A collision is an error when the
files are written. ``<system>`` and ``<backend>`` pass through :func:`safe_name`. The challenge
file names themselves are DCASE's, spelled in :mod:`asdbench.data.names`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "RUN_FILE",
    "RESULTS_FILE",
    "DATASET_FILE",
    "SKIPPED_FILES",
    "PLOTS_DIR",
    "TENSORBOARD_DIR",
    "TRIAL_FILE",
    "CHECKPOINT_FILE",
    "CORRUPT_SUFFIX",
    "HISTORY_FILE",
    "WEIGHTS_FILE",
    "EMBEDDINGS_FILE",
    "EMBEDDINGS_INDEX",
    "WORKER_FILE",
    "WORKER_LOG",
    "PROGRESS_FILE",
    "SCORES_FILE",
    "TRAIN_SCORES_FILE",
    "METRICS_FILE",
    "BACKEND_STATE_FILE",
    "BACKEND_ARRAYS_FILE",
    "ENSEMBLE",
    "safe_name",
    "trial_name",
    "trial_dir",
    "backend_dir",
    "scores_table_path",
    "tensorboard_dir",
]

# run level
RUN_FILE = "run.json"
RESULTS_FILE = "results.csv"
DATASET_FILE = "dataset.json"
SKIPPED_FILES = "skipped-files.txt"
PLOTS_DIR = "plots"
TENSORBOARD_DIR = "tensorboard"
# trial level
TRIAL_FILE = "trial.json"
CHECKPOINT_FILE = "checkpoint.pt"
CORRUPT_SUFFIX = ".corrupt"  # a checkpoint that could not be loaded is moved aside with this suffix
HISTORY_FILE = "history.csv"
WEIGHTS_FILE = "weights.pt"
EMBEDDINGS_FILE = "embeddings.npz"
EMBEDDINGS_INDEX = "embeddings.csv"
WORKER_FILE = "worker.json"
WORKER_LOG = "worker.log"
PROGRESS_FILE = "progress.json"
# back-end level
SCORES_FILE = "scores.csv"
TRAIN_SCORES_FILE = "train_scores.csv"
METRICS_FILE = "metrics.csv"
BACKEND_STATE_FILE = "backend.json"
BACKEND_ARRAYS_FILE = "backend.npz"
ENSEMBLE = "ensemble"  # the trial folder of a system's ensemble

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


def scores_table_path(run_dir: PathLike, system: str, seed: int | str, backend: str) -> Path:
    return backend_dir(run_dir, system, seed, backend) / SCORES_FILE


def tensorboard_dir(run_dir: PathLike, system: str, seed: int | str) -> Path:
    return Path(run_dir) / TENSORBOARD_DIR / safe_name(system) / trial_name(seed)
