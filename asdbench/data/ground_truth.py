"""Evaluation-set labels that the file names hide, read from the official evaluators' CSV files.

Layouts (DCASE2021-2025 evaluators, ``nttcslab/dcase202X_task2_evaluator``):

* ``ground_truth_data/ground_truth_<machine>_section_<XX>_test.csv``: ``<hidden name>,<0|1>``
  (0 normal, 1 anomaly); DCASE2021 splits it by domain:
  ``ground_truth_<machine>_section_<XX>_<source|target>_test.csv``;
* ``ground_truth_domain/...``: ``<hidden name>,<0|1>`` (0 source, 1 target);
* ``ground_truth_attributes/...``: ``<hidden name>,<full name without .wav>``, e.g.
  ``section_00_0000.wav,section_00_target_test_normal_0000_vel_12``;
* DCASE2020: one ``eval_data_list.csv`` with a machine-type line followed by
  ``<hidden name>,<original name>,<0|1>`` lines.

They are looked for in ``root``, ``root/eval_data``, and every sub-folder of ``root`` named
``ground_truth*`` or containing ``evaluator`` (a checkout of the evaluator repository), or in
an explicitly given folder.

One reader serves both uses: loading an evaluation set (:func:`read_ground_truth`, lenient: an
unreadable table becomes a problem line) and scoring a submission (:func:`ground_truth_table`,
strict: every problem is an error naming the file).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ..errors import DataError
from .names import normalize_section, parse_ground_truth_file_name, parse_name

if TYPE_CHECKING:
    import pandas as pd

GT_DATA, GT_DOMAIN, GT_ATTRIBUTES = "ground_truth_data", "ground_truth_domain", "ground_truth_attributes"
KINDS = (GT_DATA, GT_DOMAIN, GT_ATTRIBUTES)

Key = tuple[str, str, str]  # machine, section, file name


@dataclass
class GroundTruth:
    """Hidden fields of evaluation test clips, keyed by (machine, section, file name)."""

    labels: dict[Key, str] = field(default_factory=dict)
    domains: dict[Key, str] = field(default_factory=dict)
    attributes: dict[Key, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.labels or self.domains or self.attributes)


def candidate_folders(root: Path) -> list[Path]:
    """Folders that may contain the ``ground_truth_*`` folders or ``eval_data_list.csv``."""
    bases = [root, root / "eval_data"]
    if root.is_dir():
        for sub in sorted(root.iterdir()):
            if sub.is_dir() and (sub.name.startswith("ground_truth") or "evaluator" in sub.name.lower()):
                bases.append(sub)
    return [b for b in bases if b.is_dir()]


def _binary(path: Path, value: str, names: tuple[str, str], lineno: int) -> str:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number not in (0.0, 1.0):
        raise DataError(f"{path}: line {lineno}: value {value!r} is not 0 or 1 ({names[0]} / {names[1]})")
    return names[int(number)]


def _rows(path: Path) -> list[tuple[list[str], int]]:
    """Non-blank rows with their line numbers."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return [(row, n) for n, row in enumerate(csv.reader(handle), start=1)
                    if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read ground-truth file ({exc})") from exc


def _read_table(gt: GroundTruth, kind: str, path: Path) -> None:
    parsed = parse_ground_truth_file_name(path.name)
    if parsed is None:
        return
    machine, section, domain = parsed[0], normalize_section(parsed[1]), parsed[2]
    rows = _rows(path)
    if not rows:
        raise DataError(f"{path}: file is empty")
    seen: set[str] = set()
    for row, lineno in rows:
        if len(row) < 2:
            raise DataError(f"{path}: line {lineno} does not have two columns")
        name = PurePath(row[0].strip()).name
        if name in seen:
            raise DataError(f"{path}: clip {name!r} appears twice (line {lineno})")
        seen.add(name)
        key = (machine, section, name)
        if kind == GT_DATA:
            gt.labels[key] = _binary(path, row[1], ("normal", "anomaly"), lineno)
            if domain is not None:
                gt.domains[key] = domain
        elif kind == GT_DOMAIN:
            gt.domains[key] = _binary(path, row[1], ("source", "target"), lineno)
        else:
            gt.attributes[key] = row[1].strip()
    gt.files.append(path)


def _read_2020_list(gt: GroundTruth, path: Path) -> None:
    machine = None
    for row, lineno in _rows(path):
        if len(row) == 1:
            machine = row[0].strip()
            continue
        if machine is None or len(row) < 3:
            raise DataError(f"{path}: expected a machine-type line, then '<file>,<original name>,<0|1>' lines")
        name = PurePath(row[0].strip()).name
        section = parse_name(name).section
        gt.labels[(machine, section, name)] = _binary(path, row[2], ("normal", "anomaly"), lineno)
    gt.files.append(path)


def read_ground_truth(folders: list[Path]) -> GroundTruth:
    """All ground-truth tables found in ``folders``; an unreadable table is a problem line."""
    gt = GroundTruth()
    for base in folders:
        tables: list[tuple[str, Path]] = []
        for kind in KINDS:
            folder = base if base.name == kind else base / kind
            if folder.is_dir():
                tables += [(kind, p) for p in sorted(folder.glob("ground_truth_*.csv"))]
        for kind, path in tables:
            try:
                _read_table(gt, kind, path)
            except DataError as exc:
                gt.problems.append(str(exc))
        listing = base / "eval_data_list.csv"
        if listing.is_file():
            try:
                _read_2020_list(gt, listing)
            except DataError as exc:
                gt.problems.append(str(exc))
    return gt


def full_name_fields(key: Key, full_name: str) -> tuple[str | None, str | None, str]:
    """(domain, label, attribute) from a ``ground_truth_attributes`` value; DataError if unparseable."""
    name = full_name if PurePath(full_name).suffix.lower() in (".wav", ".flac") else f"{full_name}.wav"
    try:
        parsed = parse_name(name)
    except DataError as exc:
        raise DataError(f"ground truth for {key[0]}/{key[2]}: {exc}") from exc
    return parsed.domain, parsed.label, parsed.attribute


def _ground_truth_root(directory: Path) -> Path:
    if (directory / GT_DATA).is_dir():
        return directory
    if directory.name == GT_DATA and directory.is_dir():
        return directory.parent
    raise DataError(
        f"{directory}: no {GT_DATA}/ folder found (expected the official evaluator layout "
        f"{GT_DATA}/ground_truth_<machine>_section_<XX>_test.csv + {GT_DOMAIN}/...)"
    )


def ground_truth_table(directory: str | os.PathLike[str]) -> pd.DataFrame:
    """The official evaluator's ground truth in ``directory`` (or its ``ground_truth_data``
    folder) as a frame: ``file, machine, section, domain, label (0/1), original`` (``original``:
    the full dev-style name from ground_truth_attributes, else missing). Strict: anything the
    lenient reader would skip is an error naming the file."""
    import pandas as pd

    root = _ground_truth_root(Path(directory))
    gt = read_ground_truth([root])
    if gt.problems:
        raise DataError(gt.problems[0])
    data_files = [(p, parsed) for p in sorted((root / GT_DATA).iterdir())
                  if p.is_file() and (parsed := parse_ground_truth_file_name(p.name)) is not None]
    if not data_files:
        raise DataError(f"{root / GT_DATA}: no ground_truth_<machine>_section_<XX>_test.csv files")
    for path, (machine, section, named_domain) in data_files:
        if named_domain is not None:
            continue
        dpath = root / GT_DOMAIN / path.name
        if not dpath.is_file():
            raise DataError(f"{dpath}: missing (domain of every clip in {path.name})")
        section = normalize_section(section)
        labelled = {k for k in gt.labels if k[:2] == (machine, section)}
        with_domain = {k for k in gt.domains if k[:2] == (machine, section)}
        if labelled != with_domain:
            raise DataError(f"{dpath}: clips differ from {path.name}, e.g. {sorted(labelled ^ with_domain)[0][2]}")
    keys = sorted(gt.labels)
    original = {k: v if v.endswith(".wav") else f"{v}.wav" for k, v in gt.attributes.items()}
    frame = pd.DataFrame({
        "file": [k[2] for k in keys], "machine": [k[0] for k in keys], "section": [k[1] for k in keys],
        "domain": [gt.domains[k] for k in keys], "label": [int(gt.labels[k] == "anomaly") for k in keys],
        "original": [original.get(k) for k in keys],
    })
    return frame.sort_values(["machine", "section", "file"], kind="mergesort", ignore_index=True)
