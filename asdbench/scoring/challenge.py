"""Challenge-format submission files: write, read, validate.

Submission (accepted by the official evaluator): per machine type and section
``anomaly_score_<machine>_section_<XX>_test.csv`` (rows ``<wav>,<score>``) and
``decision_result_<machine>_section_<XX>_test.csv`` (rows ``<wav>,<0|1>``), no header; DCASE2021
files carry the domain in the name (``..._section_<XX>_source_test.csv``). The official ground
truth that scores them is read by :mod:`asdbench.data.ground_truth`.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write_text
from ..data.names import (
    challenge_file_name,
    normalize_section,
    parse_challenge_file_name,
)
from ..errors import DataError

__all__ = ["write_challenge_files", "read_challenge_files"]

PathLike = str | os.PathLike[str]



# ------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------


def _format_score(value: float) -> str:
    return repr(float(value))


def write_challenge_files(directory: PathLike, df: pd.DataFrame) -> list[Path]:
    """Write one score file and one decision file per machine/section of ``df``.

    ``df`` needs columns ``file, machine, section, score``; ``decision`` (0/1) is optional and
    decision files are written only when it is present and complete. Rows are sorted by file
    name; each file is written atomically. Returns the written paths.
    """
    missing = {"file", "machine", "section", "score"} - set(df.columns)
    if missing:
        raise DataError(f"challenge files need columns {sorted(missing)} (writing to {directory})")
    out = Path(directory)
    written: list[Path] = []
    frame = df.copy()
    frame["section"] = frame["section"].map(normalize_section)
    has_decision = "decision" in frame.columns and frame["decision"].notna().all()
    for (machine, section), group in frame.groupby(["machine", "section"], sort=True):
        if "split" in group.columns and group["split"].nunique() > 1:
            raise DataError(
                f"{machine} section {section} has clips of several splits; "
                f"write each split to its own folder (writing to {out})"
            )
        dup = group["file"][group["file"].duplicated()]
        if len(dup):
            raise DataError(f"{machine} section {section}: clip {dup.iloc[0]!r} appears twice")
        group = group.sort_values("file", kind="mergesort")
        if not np.isfinite(group["score"].to_numpy(dtype=float)).all():
            bad = group["file"][~np.isfinite(group["score"].to_numpy(dtype=float))].iloc[0]
            raise DataError(f"{machine} section {section}: score of {bad!r} is not finite")
        lines = [
            f"{f},{_format_score(s)}\n" for f, s in zip(group["file"], group["score"], strict=True)
        ]
        path = out / challenge_file_name("anomaly_score", machine, section)
        written.append(atomic_write_text(path, "".join(lines)))
        if has_decision:
            dec = [f"{f},{int(d)}\n" for f, d in zip(group["file"], group["decision"], strict=True)]
            path = out / challenge_file_name("decision_result", machine, section)
            written.append(atomic_write_text(path, "".join(dec)))
    return written


# ------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------


def _read_two_columns(path: Path) -> list[tuple[str, str, int]]:
    """Rows ``(name, value, line number)`` of a header-less two-column CSV; blank lines skipped."""
    rows: list[tuple[str, str, int]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for lineno, row in enumerate(csv.reader(handle), start=1):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != 2:
                    raise DataError(
                        f"{path}: line {lineno} has {len(row)} fields, expected '<wav file>,<value>'"
                    )
                rows.append((row[0].strip(), row[1].strip(), lineno))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    names = [r[0] for r in rows]
    if len(set(names)) != len(names):
        seen: set[str] = set()
        for name, _, lineno in rows:
            if name in seen:
                raise DataError(f"{path}: clip {name!r} appears twice (line {lineno})")
            seen.add(name)
    return rows


def _float(path: Path, value: str, lineno: int) -> float:
    try:
        x = float(value)
    except ValueError:
        raise DataError(
            f"{path}: line {lineno}: {value!r} is not a number (challenge files have no header)"
        ) from None
    if not math.isfinite(x):
        raise DataError(f"{path}: line {lineno}: score {value!r} is not finite")
    return x


def _binary(path: Path, value: str, lineno: int, meaning: str) -> int:
    x = _float(path, value, lineno)
    if x not in (0.0, 1.0):
        raise DataError(f"{path}: line {lineno}: {meaning} must be 0 or 1, got {value!r}")
    return int(x)


def read_challenge_files(directory: PathLike) -> pd.DataFrame:
    """All challenge files of a folder as one frame.

    Columns: ``file, machine, section, domain`` (None unless the file name carries it),
    ``score`` (float), ``decision`` (float 0/1, NaN where no decision file exists). Sorted by
    machine, section, file. Other files in the folder are ignored.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of challenge-format CSV files")
    scores: dict[tuple[str, str, str | None], Path] = {}
    decisions: dict[tuple[str, str, str | None], Path] = {}
    for path in sorted(folder.iterdir()):
        parsed = parse_challenge_file_name(path.name)
        if parsed is None or not path.is_file():
            continue
        key = (parsed.machine, parsed.section, parsed.domain)
        (scores if parsed.kind == "anomaly_score" else decisions)[key] = path
    if not scores:
        raise DataError(f"{folder}: no anomaly_score_<machine>_section_<XX>_test.csv files found")
    for key, path in decisions.items():
        if key not in scores:
            raise DataError(f"{path}: decision file without a matching anomaly_score file")
    frames = []
    for key, path in sorted(scores.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        machine, section, domain = key
        rows = _read_two_columns(path)
        if not rows:
            raise DataError(f"{path}: file is empty")
        frame = pd.DataFrame(
            {
                "file": [r[0] for r in rows],
                "machine": machine,
                "section": section,
                "domain": domain,
                "score": [_float(path, r[1], r[2]) for r in rows],
            }
        )
        frame["decision"] = np.nan
        if key in decisions:
            dpath = decisions[key]
            drows = _read_two_columns(dpath)
            dmap = {r[0]: _binary(dpath, r[1], r[2], "a decision") for r in drows}
            missing = sorted(set(frame["file"]) - set(dmap))
            extra = sorted(set(dmap) - set(frame["file"]))
            if missing or extra:
                what = (
                    f"lacks {len(missing)} clip(s) of {path.name}, e.g. {missing[0]}"
                    if missing
                    else f"has {len(extra)} clip(s) not in {path.name}, e.g. {extra[0]}"
                )
                raise DataError(f"{dpath}: {what}")
            frame["decision"] = frame["file"].map(dmap).astype(float)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["machine", "section", "file"], kind="mergesort", ignore_index=True)
