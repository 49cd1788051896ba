"""DCASE Task 2 datasets (2020-2025) -> :class:`asdbench.components.Dataset`.

Loading never aborts on one bad file: a file whose name cannot be parsed, that is empty,
truncated, not audio, or at another sample rate is skipped and reported as one line in
``Dataset.problems`` (so is a machine folder without clips). Every header is probed at load
time (cheap) so these problems surface before any training starts. A missing root folder is a
:class:`DataError`.

Per-version clip length (``LengthPolicy``), at the dataset's sample rate:

=========  ===========  =======================================================================
version    mode         samples
=========  ===========  =======================================================================
2020-2022  ``head``     10 s (160000 at 16 kHz): the first 10 s, as the 2022 reference does;
                        the 2020/2021 clips are 10 s long, so nothing is lost
2023-2025  ``tile_crop`` 18 s (288000): tile + seeded random crop (reference-system.md §1); the
                        2024/2025 data use the 2023 format and clip lengths, so the same policy
=========  ===========  =======================================================================

DCASE2020 has no domains: its clips are all marked ``source`` so the official AUC definitions
apply unchanged. Evaluation test clips with hidden names get label/domain/attribute from the
official ground-truth CSVs when they are found (see :mod:`asdbench.data.ground_truth`), else
``None``.

``version="auto"`` reads the version from the names, by majority so that a stray file cannot
flip it: ``id_`` names -> 2020; 2021-style eval names (domain shown, label hidden) or several
sections with at most 5 target-domain training clips per section -> 2021; several sections otherwise -> 2022; section 00 only -> 2023, or 2024 /
2025 when a machine type of that year's evaluation set is present. 2021 vs 2022 and 2023 vs
2024/2025 dev data cannot always be told apart from names alone; they share a length policy,
so a wrong guess only changes ``Dataset.version`` (pass ``version=`` to be explicit).
"""

from __future__ import annotations

import csv
import errno
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from ..components import Clip, Dataset, LengthPolicy
from ..errors import ConfigError, DataError
from .audio import AudioInfo, check_policy, decode_notes, probe_audio
from .editions import EDITIONS, VERSIONS, edition
from .ground_truth import GroundTruth, candidate_folders, full_name_fields, read_ground_truth
from .layout import SPLIT_FOLDERS, SUBSET_FOLDERS, MachineDir, find_machine_dirs
from .names import AUDIO_SUFFIXES, SCHEME_ID, ParsedName, parse_name

# Machine types of the evaluation sets (their dev sets share the 2023 machine types).
EVAL_MACHINES = {version: e.eval_machines for version, e in EDITIONS.items() if e.eval_machines}


def length_policy_for(version: str, seed: int = 0, sample_rate: int = 16000) -> LengthPolicy:
    """The clip-length policy of a DCASE version (see the module docstring)."""
    spec = edition(version)
    policy = LengthPolicy(spec.length_mode, spec.clip_seconds * sample_rate, seed)  # type: ignore[arg-type]
    check_policy(policy)
    return policy


@dataclass
class _Found:
    """A file whose name parsed, before version checks and probing."""

    path: Path
    machine: MachineDir
    folder: str  # train / test
    parsed: ParsedName


@dataclass
class ScanResult:
    """Everything :func:`scan` learned about a dataset folder (what ``asdbench data check`` shows)."""

    root: Path
    version: str
    sample_rate: int
    clips: list[Clip]
    problems: list[str]
    warnings: list[str] = field(default_factory=list)
    info: dict[Path, AudioInfo] = field(default_factory=dict)  # every probed file, good or not
    machines: list[MachineDir] = field(default_factory=list)
    attribute_tables: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    ground_truth_files: list[Path] = field(default_factory=list)
    layout: str = "dcase"  # or one of asdbench.data.folder.LAYOUTS, or "manifest"
    notes: list[str] = field(default_factory=list)  # usable files changed on the way (mix-down, clipping)

    def summary(self) -> dict:
        """Counts, rates and durations in plain types (JSON-ready)."""
        def count(*fields: str) -> list[dict]:
            counter = Counter(tuple(getattr(c, f) for f in fields) for c in self.clips)
            return [dict(zip(fields, key, strict=True), clips=n) for key, n in sorted(counter.items(), key=lambda kv: str(kv[0]))]

        good = [self.info[c.path] for c in self.clips if c.path in self.info]
        durations = [i.duration for i in good]
        rates = Counter(i.sample_rate for i in self.info.values())
        return {
            "root": str(self.root),
            "layout": self.layout,
            "version": self.version,
            "sample_rate": self.sample_rate,
            "clips": len(self.clips),
            "machines": sorted({c.machine for c in self.clips}),
            "counts": count("split", "machine", "section", "subset", "domain", "label"),
            "per_machine": count("split", "machine"),
            "per_subset": count("split", "subset"),
            "per_domain": count("subset", "domain"),
            "per_label": count("subset", "label"),
            "sample_rates": {str(rate): n for rate, n in sorted(rates.items())},
            "channels": {str(ch): n for ch, n in sorted(Counter(i.channels for i in good).items())},
            "durations_s": {
                "min": min(durations) if durations else None,
                "median": statistics.median(durations) if durations else None,
                "max": max(durations) if durations else None,
            },
            "train_classes": len({(c.machine, c.section, c.attribute, c.domain) for c in self.clips if c.subset == "train"}),
            "attribute_tables": sorted(self.attribute_tables),
            "ground_truth_files": [str(p) for p in self.ground_truth_files],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def _problem(path: Path, exc: DataError) -> str:
    """One problem line that starts with the full path (messages may start with the bare name)."""
    text = str(exc)
    for prefix in (f"{path}: ", f"{path.name}: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    return f"{path}: {text}"


def printable(path: Path | str) -> str:
    """A path as text that can always be printed: bytes that are not UTF-8 shown as ``\\xNN``."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", errors="backslashreplace")


def _audio_files(folder: Path, problems: list[str]) -> list[Path]:
    """Audio files of a train/test folder, sorted; dot-files (e.g. macOS ``._x.wav``) skipped.
    Links that point nowhere or loop and names that are not UTF-8 become problem lines."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        problems.append(f"{printable(folder)}: cannot list the folder ({exc.strerror})")
        return []
    files = []
    for path in entries:
        if path.name.startswith(".") or path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        if path.is_symlink() and not path.exists():
            try:
                os.stat(path)
                reason = "link cannot be followed"
            except FileNotFoundError:
                reason = f"broken link (points to {printable(os.readlink(path))}, which does not exist)"
            except OSError as exc:
                reason = "link loops (points back to itself)" if exc.errno == errno.ELOOP else f"link cannot be followed ({exc.strerror})"
            problems.append(f"{printable(path)}: {reason}")
            continue
        if not path.is_file():
            continue
        if printable(path.name) != path.name:
            problems.append(f"{printable(path)}: file name is not valid UTF-8 (rename the file)")
            continue
        files.append(path)
    return files


def unreachable_splits(root: Path) -> list[str]:
    """``dev_data`` / ``eval_data`` folders that exist as a name but cannot be read (a broken or
    looping link, no permission): without this their clips would silently be missing."""
    problems = []
    for name in SPLIT_FOLDERS:
        path = root / name
        if path.is_symlink() and not path.exists():
            problems.append(f"{printable(path)}: split folder is a broken or looping link")
        elif path.exists() and (not path.is_dir() or not os.access(path, os.R_OK | os.X_OK)):
            problems.append(f"{printable(path)}: split folder cannot be read")
    return problems


def _read_attribute_tables(machine: MachineDir, problems: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """``attributes_XX.csv`` of a machine folder: ``{"<machine>/section_XX": {file name: {column: value}}}``."""
    tables: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(machine.path.glob("attributes_*.csv")):
        section = path.stem.split("_")[-1]
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                rows = [r for r in csv.reader(handle) if r]
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read attribute table ({exc})")
            continue
        if not rows or rows[0][0].strip() != "file_name":
            problems.append(f"{path}: attribute table without a 'file_name' header column")
            continue
        header = [h.strip() for h in rows[0]]
        tables[f"{machine.machine}/section_{section}"] = {
            PurePath(r[0].strip()).name: dict(zip(header[1:], (v.strip() for v in r[1:]), strict=False)) for r in rows[1:]
        }
    return tables


def detect_version(found: list[tuple[str, ParsedName]]) -> str:
    """The DCASE version a list of (machine, parsed name) most likely belongs to (module docstring)."""
    schemes = Counter(p.scheme for _, p in found)
    if not found:
        return "2023"
    if schemes[SCHEME_ID] > schemes["section"]:  # majority vote: one stray file must not flip it
        return "2020"
    found = [(m, p) for m, p in found if p.scheme != SCHEME_ID]
    styles = Counter(p.style for _, p in found)
    if styles["section-domain"] > styles["section-hidden"]:
        return "2021"
    if {p.section for _, p in found} != {"00"}:
        targets = Counter((m, p.section) for m, p in found if p.subset == "train" and p.domain == "target")
        if targets and max(targets.values()) <= 5:
            return "2021"
        return "2022"
    machines = {m.lower() for m, _ in found}
    for version in ("2025", "2024"):
        if machines & EVAL_MACHINES[version]:
            return version
    return "2023"


def _split_of(machine: MachineDir, entries: list[_Found]) -> str:
    if machine.split is not None:
        return machine.split
    if any(e.parsed.hidden for e in entries):
        return "eval"
    if any(machine.machine.lower() in names for names in EVAL_MACHINES.values()):
        return "eval"
    return "dev"


def _complete_hidden(entry: _Found, gt: GroundTruth, problems: list[str]) -> tuple[str | None, str | None, str] | None:
    """(domain, label, attribute) of a hidden eval clip from the ground truth; None on conflict."""
    p = entry.parsed
    key = (entry.machine.machine, p.section, p.name)
    domain, label, attribute = p.domain, gt.labels.get(key), ""
    domain = gt.domains.get(key, domain)
    if key in gt.attributes:
        try:
            full_domain, full_label, attribute = full_name_fields(key, gt.attributes[key])
        except DataError as exc:
            problems.append(_problem(entry.path, exc))
            return None
        if (domain and full_domain and domain != full_domain) or (label and full_label and label != full_label):
            problems.append(f"{entry.path}: ground-truth files disagree (domain {domain}/{full_domain}, label {label}/{full_label})")
            return None
        domain, label = domain or full_domain, label or full_label
    return domain, label, attribute


def scan(
    root: str | Path,
    version: str = "auto",
    *,
    sample_rate: int = 16000,
    resample: bool = False,
    ground_truth: str | Path | None = None,
    probe: bool = True,
) -> ScanResult:
    """Find, parse and probe every clip under ``root``; bad files become problem lines."""
    if version != "auto" and version not in VERSIONS:
        raise ConfigError(f"version {version!r}: expected auto or one of {', '.join(VERSIONS)}")
    root = Path(root).expanduser().absolute()
    problems: list[str] = unreachable_splits(root)
    machines = find_machine_dirs(root)
    warnings: list[str] = []
    tables: dict[str, dict[str, dict[str, str]]] = {}
    found: list[_Found] = []
    for machine in machines:
        tables.update(_read_attribute_tables(machine, problems))
        folders = [machine.path / name for name in SUBSET_FOLDERS if (machine.path / name).is_dir()]
        if not folders:
            problems.append(f"{machine.path}: machine folder has no train/ or test/ folder (no clips)")
            continue
        n_files = 0
        for folder in folders:
            files = _audio_files(folder, problems)
            n_files += len(files)
            if not files:
                problems.append(f"{folder}: folder has no audio clips (.wav/.flac)")
            for path in files:
                try:
                    found.append(_Found(path, machine, folder.name, parse_name(path.name)))
                except DataError as exc:
                    problems.append(_problem(path, exc))
        if n_files == 0 and len(folders) > 1:
            problems.append(f"{machine.path}: machine folder has no audio clips")

    if version == "auto":
        version = detect_version([(f.machine.machine, f.parsed) for f in found])
    expected_scheme = SCHEME_ID if version == "2020" else "section"
    gt = GroundTruth()
    if any(f.parsed.hidden for f in found) or ground_truth is not None:
        folders = [Path(ground_truth).expanduser()] if ground_truth is not None else candidate_folders(root)
        if ground_truth is not None and not folders[0].is_dir():
            raise DataError(f"{folders[0]}: ground-truth folder does not exist")
        gt = read_ground_truth(folders)
        problems += gt.problems
        if ground_truth is not None and not gt:
            raise DataError(f"{folders[0]}: no ground_truth_data/, ground_truth_domain/, ground_truth_attributes/ "
                            "or eval_data_list.csv found")

    by_machine: dict[Path, list[_Found]] = {}
    for entry in found:
        by_machine.setdefault(entry.machine.path, []).append(entry)
    clips: list[Clip] = []
    info: dict[Path, AudioInfo] = {}
    hidden_without_gt = 0
    for machine in machines:
        entries = by_machine.get(machine.path, [])
        split = _split_of(machine, entries)
        for entry in entries:
            p = entry.parsed
            if p.scheme != expected_scheme:
                problems.append(f"{entry.path}: {'DCASE2020-style' if p.scheme == SCHEME_ID else 'section-style'} "
                                f"name does not belong to a DCASE{version} dataset")
                continue
            if p.subset is not None and p.subset != entry.folder:
                problems.append(f"{entry.path}: name says '{p.subset}' but the file is in {entry.folder}/")
                continue
            domain, label, attribute = p.domain, p.label, p.attribute
            if p.hidden:
                completed = _complete_hidden(entry, gt, problems)
                if completed is None:
                    continue
                domain, label, attribute = completed
                hidden_without_gt += label is None
            if version == "2020":
                domain = "source"
            if probe:
                try:
                    meta = probe_audio(entry.path)
                except DataError as exc:
                    problems.append(_problem(entry.path, exc))
                    continue
                info[entry.path] = meta
                if meta.sample_rate != sample_rate and not resample:
                    problems.append(f"{entry.path}: sample rate is {meta.sample_rate} Hz but the dataset uses "
                                    f"{sample_rate} Hz (convert it, or pass resample=True / --resample)")
                    continue
            clips.append(Clip(entry.path, machine.machine, p.section, split, entry.folder, domain, label, attribute))
    if hidden_without_gt:
        warnings.append(f"{hidden_without_gt} evaluation test clips have hidden labels and no ground truth was found "
                        "(they can be scored, not evaluated)")
    groups_train = {(c.split, c.machine, c.section) for c in clips if c.subset == "train"}
    for group in sorted({(c.split, c.machine, c.section) for c in clips if c.subset == "test"} - groups_train):
        warnings.append(f"{group[1]}/section_{group[2]} ({group[0]}): test clips but no training clips")
    clips.sort(key=lambda c: (c.split, c.machine, c.subset, c.path.name))
    return ScanResult(root, version, sample_rate, clips, problems, warnings, info, machines, tables, gt.files)


def decode_clips(result: ScanResult, resample: bool = False) -> None:
    """Decode every usable clip of ``result`` as a run's cache build would (any layout): a file
    whose body is corrupt or holds NaN samples becomes a problem and is dropped; a multichannel
    mix-down or float input beyond ±1 becomes a note."""
    kept = []
    for clip in result.clips:
        meta = result.info.get(clip.path)
        if meta is None:  # not probed (probe=False): nothing to compare the decoded file with
            kept.append(clip)
            continue
        try:
            result.notes += decode_notes(clip.path, meta, result.sample_rate, resample)
        except DataError as exc:
            result.problems.append(_problem(clip.path, exc))
            continue
        kept.append(clip)
    result.clips = kept


def load_dataset(
    root: str | Path,
    version: str = "auto",
    *,
    seed: int = 0,
    resample: bool = False,
    sample_rate: int = 16000,
    name: str | None = None,
    length_policy: LengthPolicy | None = None,
    ground_truth: str | Path | None = None,
    probe: bool = True,
) -> Dataset:
    """A DCASE dataset folder as a :class:`Dataset` (sorted clips, problems listed, policy set).

    ``seed`` seeds the random crop of the ``tile_crop`` policy; ``length_policy`` overrides the
    version's policy (the synthetic data uses shorter clips); ``ground_truth`` points at the
    official evaluator's folder when it is not under ``root``.
    """
    result = scan(root, version, sample_rate=sample_rate, resample=resample, ground_truth=ground_truth, probe=probe)
    policy = length_policy if length_policy is not None else length_policy_for(result.version, seed, sample_rate)
    check_policy(policy)
    return Dataset(
        name=name or f"dcase{result.version}",
        version=result.version,
        root=result.root,
        sample_rate=sample_rate,
        length_policy=policy,
        clips=result.clips,
        problems=result.problems,
        resample=resample,
    )
