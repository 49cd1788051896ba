"""``asdbench data download``: the DCASE Task 2 archives (2020-2025), resumable and verified.

Every archive is one zip of one machine type on Zenodo. The table below lists them per year and
set (``dev``: development data; ``additional``: the additional training data of the evaluation
machine types; ``eval``: the evaluation test data). The record numbers are those the official
baselines' download scripts use, written down **from memory without network access while this
was built**: they are marked ``verified=False`` and asdbench says so before downloading. Zenodo
publishes an MD5 checksum per file; none of them could be copied here, so :data:`CHECKSUMS` is
empty and an archive is verified by its size (``Content-Length``) and a full zip integrity check,
and its SHA-256 is recorded in ``<out>/downloads.json``: a later download of the same archive
must match it (a checksum that fails is an error naming the archive). Put a known checksum in
``CHECKSUMS`` (``"md5:..."`` or ``"sha256:..."``) to have it enforced.

Evaluation ground truth is not on Zenodo: it is in the official evaluator repositories on GitHub
(``dcase2023_task2_evaluator`` and its siblings); ``--set ground-truth`` prints where, it does not
download it.

Downloads go to ``<out>/archives/<file>.part`` and continue where they stopped (HTTP ``Range``);
a finished archive is extracted into the layout asdbench reads:
``<out>/dcase<year>/dev_data/raw/<machine>/{train,test}`` for ``dev`` and
``<out>/dcase<year>/eval_data/raw/<machine>/{train,test}`` for ``additional`` and ``eval``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..atomic import atomic_write_json
from ..errors import ConfigError, DataError

ZENODO = "https://zenodo.org/records"
SETS = ("dev", "additional", "eval")
CHUNK = 1 << 20

# year -> set -> (Zenodo record, file-name pattern, machine types)
_DEV_2020 = ("fan", "pump", "slider", "ToyCar", "ToyConveyor", "valve")
_DEV_2021 = ("fan", "gearbox", "pump", "slider", "ToyCar", "ToyTrain", "valve")
_DEV_2022 = ("bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve")
_EVAL_2023 = ("bandsaw", "grinder", "shaker", "ToyDrone", "ToyNscale", "ToyTank", "Vacuum")
_EVAL_2024 = ("3DPrinter", "AirCompressor", "BrushlessMotor", "HairDryer", "HoveringDrone", "RoboticArm", "Scanner",
              "ToothBrush", "ToyCircuit")
_EVAL_2025 = ("AutoTrash", "BandSealer", "CoffeeGrinder", "HomeCamera", "Polisher", "ScrewFeeder", "ToyPet", "ToyRCCar")
TABLE: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "2020": {"dev": ("3678171", "dev_data_{m}.zip", _DEV_2020),
             "additional": ("3727685", "eval_data_train_{m}.zip", _DEV_2020),
             "eval": ("3841772", "eval_data_test_{m}.zip", _DEV_2020)},
    "2021": {"dev": ("4562016", "dev_data_{m}.zip", _DEV_2021),
             "additional": ("4660992", "eval_data_{m}_train.zip", _DEV_2021),
             "eval": ("4884786", "eval_data_{m}_test.zip", _DEV_2021)},
    "2022": {"dev": ("6355122", "dev_{m}.zip", _DEV_2022),
             "additional": ("6462969", "eval_data_{m}_train.zip", _DEV_2022),
             "eval": ("6586456", "eval_data_{m}_test.zip", _DEV_2022)},
    "2023": {"dev": ("7687464", "dev_{m}.zip", _DEV_2022),
             "additional": ("7830345", "eval_data_{m}_train.zip", _EVAL_2023),
             "eval": ("7860847", "eval_data_{m}_test.zip", _EVAL_2023)},
    "2024": {"dev": ("10902294", "dev_{m}.zip", _DEV_2022),
             "additional": ("11259435", "eval_data_{m}_train.zip", _EVAL_2024),
             "eval": ("11363076", "eval_data_{m}_test.zip", _EVAL_2024)},
    "2025": {"dev": ("15097779", "dev_{m}.zip", _DEV_2022),
             "additional": ("15392814", "eval_data_{m}_train.zip", _EVAL_2025),
             "eval": ("15519362", "eval_data_{m}_test.zip", _EVAL_2025)},
}
CHECKSUMS: dict[str, str] = {}  # "<record>/<file>" -> "md5:<hex>" or "sha256:<hex>"; none known offline
# The official evaluators (ground truth of the evaluation sets), as recalled offline: unverified.
GROUND_TRUTH = {
    "2020": "https://github.com/y-kawagu/dcase2020_task2_evaluator",
    "2021": "https://github.com/y-kawagu/dcase2021_task2_evaluator",
    "2022": "https://github.com/Kota-Dohi/dcase2022_evaluator",
    **{year: f"https://github.com/nttcslab/dcase{year}_task2_evaluator" for year in ("2023", "2024", "2025")},
}


@dataclass(frozen=True)
class Archive:
    """One zip to fetch: where from, where to extract it, and its checksum when known."""

    year: str
    set: str
    machine: str
    record: str
    file: str
    checksum: str | None = None
    verified: bool = False  # address checked against the published record

    @property
    def split_folder(self) -> str:
        return "dev_data" if self.set == "dev" else "eval_data"

    def url(self, mirror: str | None = None) -> str:
        base = mirror.rstrip("/") if mirror else ZENODO
        suffix = "" if mirror else "?download=1"
        return f"{base}/{self.record}/files/{self.file}{suffix}"


def archives(year: str, sets: Sequence[str] = SETS, machines: Sequence[str] | None = None) -> list[Archive]:
    """The archives of ``year`` for ``sets``, optionally only some machine types (any case)."""
    if year not in TABLE:
        raise ConfigError(f"data download: unknown year {year!r} (known: {', '.join(TABLE)})")
    unknown_sets = [s for s in sets if s not in SETS]
    if unknown_sets:
        raise ConfigError(f"--set {unknown_sets[0]!r}: expected one of {', '.join(SETS)}")
    wanted = {m.lower() for m in machines} if machines else None
    known = {m.lower() for s in sets for m in TABLE[year][s][2]}
    if wanted and wanted - known:
        raise ConfigError(f"--machine {sorted(wanted - known)[0]!r}: not a machine type of DCASE{year} "
                          f"{'/'.join(sets)} (known: {', '.join(sorted(known))})")
    out = []
    for set_name in sets:
        record, pattern, names = TABLE[year][set_name]
        for machine in names:
            if wanted is None or machine.lower() in wanted:
                file = pattern.format(m=machine)
                out.append(Archive(year, set_name, machine, record, file, CHECKSUMS.get(f"{record}/{file}")))
    return out


def _hash(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, part: Path, label: str, progress: bool, timeout: float) -> None:
    """Download ``url`` into ``part``, continuing from its current size (HTTP Range)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part file is complete
            return
        raise DataError(f"{label}: download failed ({url}: HTTP {exc.code} {exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(f"{label}: download failed ({url}: {getattr(exc, 'reason', exc)})") from None
    with response:
        resumed = response.status == 206
        if have and not resumed:
            have = 0  # the server ignored Range: start again
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=label, leave=False)
        try:
            with open(part, "ab" if resumed else "wb") as handle:
                for block in iter(lambda: response.read(CHUNK), b""):
                    handle.write(block)
                    if bar is not None:
                        bar.update(len(block))
        except OSError as exc:
            raise DataError(f"{label}: download interrupted ({exc}); run the command again to continue") from None
        finally:
            if bar is not None:
                bar.close()
    if total is not None and part.stat().st_size != total:
        raise DataError(f"{label}: download incomplete ({part.stat().st_size} of {total} bytes); "
                        "run the command again to continue")


def _verify(archive: Archive, path: Path, recorded: dict[str, str]) -> str:
    """SHA-256 of the archive; a :class:`DataError` naming it when a known checksum fails."""
    sha256 = _hash(path, "sha256")
    expected = archive.checksum or (f"sha256:{recorded[archive.file]}" if archive.file in recorded else None)
    if expected is not None:
        algorithm, _, value = expected.partition(":")
        actual = sha256 if algorithm == "sha256" else _hash(path, algorithm)
        if actual.lower() != value.lower():
            path.replace(path.with_suffix(path.suffix + ".bad"))
            raise DataError(f"{archive.file}: checksum mismatch ({algorithm} {actual}, expected {value}); "
                            f"the file was moved to {path.name}.bad, run the command again to download it anew")
    try:
        with zipfile.ZipFile(path) as zf:
            broken = zf.testzip()
    except zipfile.BadZipFile as exc:
        path.replace(path.with_suffix(path.suffix + ".bad"))
        raise DataError(f"{archive.file}: not a valid zip archive ({exc}); moved to {path.name}.bad") from None
    if broken is not None:
        raise DataError(f"{archive.file}: member {broken} is corrupt")
    return sha256


def _member_target(name: str) -> PurePosixPath | None:
    """Where a zip member goes below ``<split>_data/raw/``: leading ``dev_data/``, ``eval_data/``
    and ``raw/`` levels are dropped; absolute or ``..`` paths are refused."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise DataError(f"zip member {name!r} points outside the extraction folder")
    parts = list(path.parts)
    while parts and parts[0] in ("dev_data", "eval_data", "raw"):
        parts.pop(0)
    return PurePosixPath(*parts) if parts else None


def extract(archive: Archive, path: Path, root: Path) -> Path:
    """Unzip into ``root/dcase<year>/<split>_data/raw/``; returns that folder."""
    target = root / f"dcase{archive.year}" / archive.split_folder / "raw"
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            relative = _member_target(info.filename)
            if relative is None or info.is_dir():
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            tmp = destination.with_name(f".{destination.name}.tmp")
            with zf.open(info) as source, open(tmp, "wb") as sink:
                shutil.copyfileobj(source, sink, CHUNK)
            os.replace(tmp, destination)
    return target


def download(selected: Sequence[Archive], out: Path, *, mirror: str | None = None, progress: bool = True,
             keep_archives: bool = True, timeout: float = 60.0, echo: Callable[[str], None] = print) -> list[Path]:
    """Fetch, verify and extract every archive; returns the folders written. Archives already
    extracted (recorded in ``downloads.json``) are skipped."""
    out = Path(out).expanduser()
    store = out / "archives"
    store.mkdir(parents=True, exist_ok=True)
    ledger_path = out / "downloads.json"
    try:
        ledger = json.loads(ledger_path.read_text()) if ledger_path.is_file() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{ledger_path}: unreadable ({exc}); delete it to start again") from None
    recorded = {name: entry["sha256"] for name, entry in ledger.items()}
    folders = []
    for archive in selected:
        label = f"DCASE{archive.year} {archive.set} {archive.machine} ({archive.file})"
        final, part = store / archive.file, store / f"{archive.file}.part"
        done = ledger.get(archive.file, {}).get("extracted")
        if done and Path(done).is_dir() and not part.exists():
            echo(f"{label}: already downloaded and extracted")
            folders.append(Path(ledger[archive.file]["extracted"]))
            continue
        if not final.exists():
            _fetch(archive.url(mirror), part, label, progress, timeout)
            part.replace(final)
        sha256 = _verify(archive, final, recorded)
        folder = extract(archive, final, out)
        ledger[archive.file] = {"url": archive.url(mirror), "sha256": sha256, "bytes": final.stat().st_size,
                                "extracted": str(folder), "checksum_published": archive.checksum}
        atomic_write_json(ledger_path, ledger)
        if not keep_archives:
            final.unlink()
        echo(f"{label}: verified (sha256 {sha256[:16]}...), extracted into {folder}")
        folders.append(folder)
    return folders
