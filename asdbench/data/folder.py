"""Your own data: folder layouts other than DCASE's, and a CSV manifest.

Folder layouts (``layout="auto"`` tries them in this order, on ``root`` itself):

``mimii``
    ``<root>/[<machine>/]<id_XX>/{normal,abnormal}/*.wav`` (MIMII; the 8-channel files are mixed
    down to mono like any clip). Section = the ID, domain source, subset test.
``normal-anomaly``
    ``<root>/normal/*.wav`` + ``<root>/{anomaly,abnormal}/*.wav``: machine = the folder's name,
    section 00, domain source, subset test.
``machine-folders``
    ``<root>/<machine>/*.wav`` (or ``<root>/*.wav``, machine = the folder's name) with DCASE file
    names directly inside, as people keep downloaded subsets: section, domain, label and
    attribute from the name; subset from the name where it says (2021+), else test (a DCASE2020
    ``normal_id_00_...`` name does not say whether it was a training clip).

Clips that exist only as test clips are trained on with ``--train-from-test`` (part of the
normal clips moved to training, seeded). Every file is probed; one that is unreadable, at another
sample rate or badly named is skipped and reported as a problem line, like the DCASE loader does.

The clip length is the most common clip duration found (``seconds=`` sets it), first samples
kept and shorter clips tiled (the DCASE2020-2022 ``head`` policy).
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from pathlib import Path

from ..components import Clip, Dataset, LengthPolicy
from ..errors import ConfigError, DataError
from .audio import check_policy, probe_audio
from .dcase import ScanResult
from .names import AUDIO_SUFFIXES, SCHEME_ID, parse_name

LAYOUTS = ("mimii", "normal-anomaly", "machine-folders")
ANOMALY_FOLDERS = ("anomaly", "abnormal")
MANIFEST_COLUMNS = ("path", "machine", "section", "subset", "domain", "label", "attribute", "split")
MANIFEST_REQUIRED = ("path", "machine")


def _audio(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in AUDIO_SUFFIXES)


def _dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _id_dirs(folder: Path) -> list[Path]:
    return [d for d in _dirs(folder) if d.name.startswith("id_") and any((d / n).is_dir() for n in ("normal", *ANOMALY_FOLDERS))]


def detect_layout(root: Path) -> str | None:
    """Which of :data:`LAYOUTS` ``root`` has, or None."""
    if _id_dirs(root) or any(_id_dirs(d) for d in _dirs(root)):
        return "mimii"
    if (root / "normal").is_dir() and any((root / n).is_dir() for n in ANOMALY_FOLDERS):
        return "normal-anomaly"
    if _audio(root) or any(_audio(d) for d in _dirs(root)):
        return "machine-folders"
    return None


def dataset_kind(root: str | Path) -> str:
    """The built-in dataset that reads ``root``: ``manifest`` (a .csv file), ``synthetic`` (a
    folder written by ``asdbench data synth``), ``dcase`` (machine folders with train/ or test/),
    else ``folder`` (:data:`LAYOUTS`)."""
    from .layout import SUBSET_FOLDERS, find_machine_dirs

    root = Path(root).expanduser()
    if root.is_file() and root.suffix.lower() == ".csv":
        return "manifest"
    if (root / "synthetic.json").is_file():
        return "synthetic"
    try:
        machines = find_machine_dirs(root)
    except DataError:
        machines = []
    if any((m.path / sub).is_dir() for m in machines for sub in SUBSET_FOLDERS):
        return "dcase"
    return "folder" if root.is_dir() and detect_layout(root) is not None else "dcase"


def _mimii(root: Path) -> list[tuple[Path, dict]]:
    machines = [(root.name, root)] if _id_dirs(root) else [(d.name, d) for d in _dirs(root) if _id_dirs(d)]
    found = []
    for machine, folder in machines:
        for id_dir in _id_dirs(folder):
            section = id_dir.name[len("id_"):]
            for label_dir in ("normal", *ANOMALY_FOLDERS):
                if (id_dir / label_dir).is_dir():
                    label = "normal" if label_dir == "normal" else "anomaly"
                    # MIMII repeats file names across normal/ and abnormal/: name the clip as
                    # DCASE2020 (which was built from MIMII) does, e.g. anomaly_id_00_00000001.wav.
                    found += [(p, {"machine": machine, "section": section, "label": label,
                                   "name": f"{label}_{id_dir.name}_{p.name}"}) for p in _audio(id_dir / label_dir)]
    return found


def _normal_anomaly(root: Path) -> list[tuple[Path, dict]]:
    found = [(p, {"label": "normal"}) for p in _audio(root / "normal")]
    for name in ANOMALY_FOLDERS:
        if (root / name).is_dir():
            found += [(p, {"label": "anomaly"}) for p in _audio(root / name)]
    return [(p, {"machine": root.name, "section": "00", **f}) for p, f in found]


def _machine_folders(root: Path, problems: list[str]) -> list[tuple[Path, dict]]:
    folders = [root] if _audio(root) else [d for d in _dirs(root) if _audio(d)]
    found = []
    for folder in folders:
        for path in _audio(folder):
            try:
                parsed = parse_name(path.name)
            except DataError as exc:
                problems.append(f"{path}: {str(exc).removeprefix(path.name + ': ')}")
                continue
            found.append((path, {
                "machine": folder.name, "section": parsed.section, "subset": parsed.subset or "test",
                "domain": "source" if parsed.scheme == SCHEME_ID else parsed.domain, "label": parsed.label,
                "attribute": parsed.attribute, "split": "eval" if parsed.hidden else "dev",
            }))
    return found


def _clips(found: list[tuple[Path, dict]], sample_rate: int, resample: bool, problems: list[str],
           probe: bool) -> tuple[list[Clip], dict]:
    clips, info = [], {}
    for path, fields in found:
        if probe:
            try:
                meta = probe_audio(path)
            except DataError as exc:
                problems.append(f"{path}: {str(exc).removeprefix(str(path) + ': ')}")
                continue
            info[path] = meta
            if meta.sample_rate != sample_rate and not resample:
                problems.append(f"{path}: sample rate is {meta.sample_rate} Hz but the dataset uses {sample_rate} Hz "
                                "(convert it, or pass --resample)")
                continue
        clips.append(Clip(path, fields["machine"], fields.get("section", "00"), fields.get("split", "dev"),
                          fields.get("subset", "test"), fields.get("domain", "source"), fields.get("label"),
                          fields.get("attribute", ""), fields.get("name", "")))
    clips.sort(key=lambda c: (c.split, c.machine, c.subset, str(c.path)))
    return _unique_names(clips, problems), info


def _unique_names(clips: list[Clip], problems: list[str]) -> list[Clip]:
    """Result tables name clips per machine type and section: where two files share a name, name
    them ``<folder>_<file>``; a clip whose name still repeats is skipped as a problem."""
    import dataclasses

    counts = Counter((c.machine, c.section, c.file) for c in clips)
    renamed = [dataclasses.replace(c, name=f"{c.path.parent.name}_{c.path.name}") if counts[(c.machine, c.section, c.file)] > 1
               else c for c in clips]
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for clip in renamed:
        key = (clip.machine, clip.section, clip.file)
        if key in seen:
            problems.append(f"{clip.path}: another clip of {clip.group} has the name {clip.file}")
            continue
        seen.add(key)
        unique.append(clip)
    return unique


def _version(clips: list[Clip], names: list | None) -> str:
    """The DCASE edition whose official score fits: read from DCASE names where there are some,
    else 2020 (no domains: AUC and pAUC over all clips) or 2023 (target-domain clips present)."""
    if names:
        from .dcase import detect_version

        return detect_version([("", n) for n in names])
    return "2023" if any(c.domain == "target" for c in clips) else "2020"


def _warnings(clips: list[Clip]) -> list[str]:
    if clips and not any(c.subset == "train" for c in clips):
        return ["only test clips: train with --train-from-test FRACTION (part of the normal clips moves to training)"]
    return []


def scan_folder(root: str | Path, layout: str = "auto", *, sample_rate: int = 16000, resample: bool = False,
                probe: bool = True) -> ScanResult:
    """Find, name and probe the clips of a folder in one of :data:`LAYOUTS`."""
    root = Path(root).expanduser().absolute()
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder does not exist")
    if layout == "auto":
        detected = detect_layout(root)
        if detected is None:
            raise DataError(f"{root}: no audio clips in a layout the folder dataset reads ({', '.join(LAYOUTS)}; "
                            "see asdbench/data/folder.py), nor a DCASE layout")
        layout = detected
    if layout not in LAYOUTS:
        raise ConfigError(f"folder dataset option layout must be auto or one of {', '.join(LAYOUTS)}, got {layout!r}")
    problems: list[str] = []
    found = {"mimii": _mimii, "normal-anomaly": _normal_anomaly}.get(layout, lambda r: _machine_folders(r, problems))(root)
    clips, info = _clips(found, sample_rate, resample, problems, probe)
    version = _version(clips, [parse_name(p.name) for p, _ in found] if layout == "machine-folders" else None)
    return ScanResult(root, version, sample_rate, clips, problems, _warnings(clips), info, layout=layout)


def read_manifest(path: str | Path, *, sample_rate: int = 16000, resample: bool = False, probe: bool = True) -> ScanResult:
    """A CSV manifest: one row per clip, columns :data:`MANIFEST_COLUMNS` (``path`` and ``machine``
    required; ``section`` 00, ``subset`` test, ``domain`` source, ``split`` dev by default; ``label``
    normal / anomaly or empty). Relative paths are relative to the manifest's folder. A bad value
    is an error naming the row; a missing or unreadable file is a problem line."""
    path = Path(path).expanduser().absolute()
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = list(reader)
    except FileNotFoundError:
        raise DataError(f"{path}: manifest not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: unreadable manifest ({exc})") from None
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    missing = [h for h in MANIFEST_REQUIRED if h not in header]
    if unknown or missing:
        raise DataError(f"{path}: " + (f"unknown column(s) {', '.join(unknown)}" if unknown else
                                       f"missing column(s) {', '.join(missing)}") + f" (columns: {', '.join(MANIFEST_COLUMNS)})")
    allowed = {"subset": ("train", "test"), "domain": ("source", "target"), "label": ("normal", "anomaly", ""),
               "split": ("dev", "eval")}
    problems: list[str] = []
    found = []
    for line, row in enumerate(rows, start=2):
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not values.get("path") or not values.get("machine"):
            raise DataError(f"{path}, line {line}: path and machine must not be empty")
        fields = {"machine": values["machine"], "section": values.get("section") or "00",
                  "subset": values.get("subset") or "test", "domain": values.get("domain") or "source",
                  "label": values.get("label") or None, "attribute": values.get("attribute", ""),
                  "split": values.get("split") or "dev"}
        for key, choices in allowed.items():
            value = fields[key] or ""
            if value not in choices:
                raise DataError(f"{path}, line {line}: {key} {value!r} is not one of {', '.join(c for c in choices if c)}")
        if not fields["section"].isdigit():
            raise DataError(f"{path}, line {line}: section {fields['section']!r} must be a number such as 00")
        fields["section"] = fields["section"].zfill(2)
        if fields["subset"] == "train" and fields["label"] == "anomaly":
            raise DataError(f"{path}, line {line}: a training clip must be normal")
        clip_path = Path(values["path"]).expanduser()
        clip_path = clip_path if clip_path.is_absolute() else path.parent / clip_path
        if not clip_path.is_file():
            problems.append(f"{clip_path}: listed in {path.name} (line {line}) but not found")
            continue
        found.append((clip_path, fields))
    if not rows:
        raise DataError(f"{path}: manifest has no rows")
    clips, info = _clips(found, sample_rate, resample, problems, probe)
    return ScanResult(path, _version(clips, None), sample_rate, clips, problems, _warnings(clips), info, layout="manifest")


def _dataset(result: ScanResult, name: str, seed: int, resample: bool, seconds: float | None) -> Dataset:
    if seconds is not None:
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
            raise ConfigError(f"dataset option seconds must be a positive number, got {seconds!r}")
        samples = int(round(seconds * result.sample_rate))
    else:
        lengths = [result.info[c.path].frames for c in result.clips if c.path in result.info]
        if not lengths:
            raise DataError(f"{result.root}: no usable clips")
        rate_lengths = [int(round(n * result.sample_rate / result.info[c.path].sample_rate))
                        for c, n in zip([c for c in result.clips if c.path in result.info], lengths, strict=True)]
        samples = Counter(rate_lengths).most_common(1)[0][0] or int(statistics.median(rate_lengths))
    policy = LengthPolicy("head", samples, seed)
    check_policy(policy)
    return Dataset(name=name, version=result.version, root=result.root, sample_rate=result.sample_rate,
                   length_policy=policy, clips=result.clips, problems=result.problems, resample=resample)


def load_folder_dataset(root: str | Path, *, layout: str = "auto", seed: int = 0, resample: bool = False,
                        sample_rate: int = 16000, seconds: float | None = None) -> Dataset:
    """A folder in one of :data:`LAYOUTS` as a :class:`Dataset`."""
    result = scan_folder(root, layout, sample_rate=sample_rate, resample=resample)
    return _dataset(result, f"folder-{result.layout}-{result.root.name}", seed, resample, seconds)


def load_manifest_dataset(path: str | Path, *, seed: int = 0, resample: bool = False, sample_rate: int = 16000,
                          seconds: float | None = None) -> Dataset:
    """A CSV manifest (:func:`read_manifest`) as a :class:`Dataset`."""
    result = read_manifest(path, sample_rate=sample_rate, resample=resample)
    return _dataset(result, f"manifest-{result.root.stem}", seed, resample, seconds)
