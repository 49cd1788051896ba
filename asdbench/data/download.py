"""``asdbench data download``: the DCASE Task 2 archives (2020-2025), resumable and verified.

Every archive is one zip of one machine type on Zenodo. :data:`TABLE` lists them per year and
set (``dev``: development data; ``additional``: the additional training data of the evaluation
machine types; ``eval``: the evaluation test data). Each record number and file name was checked
against the official baselines' download scripts and dataset tables (the source is named per
set in :data:`TABLE`, and ``--list`` prints it). Where a file's MD5 (the checksum Zenodo
publishes per file) was found in a published loader, :data:`CHECKSUMS` holds it and a download
must match it; every archive is also checked by its size (``Content-Length``) and a full zip
integrity test, and its SHA-256 is recorded in ``<out>/downloads.json``, which a later download
of the same archive must match (a checksum that fails is an error naming the archive).

Evaluation ground truth is not part of these archives: :data:`GROUND_TRUTH` names where the
organisers published it per year (``--set ground-truth`` prints it; nothing is downloaded).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..atomic import atomic_write_json
from ..errors import ConfigError, DataError

ZENODO = "https://zenodo.org/records"
SETS = ("dev", "additional", "eval")
ALGORITHMS = ("md5", "sha256")  # what a published checksum may use (Zenodo lists md5)
CHUNK = 1 << 20

_DEV_2020 = ("fan", "pump", "slider", "ToyCar", "ToyConveyor", "valve")
_DEV_2021 = ("fan", "gearbox", "pump", "slider", "ToyCar", "ToyTrain", "valve")
_DEV_2022 = ("bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve")
_EVAL_2023 = ("bandsaw", "grinder", "shaker", "ToyDrone", "ToyNscale", "ToyTank", "Vacuum")
_EVAL_2024 = ("3DPrinter", "AirCompressor", "BrushlessMotor", "HairDryer", "HoveringDrone", "RoboticArm", "Scanner",
              "ToothBrush", "ToyCircuit")
_EVAL_2025 = ("AutoTrash", "BandSealer", "CoffeeGrinder", "HomeCamera", "Polisher", "ScrewFeeder", "ToyPet", "ToyRCCar")

# Where each entry was checked (the files of github.com/nttcslab/dcase2023_task2_baseline_ae):
_LEGACY = "nttcslab/dcase2023_task2_baseline_ae datasets/download_path_legacy.yaml"
_Y2023 = "nttcslab/dcase2023_task2_baseline_ae data_download_2023{}.sh and datasets/download_path_2023.yaml"
_Y2024 = "nttcslab/dcase2023_task2_baseline_ae README (v3.1.1) and datasets/download_path_2024.yaml"
_Y2025 = "nttcslab/dcase2023_task2_baseline_ae data_download_2025{}.sh"


@dataclass(frozen=True)
class Release:
    """One Zenodo record of one year and set: its file-name pattern, machine types, and where
    the record and names were checked (``source``; empty when they are not verified)."""

    record: str
    pattern: str
    machines: tuple[str, ...]
    source: str = ""
    files: Mapping[str, str] = field(default_factory=dict)  # machine -> file name not following the pattern

    def file(self, machine: str) -> str:
        return self.files.get(machine) or self.pattern.format(m=machine)


TABLE: dict[str, dict[str, Release]] = {
    "2020": {"dev": Release("3678171", "dev_data_{m}.zip", _DEV_2020, _LEGACY),
             "additional": Release("3727685", "eval_data_train_{m}.zip", _DEV_2020, _LEGACY),
             "eval": Release("3841772", "eval_data_test_{m}.zip", _DEV_2020, _LEGACY)},
    "2021": {"dev": Release("4562016", "dev_data_{m}.zip", _DEV_2021, _LEGACY),
             "additional": Release("4660992", "eval_data_{m}_train.zip", _DEV_2021, _LEGACY),
             "eval": Release("4884786", "eval_data_{m}_test.zip", _DEV_2021, _LEGACY)},
    "2022": {"dev": Release("6355122", "dev_{m}.zip", _DEV_2022, _LEGACY),
             "additional": Release("6462969", "eval_data_{m}_train.zip", _DEV_2022, _LEGACY),
             "eval": Release("6586456", "eval_data_{m}_test.zip", _DEV_2022, _LEGACY)},
    # 7882613 is the third version of the 2023 development set ("fixed attributes", 2023-05-01);
    # the earlier records 7690148 and 7690157 are superseded.
    "2023": {"dev": Release("7882613", "dev_{m}.zip", _DEV_2022, _Y2023.format("dev")),
             "additional": Release("7830345", "eval_data_{m}_train.zip", _EVAL_2023, _Y2023.format("add")),
             "eval": Release("7860847", "eval_data_{m}_test.zip", _EVAL_2023, _Y2023.format("eval"))},
    # 11259435 replaced 11183284 (2024-05-24): 3DPrinter and RoboticArm were re-issued as *_r2.zip.
    "2024": {"dev": Release("10902294", "dev_{m}.zip", _DEV_2022, _Y2024),
             "additional": Release("11259435", "eval_data_{m}_train.zip", _EVAL_2024, _Y2024,
                                   {"3DPrinter": "eval_data_3DPrinter_train_r2.zip",
                                    "RoboticArm": "eval_data_RoboticArm_train_r2.zip"}),
             "eval": Release("11363076", "eval_data_{m}_test.zip", _EVAL_2024, _Y2024)},
    "2025": {"dev": Release("15097779", "dev_{m}.zip", _DEV_2022, _Y2025.format("dev")),
             "additional": Release("15392814", "eval_data_{m}_train.zip", _EVAL_2025, _Y2025.format("add")),
             "eval": Release("15519362", "eval_data_{m}_test.zip", _EVAL_2025, _Y2025.format("eval"))},
}

# "<record>/<file>" -> "md5:<hex>". Copied from the loaders of the soundata package
# (soundata/datasets/dcase2020task2.py and dcase23_task2.py, which check them on download); the
# 2020 dev fan/pump/slider values are also quoted from the Zenodo API by other projects. None were
# found for 2021, 2022, 2024 and 2025: those archives are checked by size, zip test and ledger only.
_MD5 = {
    "3678171": {"dev_data_fan.zip": "649bdfc06263ae7a838963f43b6641e6",
                "dev_data_pump.zip": "90e7091ef722b7238a7f1009365779cd",
                "dev_data_slider.zip": "da24a757719f0d94d5aa2d646bbfdc86",
                "dev_data_ToyCar.zip": "4dec75ca8d9f666aa9e4c1894a740501",
                "dev_data_ToyConveyor.zip": "03b6aa1bfd09a39d53af0ba39f71fa91",
                "dev_data_valve.zip": "34d2672f55bb041589ef79c10dc89934"},
    "3727685": {"eval_data_train_fan.zip": "567798854130c8019df8b664c095ed1e",
                "eval_data_train_pump.zip": "4e33ae9c0db5cc88437675f5e317caee",
                "eval_data_train_slider.zip": "f84f186f4295fc23754abcdd1b0580a7",
                "eval_data_train_ToyCar.zip": "a5d4ccd498af70b04dd74b644b820006",
                "eval_data_train_ToyConveyor.zip": "0e808ac0b761e9fb13d5e0c65caff00d",
                "eval_data_train_valve.zip": "057cdd560caffb8305449541afd28c6d"},
    "3841772": {"eval_data_test_fan.zip": "1eb9356a768cadfd0f2e59a5c57e578b",
                "eval_data_test_pump.zip": "23a8f8f924be218c69df67fe07360348",
                "eval_data_test_slider.zip": "0193c769073840332ce3aad84b1ccaa2",
                "eval_data_test_ToyCar.zip": "bea2bdd612f616be8f2b8eb087b32c7c",
                "eval_data_test_ToyConveyor.zip": "ccfcc9847c7d3404d7ee9d6d9e0b2ba2",
                "eval_data_test_valve.zip": "f69c551d2088691050d20cccca9d631c"},
    "7882613": {"dev_bearing.zip": "8a813bc8d8f156b5395bfccdfac7673c",
                "dev_fan.zip": "9348591e96fb0ad499a1e33b082562fc",
                "dev_gearbox.zip": "b6e55f6a31faa0fc8569ec0afdd53ccf",
                "dev_slider.zip": "b3f8dee36b4718c36d659a4fd1c4afe0",
                "dev_ToyCar.zip": "4e3bf15f4101ed4ed4f1fecde2e2b2a3",
                "dev_ToyTrain.zip": "6b02a6c65eebb3b8b1ae59a6b25bb897",
                "dev_valve.zip": "b2051a2022eadb53cd97581120811cae"},
    "7830345": {"eval_data_bandsaw_train.zip": "9274dfe63de028743823f1123f8b4b47",
                "eval_data_grinder_train.zip": "17569c1f9df23621a0dbabc430684a35",
                "eval_data_shaker_train.zip": "35f821b5645b731fb5a1750e33b95fc3",
                "eval_data_ToyDrone_train.zip": "7fea367d1384a1521ae24f72203238de",
                "eval_data_ToyNscale_train.zip": "9332822f3e47afd984c01f2ecb5ca3af",
                "eval_data_ToyTank_train.zip": "b1fd3ab7de7561290df2d477de1c9d33",
                "eval_data_Vacuum_train.zip": "1c8de33d9a8c7850a1f7aaddb97d87be"},
    "7860847": {"eval_data_bandsaw_test.zip": "2a8e8f39f6584ab366a8f4da52d4d7a6",
                "eval_data_grinder_test.zip": "631b3e1608b6077772829a6e68c82c77",
                "eval_data_shaker_test.zip": "ba98c98caa96051ec80e24e44b8fca56",
                "eval_data_ToyDrone_test.zip": "fdae7b8d1f4cadb2bea88bc93e2367db",
                "eval_data_ToyNscale_test.zip": "62f5f5043d8fb3a305b1c2e1025872de",
                "eval_data_ToyTank_test.zip": "f5639bf58c47169c622751f19c6fc321",
                "eval_data_Vacuum_test.zip": "a32524fd8c45b574a560685b38acc4e1"},
}
CHECKSUMS: dict[str, str] = {f"{record}/{file}": f"md5:{value}" for record, files in _MD5.items()
                             for file, value in files.items()}

# Where the labels of each evaluation set were published (checked like TABLE). The evaluator
# repositories hold ground_truth_data/ and ground_truth_domain/ (and from 2022 on
# ground_truth_attributes/): the layout ``asdbench evaluate --ground-truth`` reads.
GROUND_TRUTH = {
    "2020": "eval_data_list.csv in Zenodo record 3951620 (https://zenodo.org/records/3951620), used by "
            "https://github.com/y-kawagu/dcase2020_task2_evaluator",
    "2021": "https://github.com/y-kawagu/dcase2021_task2_evaluator (ground_truth_data/)",
    "2022": "https://github.com/Kota-Dohi/dcase2022_evaluator (ground_truth_data/, ground_truth_domain/, "
            "ground_truth_attributes/)",
    **{year: f"https://github.com/nttcslab/dcase{year}_task2_evaluator (ground_truth_data/, ground_truth_domain/, "
             "ground_truth_attributes/)" for year in ("2023", "2024", "2025")},
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
    source: str = ""  # where the record number and file name were checked; empty: unverified

    @property
    def verified(self) -> bool:
        return bool(self.source)

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
    known = {m.lower() for s in sets for m in TABLE[year][s].machines}
    if wanted and wanted - known:
        raise ConfigError(f"--machine {sorted(wanted - known)[0]!r}: not a machine type of DCASE{year} "
                          f"{'/'.join(sets)} (known: {', '.join(sorted(known))})")
    out = []
    for set_name in sets:
        release = TABLE[year][set_name]
        for machine in release.machines:
            if wanted is None or machine.lower() in wanted:
                file = release.file(machine)
                out.append(Archive(year, set_name, machine, release.record, file,
                                   CHECKSUMS.get(f"{release.record}/{file}"), release.source))
    return out


def _hashes(path: Path, algorithms: Sequence[str]) -> dict[str, str]:
    """Hex digests of ``path`` for every algorithm, in one pass over the (multi-GB) file."""
    digests = {name: hashlib.new(name) for name in dict.fromkeys(algorithms)}
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            for digest in digests.values():
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in digests.items()}


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
    """SHA-256 of the archive; a :class:`DataError` naming it when its published checksum or the
    SHA-256 recorded by an earlier download fails."""
    expected = []  # (algorithm, hex digest, where it comes from)
    if archive.checksum:
        algorithm, _, value = archive.checksum.partition(":")
        if algorithm not in ALGORITHMS or not value:
            raise DataError(f"{archive.file}: published checksum {archive.checksum!r} is not "
                            f"'<{'|'.join(ALGORITHMS)}>:<hex>'")
        expected.append((algorithm, value.lower(), "published"))
    if archive.file in recorded:
        expected.append(("sha256", recorded[archive.file].lower(), "recorded in downloads.json"))
    actual = _hashes(path, ["sha256", *(algorithm for algorithm, _, _ in expected)])
    for algorithm, value, origin in expected:
        if actual[algorithm] != value:
            path.replace(path.with_suffix(path.suffix + ".bad"))
            raise DataError(f"{archive.file}: checksum mismatch ({algorithm} {actual[algorithm]}, expected {value}, "
                            f"{origin}); the file was moved to {path.name}.bad, run the command again to download "
                            "it anew")
    try:
        with zipfile.ZipFile(path) as zf:
            broken = zf.testzip()
    except zipfile.BadZipFile as exc:
        path.replace(path.with_suffix(path.suffix + ".bad"))
        raise DataError(f"{archive.file}: not a valid zip archive ({exc}); moved to {path.name}.bad") from None
    if broken is not None:
        raise DataError(f"{archive.file}: member {broken} is corrupt")
    return actual["sha256"]


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
        checked = f"{archive.checksum.partition(':')[0]} as published" if archive.checksum else f"sha256 {sha256[:16]}..."
        echo(f"{label}: verified ({checked}), extracted into {folder}")
        folders.append(folder)
    return folders
