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
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from ..errors import DataError
from .names import parse_name

KINDS = ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes")
_FILE = re.compile(r"^ground_truth_(?P<machine>.+)_section_(?P<section>\d\d)(?:_(?P<domain>source|target))?_test\.csv$")

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


def _binary(path: Path, value: str, names: tuple[str, str]) -> str:
    if value.strip() not in ("0", "1"):
        raise DataError(f"{path}: value {value!r} is not 0 or 1")
    return names[int(value.strip())]


def _rows(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ground-truth file ({exc})") from exc


def _read_table(gt: GroundTruth, kind: str, path: Path) -> None:
    match = _FILE.match(path.name)
    if match is None:
        return
    machine, section, domain = match["machine"], match["section"], match["domain"]
    for row in _rows(path):
        if len(row) < 2:
            raise DataError(f"{path}: row {row!r} does not have two columns")
        key = (machine, section, PurePath(row[0].strip()).name)
        if kind == "ground_truth_data":
            gt.labels[key] = _binary(path, row[1], ("normal", "anomaly"))
            if domain is not None:
                gt.domains[key] = domain
        elif kind == "ground_truth_domain":
            gt.domains[key] = _binary(path, row[1], ("source", "target"))
        else:
            gt.attributes[key] = row[1].strip()
    gt.files.append(path)


def _read_2020_list(gt: GroundTruth, path: Path) -> None:
    machine = None
    for row in _rows(path):
        if len(row) == 1:
            machine = row[0].strip()
            continue
        if machine is None or len(row) < 3:
            raise DataError(f"{path}: expected a machine-type line, then '<file>,<original name>,<0|1>' lines")
        name = PurePath(row[0].strip()).name
        section = parse_name(name).section
        gt.labels[(machine, section, name)] = _binary(path, row[2], ("normal", "anomaly"))
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
