"""Every file helper of a run in one import (the contract with the runner).

Layout and names: :mod:`.layout`; challenge-format CSVs and official ground truth:
:mod:`.challenge`; ``scores.csv`` / ``results.csv``: :mod:`.tables`; atomic writes: :mod:`.atomic`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write_bytes, atomic_write_text
from ..data.names import challenge_file_name, labels_from_clip_name, normalize_section
from ..scoring.challenge import read_challenge_files, read_ground_truth, write_challenge_files
from .layout import (
    ENSEMBLE,
    RESULTS_FILE,
    RUN_FILE,
    SCORES_FILE,
    backend_dir,
    challenge_dir,
    safe_name,
    scores_table_path,
    trial_dir,
    trial_name,
)
from .tables import (
    RESULTS_COLUMNS,
    SCORES_COLUMNS,
    read_results_table,
    read_scores_table,
    write_results_table,
    write_scores_table,
)

__all__ = [
    "ENSEMBLE",
    "RESULTS_FILE",
    "RUN_FILE",
    "SCORES_FILE",
    "RESULTS_COLUMNS",
    "SCORES_COLUMNS",
    "atomic_write_bytes",
    "atomic_write_text",
    "backend_dir",
    "challenge_dir",
    "challenge_file_name",
    "labels_from_clip_name",
    "normalize_section",
    "read_challenge_files",
    "read_ground_truth",
    "read_results_table",
    "read_scores_table",
    "safe_name",
    "scores_table_path",
    "trial_dir",
    "trial_name",
    "write_challenge_files",
    "write_results_table",
    "write_scores_table",
    "write_trial_outputs",
]


def write_trial_outputs(directory: str | os.PathLike[str], clips: pd.DataFrame) -> list[Path]:
    """What one trial x back-end leaves behind: ``scores.csv`` and the challenge CSVs of all
    splits, in ``directory`` (:func:`backend_dir`); ``clips`` has :data:`SCORES_COLUMNS`.
    """
    out = Path(directory)
    written = write_challenge_files(out, clips)
    written.append(write_scores_table(out / SCORES_FILE, clips))
    return written
