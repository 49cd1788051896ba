"""Names of challenge files and of test clips: parse them from the fixed prefix/suffix.

Machine names are taken as everything between the fixed prefix and ``_section_<XX>``, so a
machine name with underscores still parses. Clip labels are read from the *file name* only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DATASET_VERSIONS = ("2020", "2021", "2022", "2023", "2024", "2025")
"""The DCASE Task 2 editions the metrics know (each has its official-score rule)."""

__all__ = [
    "ClipLabels",
    "SubmissionFileName",
    "challenge_file_name",
    "parse_challenge_file_name",
    "parse_ground_truth_file_name",
    "labels_from_clip_name",
    "normalize_section",
]

KINDS = ("anomaly_score", "decision_result")

# anomaly_score_<machine>_section_<XX>_test.csv; DCASE2021 adds _source/_target before _test.
_CHALLENGE = re.compile(
    r"^(?P<kind>anomaly_score|decision_result)_(?P<machine>.+)_section_(?P<section>\d+)"
    r"(?:_(?P<domain>source|target))?_test\.csv$"
)
_GROUND_TRUTH = re.compile(
    r"^ground_truth_(?P<machine>.+)_section_(?P<section>\d+)"
    r"(?:_(?P<domain>source|target))?_test\.csv$"
)
# dev test clips, DCASE2021-2025: section_00_target_test_anomaly_0001_<attr>.wav
_DEV_CLIP = re.compile(
    r"^section_(?P<section>\d+)_(?P<domain>source|target)_test_(?P<label>normal|anomaly)_"
)
# dev test clips, DCASE2020: anomaly_id_00_00000000.wav (no domains: all source)
_DEV_CLIP_2020 = re.compile(r"^(?P<label>normal|anomaly)_id_(?P<section>\d+)_")


@dataclass(frozen=True)
class SubmissionFileName:
    kind: str  # "anomaly_score" or "decision_result"
    machine: str
    section: str
    domain: str | None  # only in DCASE2021 per-domain files


@dataclass(frozen=True)
class ClipLabels:
    section: str
    domain: str
    label: int  # 0 normal, 1 anomaly


def normalize_section(section: object) -> str:
    """Sections are two-digit strings ("00"); accept ints and "section_00" too."""
    text = str(section).strip()
    if text.startswith("section_"):
        text = text[len("section_") :]
    if text.isdigit():
        return text.zfill(2)
    raise ValueError(f"not a section number: {section!r}")


def challenge_file_name(kind: str, machine: str, section: object) -> str:
    """``anomaly_score_<machine>_section_<XX>_test.csv`` (or ``decision_result_...``)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return f"{kind}_{machine}_section_{normalize_section(section)}_test.csv"


def parse_challenge_file_name(name: str) -> SubmissionFileName | None:
    """The parts of a challenge-format file name, or None if the name is not one."""
    m = _CHALLENGE.match(name)
    if not m:
        return None
    return SubmissionFileName(m["kind"], m["machine"], m["section"], m["domain"])


def parse_ground_truth_file_name(name: str) -> tuple[str, str, str | None] | None:
    """(machine, section, domain or None) of ``ground_truth_<machine>_section_<XX>_test.csv``."""
    m = _GROUND_TRUTH.match(name)
    if not m:
        return None
    return m["machine"], m["section"], m["domain"]


def labels_from_clip_name(name: str) -> ClipLabels | None:
    """Section, domain and label of a dev-style test clip name; None if the name hides them."""
    m = _DEV_CLIP.match(name)
    if m:
        return ClipLabels(m["section"], m["domain"], int(m["label"] == "anomaly"))
    m = _DEV_CLIP_2020.match(name)
    if m:
        return ClipLabels(m["section"], "source", int(m["label"] == "anomaly"))
    return None
