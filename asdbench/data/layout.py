"""Where the machine folders of a DCASE dataset are, for the layouts people actually have on disk.

Accepted ``root`` values (first match wins):

1. a dataset root with ``dev_data/`` and/or ``eval_data/``, each with or without a ``raw/``
   level (``<root>/dev_data/raw/<machine>/{train,test}``, as in the official archives);
2. a ``dev_data`` / ``eval_data`` / ``raw`` folder itself;
3. a single machine folder (it has ``train/`` or ``test/``);
4. any folder whose sub-folders are machine folders (the split then comes from a ``dev_data`` /
   ``eval_data`` ancestor, when there is one).

Sub-folders whose names start with ``.``, ``ground_truth`` or contain ``evaluator`` are never
taken for machine folders, so the official evaluator's ground truth may sit next to the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

SPLIT_FOLDERS = {"dev_data": "dev", "eval_data": "eval"}
SUBSET_FOLDERS = ("train", "test")


@dataclass(frozen=True)
class MachineDir:
    """One machine folder and the split its location implies (None when the path does not say)."""

    path: Path
    split: str | None

    @property
    def machine(self) -> str:
        return self.path.name


def _is_candidate(path: Path) -> bool:
    name = path.name
    return (
        path.is_dir()
        and not name.startswith(".")
        and not name.startswith("ground_truth")
        and "evaluator" not in name.lower()
    )


def _subdirs(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if _is_candidate(p)), key=lambda p: p.name)


def _has_subsets(path: Path) -> bool:
    return any((path / name).is_dir() for name in SUBSET_FOLDERS)


def _descend_raw(path: Path) -> Path:
    raw = path / "raw"
    return raw if raw.is_dir() and not _has_subsets(path) else path


def split_from_path(path: Path) -> str | None:
    """``dev`` / ``eval`` from the nearest ``dev_data`` / ``eval_data`` folder in ``path``."""
    for part in reversed(path.parts):
        if part in SPLIT_FOLDERS:
            return SPLIT_FOLDERS[part]
    return None


def find_machine_dirs(root: Path) -> list[MachineDir]:
    """The machine folders under ``root`` (sorted by split, then name); DataError when none."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: dataset folder does not exist")
    if not root.is_dir():
        raise DataError(f"{root}: is not a folder")
    found: list[MachineDir] = []
    for folder, split in SPLIT_FOLDERS.items():
        if (root / folder).is_dir():
            found += [MachineDir(p, split) for p in _subdirs(_descend_raw(root / folder))]
    if (root / "dev_data").is_dir() or (root / "eval_data").is_dir():
        if not found:
            raise DataError(f"{root}: dev_data/ or eval_data/ holds no machine folders")
        return found
    if _has_subsets(root):
        return [MachineDir(root, split_from_path(root))]
    base = _descend_raw(root)
    found = [MachineDir(p, split_from_path(p)) for p in _subdirs(base)]
    if not found:
        raise DataError(
            f"{root}: no machine folders found (expected <root>/dev_data[/raw]/<machine>/{{train,test}}/*.wav, "
            "a folder of machine folders, or one machine folder with train/ and test/)"
        )
    return found
