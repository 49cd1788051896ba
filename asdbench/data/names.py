"""DCASE Task 2 names, parsed and spelled in one place: clip file names, challenge-format file
names and ground-truth file names. Everything is read from the file *name* alone (never the path).

The reference implementation splits the *whole path* on underscores, so a folder name such as
``my_data`` shifts every field; here only ``PurePath(name).name`` is looked at.

Clip names (``<attr>`` = everything after the 6th underscore-separated token, possibly empty):

* DCASE2020: ``normal_id_00_00000000.wav``, ``anomaly_id_02_00000012.wav``; eval test
  ``id_01_00000000.wav`` (label hidden). The machine ID plays the role of the section; the
  subset (train/test) comes from the folder.
* DCASE2021-2025: ``section_00_source_train_normal_0000_<attr>.wav``,
  ``section_00_target_test_anomaly_0001_<attr>.wav``; 2021 test names have no ``<attr>``.
  Hidden eval test names: ``section_03_source_test_0000.wav`` (2021: domain shown, label hidden)
  and ``section_00_0000.wav`` (2022-2025: domain and label hidden).

Challenge files: ``anomaly_score_<machine>_section_<XX>_test.csv`` and
``decision_result_<machine>_section_<XX>_test.csv`` (DCASE2021 adds ``_source``/``_target``
before ``_test``); ground truth: ``ground_truth_<machine>_section_<XX>[_<domain>]_test.csv``.
Machine names are everything between the fixed prefix and ``_section_<XX>``, so a machine name
with underscores still parses.
"""


from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from ..errors import DataError

AUDIO_SUFFIXES = (".wav", ".flac")
DOMAINS = ("source", "target")
SUBSETS = ("train", "test")
LABELS = ("normal", "anomaly")

SCHEME_ID = "id"  # DCASE2020
SCHEME_SECTION = "section"  # DCASE2021 and later


@dataclass(frozen=True)
class ParsedName:
    """The fields one DCASE file name carries; ``None`` where the name does not say."""

    name: str
    scheme: str  # "id" (DCASE2020) or "section" (DCASE2021+)
    section: str  # two digits; the machine ID for DCASE2020
    subset: str | None  # "train" / "test"; None when only the folder says (2020, hidden names)
    domain: str | None  # "source" / "target"; None for 2020 and for hidden 2022+ names
    label: str | None  # "normal" / "anomaly"; None when hidden
    index: str  # the running number as written in the name
    attribute: str  # "" when absent; "noAttributes" is kept as written

    @property
    def hidden(self) -> bool:
        """True for evaluation test names whose label is withheld."""
        return self.label is None

    @property
    def style(self) -> str:
        """Finer naming style, used to tell dataset versions apart.

        ``id`` (2020 labelled), ``id-hidden`` (2020 eval test), ``section`` (labelled),
        ``section-domain`` (2021 eval test: domain shown, label hidden), ``section-hidden``
        (2022+ eval test).
        """
        if self.scheme == SCHEME_ID:
            return "id-hidden" if self.hidden else "id"
        if not self.hidden:
            return "section"
        return "section-domain" if self.domain is not None else "section-hidden"


def _bad(name: str, reason: str) -> DataError:
    return DataError(
        f"{name}: not a DCASE Task 2 file name ({reason}); expected e.g. "
        "section_00_source_train_normal_0000_<attributes>.wav, section_00_0000.wav or normal_id_00_00000000.wav"
    )


def _is_number(token: str) -> bool:
    return token.isascii() and token.isdigit()


def _section(name: str, token: str) -> str:
    if len(token) != 2 or not _is_number(token):
        raise _bad(name, f"section/id {token!r} is not two digits")
    return token


def parse_name(name: str | PurePath) -> ParsedName:
    """Parse one DCASE file name; raises :class:`DataError` naming the file when it does not fit."""
    file_name = PurePath(name).name
    stem, dot, suffix = file_name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in AUDIO_SUFFIXES:
        raise _bad(file_name, "not a .wav or .flac file")
    tokens = stem.split("_")
    first = tokens[0]
    if first in LABELS or first == "id":
        return _parse_id_scheme(file_name, tokens)
    if first == "section":
        return _parse_section_scheme(file_name, tokens)
    raise _bad(file_name, f"starts with {first!r}, not 'section', 'id', 'normal' or 'anomaly'")


def _parse_id_scheme(name: str, tokens: list[str]) -> ParsedName:
    label: str | None = None
    if tokens[0] in LABELS:
        label, tokens = tokens[0], tokens[1:]
    if len(tokens) != 3 or tokens[0] != "id" or not _is_number(tokens[2]):
        raise _bad(name, "DCASE2020 names are [normal|anomaly_]id_<XX>_<NNNNNNNN>")
    section = _section(name, tokens[1])
    return ParsedName(name, SCHEME_ID, section, None, None, label, tokens[2], "")


def _parse_section_scheme(name: str, tokens: list[str]) -> ParsedName:
    if len(tokens) < 3:
        raise _bad(name, "too few underscore-separated fields")
    section = _section(name, tokens[1])
    if len(tokens) == 3:  # section_00_0000: 2022+ hidden evaluation test clip
        if not _is_number(tokens[2]):
            raise _bad(name, f"clip number {tokens[2]!r} is not a number")
        return ParsedName(name, SCHEME_SECTION, section, "test", None, None, tokens[2], "")
    domain, subset = tokens[2], tokens[3] if len(tokens) > 3 else ""
    if domain not in DOMAINS:
        raise _bad(name, f"domain {domain!r} is not 'source' or 'target'")
    if subset not in SUBSETS:
        raise _bad(name, f"subset {subset!r} is not 'train' or 'test'")
    if len(tokens) >= 5 and _is_number(tokens[4]):
        # section_03_source_test_0000: DCASE2021 evaluation test clip (label hidden)
        if subset != "test" or len(tokens) != 5:
            raise _bad(name, "a name without normal/anomaly must be section_<XX>_<domain>_test_<NNNN>")
        return ParsedName(name, SCHEME_SECTION, section, subset, domain, None, tokens[4], "")
    if len(tokens) < 6:
        raise _bad(name, "expected section_<XX>_<domain>_<train|test>_<normal|anomaly>_<NNNN>[_<attributes>]")
    label, index = tokens[4], tokens[5]
    if label not in LABELS:
        raise _bad(name, f"label {label!r} is not 'normal' or 'anomaly'")
    if not _is_number(index):
        raise _bad(name, f"clip number {index!r} is not a number")
    attribute = "_".join(tokens[6:])
    return ParsedName(name, SCHEME_SECTION, section, subset, domain, label, index, attribute)


# -- challenge-format and ground-truth file names --------------------------------------------





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
    """Section, domain and label of a dev-style *test* clip name (:func:`parse_name`); None when
    the name hides them or is not a test clip's. DCASE2020 clips have no domain: ``source``."""
    try:
        parsed = parse_name(name)
    except DataError:
        return None
    if parsed.label is None or (parsed.scheme == SCHEME_SECTION and parsed.subset != "test"):
        return None
    return ClipLabels(parsed.section, parsed.domain or "source", int(parsed.label == "anomaly"))
