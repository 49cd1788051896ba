"""The two tidy CSV tables of a run: per-clip scores (``scores.csv``) and metrics (``results.csv``).

``scores.csv`` (one per trial and back-end): ``file,machine,section,split,domain,label,score,decision``
with label 0/1 and domain empty where unknown (eval without ground truth) and decision 0/1
(empty where none was made). Extra columns of the caller (e.g. the runner's ``group``) follow
these, and are read back as text.

``results.csv`` (one per run): ``system,seed,backend,split,machine,section,domain,metric,value``
where ``seed`` is an integer or ``ensemble`` and ``value`` a float (``nan`` where undefined).
Both are written atomically with full float precision.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write_text
from ..data.names import normalize_section
from ..errors import DataError
from .layout import METRICS_FILE, SCORES_FILE, TRAIN_SCORES_FILE

__all__ = [
    "SCORES_COLUMNS",
    "RESULTS_COLUMNS",
    "METRIC_COLUMNS",
    "write_scores_table",
    "read_scores_table",
    "write_results_table",
    "read_results_table",
]

PathLike = str | os.PathLike[str]

SCORES_COLUMNS = ("file", "machine", "section", "split", "domain", "label", "score", "decision")
METRIC_COLUMNS = ("split", "machine", "section", "domain", "metric", "value")
RESULTS_COLUMNS = ("system", "seed", "backend") + METRIC_COLUMNS

_RESULT_TEXT = [c for c in RESULTS_COLUMNS if c != "value"]


def _to_csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", float_format=None, na_rep="")
    return buffer.getvalue()


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {', '.join(missing)}")


def write_scores_table(path: PathLike, df: pd.DataFrame) -> Path:
    """Write per-clip scores; ``label`` and ``decision`` may be missing (written empty)."""
    frame = df.copy()
    for optional in ("label", "decision"):
        if optional not in frame.columns:
            frame[optional] = pd.NA
    _require(frame, SCORES_COLUMNS, f"scores table {path}")
    extra = [c for c in frame.columns if c not in SCORES_COLUMNS]
    frame = frame.loc[:, list(SCORES_COLUMNS) + extra]
    frame["section"] = frame["section"].map(normalize_section)
    for col in ("label", "decision"):
        frame[col] = pd.to_numeric(frame[col]).astype("Int64")
    frame = frame.sort_values(["split", "machine", "section", "file"], kind="mergesort")
    return atomic_write_text(path, _to_csv(frame))


def read_scores_table(path: PathLike) -> pd.DataFrame:
    """Read a ``scores.csv``: text columns stay text (sections keep their leading zero), an
    unknown domain is NaN, ``label``/``decision`` are nullable integers, ``score`` float."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: scores table not found")
    try:
        header = pd.read_csv(p, nrows=0).columns
        numeric = {"label", "score", "decision"}
        frame = pd.read_csv(
            p,
            dtype={c: str for c in header if c not in numeric},
            keep_default_na=False,
            na_values={
                "domain": [""],
                "label": [""],
                "score": ["", "nan", "NaN"],
                "decision": [""],
            },
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{p}: not a valid scores table ({exc})") from exc
    _require(frame, SCORES_COLUMNS, str(p))
    try:
        frame["label"] = pd.to_numeric(frame["label"]).astype("Int64")
        frame["decision"] = pd.to_numeric(frame["decision"]).astype("Int64")
        frame["score"] = frame["score"].astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{p}: label/score/decision must be numeric ({exc})") from exc
    extra = [c for c in frame.columns if c not in SCORES_COLUMNS]
    return frame.loc[:, list(SCORES_COLUMNS) + extra]


def write_results_table(path: PathLike, df: pd.DataFrame) -> Path:
    """Write ``results.csv`` with exactly :data:`RESULTS_COLUMNS`, in that order."""
    _require(df, RESULTS_COLUMNS, f"results table {path}")
    frame = df.loc[:, list(RESULTS_COLUMNS)].copy()
    frame["value"] = frame["value"].astype(float)
    return atomic_write_text(path, _to_csv(frame))


def read_results_table(path: PathLike) -> pd.DataFrame:
    """Read a ``results.csv``: every column text except ``value`` (float, NaN where empty/nan)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: results table not found")
    try:
        frame = pd.read_csv(
            p,
            dtype={c: str for c in _RESULT_TEXT},
            keep_default_na=False,
            na_values={"value": ["", "nan", "NaN"]},
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{p}: not a valid results table ({exc})") from exc
    _require(frame, RESULTS_COLUMNS, str(p))
    try:
        frame["value"] = frame["value"].astype(float)
    except ValueError as exc:
        raise DataError(f"{p}: column 'value' is not numeric ({exc})") from exc
    return frame.loc[:, list(RESULTS_COLUMNS)]


def write_metrics_table(path: PathLike, df: pd.DataFrame) -> Path:
    """A back-end folder's ``metrics.csv``: the metric rows of one set of scores."""
    return atomic_write_text(path, _to_csv(df))


def read_metrics_table(path: PathLike) -> pd.DataFrame | None:
    """``metrics.csv`` (sections as text); None when it is missing or empty (nothing scored)."""
    p = Path(path)
    if not p.is_file() or p.stat().st_size <= 1:
        return None
    return pd.read_csv(p, dtype={"section": str})


def write_scored(directory: PathLike, table: pd.DataFrame, train: pd.DataFrame | None = None,
                 metrics: pd.DataFrame | None = None) -> list[Path]:
    """Everything one set of scores leaves in a back-end folder (a trial's or an ensemble's): the
    challenge CSVs of all splits and ``scores.csv`` (``table`` has :data:`SCORES_COLUMNS`), then
    ``train_scores.csv`` and ``metrics.csv`` where given. Returns the files written."""
    from ..scoring.challenge import write_challenge_files

    out = Path(directory)
    written = write_challenge_files(out, table)
    written.append(write_scores_table(out / SCORES_FILE, table))
    if train is not None:
        written.append(write_scores_table(out / TRAIN_SCORES_FILE, train))
    if metrics is not None:
        written.append(write_metrics_table(out / METRICS_FILE, metrics))
    return written
