"""Built-in datasets: DCASE Task 2 folders (2020-2025, or auto-detected) and the synthetic benchmark.

They register through the same ``register_datasets`` hook a third-party plugin uses.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from ..components import Dataset, LengthPolicy
from ..data.editions import VERSIONS
from ..errors import DataError
from ..hookspecs import hookimpl


def _dcase_factory(version: str) -> Callable[..., Dataset]:
    def factory(root: str | Path, *, seed: int = 0, resample: bool = False) -> Dataset:
        from ..data.dcase import load_dataset

        if root is None:
            raise DataError(f"dataset dcase{version if version != 'auto' else ''}: needs the dataset's root folder")
        return load_dataset(root, version, seed=seed, resample=resample)

    return factory


def synthetic(root: str | Path | None = None, *, preset: str = "quick", seed: int = 0) -> Dataset:
    """The generated synthetic benchmark (DCASE2023 layout, short clips); generated on first use."""
    from ..data.audio import check_policy
    from ..data.dcase import load_dataset

    if root is None:
        from ..synth import ensure_synthetic

        root = ensure_synthetic(preset=preset, seed=seed)
    root = Path(root)
    meta_path = root / "synthetic.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        rate = int(meta["sample_rate"])
        seconds = {float(m["clip_seconds"]) for m in meta.get("machines", {}).values()} or {float(meta["clip_seconds"])}
        # One length for all clips, as DCASE2023 does: tile/crop to 18 s when types differ in
        # length (the paper preset's 10-s and 12-s clips), else the clips' own length.
        samples = int(round(seconds.pop() * rate)) if len(seconds) == 1 else 18 * rate
        name = f"synthetic-{meta['preset']}"
    except FileNotFoundError as exc:
        raise DataError(f"{meta_path}: missing; not a synthetic dataset folder (asdbench data synth creates one)") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{meta_path}: unreadable or incomplete synthetic.json ({exc})") from exc
    policy = LengthPolicy("tile_crop", samples, seed)
    check_policy(policy)
    dataset = load_dataset(root, "2023", seed=seed, sample_rate=rate, name=name, length_policy=policy)
    return dataclasses.replace(dataset, version="synthetic", scoring="2023")


def _folder(root: str | Path, *, seed: int = 0, resample: bool = False, layout: str = "auto",
            sample_rate: int = 16000, seconds: float | None = None) -> Dataset:
    """A folder in one of the layouts of asdbench.data.folder (layout: auto, mimii, normal-anomaly, machine-folders)."""
    from ..data.folder import load_folder_dataset

    if root is None:
        raise DataError("dataset folder: needs --data PATH (the folder)")
    return load_folder_dataset(root, layout=layout, seed=seed, resample=resample, sample_rate=sample_rate, seconds=seconds)


def _manifest(root: str | Path, *, seed: int = 0, resample: bool = False, sample_rate: int = 16000,
              seconds: float | None = None) -> Dataset:
    """A CSV manifest (columns path, machine, section, subset, domain, label, attribute, split)."""
    from ..data.folder import load_manifest_dataset

    if root is None:
        raise DataError("dataset manifest: needs --data FILE.csv")
    return load_manifest_dataset(root, seed=seed, resample=resample, sample_rate=sample_rate, seconds=seconds)


@hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    for version in VERSIONS:
        register(
            f"dcase{version}",
            _dcase_factory(version),
            description=f"DCASE{version} Task 2 folder (dev_data/eval_data/<machine>/train|test)",
        )
    register("dcase", _dcase_factory("auto"), description="DCASE Task 2 folder, version detected from the file names")
    register("synthetic", synthetic)
    register("folder", _folder, description="your own folder: MIMII (<machine>/id_XX/{normal,abnormal}), "
             "machine folders of DCASE-named clips, or normal/ + anomaly/")
    register("manifest", _manifest, description="a CSV manifest: path, machine, section, subset, domain, label, attribute")
