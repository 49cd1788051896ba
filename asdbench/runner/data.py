"""Turns a run configuration into the clips a trial trains and scores on, read from the cache."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..components import Clip, Dataset, class_key
from ..data.editions import scoring_edition_of
from ..errors import AsdbenchError, DataError, PluginError, PreflightError
from ..plugins import resolve
from .config import RunConfig


@dataclass
class PreparedData:
    """Training and test clips of one dataset, their classes, and a reader over the clip cache."""

    dataset: Dataset
    train: list[Clip]
    test: list[Clip]
    classes: list[str]
    cache: Any  # asdbench.data.cache.ClipCache over train + test, in that order

    @property
    def class_ids(self) -> np.ndarray:
        return self.training_classes("train")[1]

    def training_classes(self, class_set: str) -> tuple[list[str], np.ndarray]:
        """The class keys of ``class_set`` (see :meth:`Dataset.train_classes`) and every training
        clip's index into them."""
        classes = self.classes if class_set == "train" else self.dataset.train_classes(class_set)
        index = {key: i for i, key in enumerate(classes)}
        return classes, np.array([index[class_key(c)] for c in self.train], dtype=np.int64)

    def read_train(self, idx: np.ndarray) -> np.ndarray:
        return self.cache.read(np.asarray(idx))

    def read_all(self, idx: np.ndarray) -> np.ndarray:
        return self.cache.read(np.asarray(idx))

    @property
    def scoring_edition(self) -> str:
        """The DCASE edition whose official score rule scores this data."""
        return scoring_edition_of(self.dataset)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.dataset.name,
            "version": self.dataset.version,
            "scoring": self.scoring_edition,
            "root": str(self.dataset.root),
            "sample_rate": self.dataset.sample_rate,
            "resample": bool(self.dataset.resample),
            "length_policy": self.dataset.length_policy.to_dict(),
            "train_clips": len(self.train),
            "test_clips": len(self.test),
            "classes": len(self.classes),
            "groups": sorted({c.group for c in self.train + self.test}),
            "problems": list(self.dataset.problems),
            "cache": self.cache.describe(),
        }


def load_configured_dataset(config: RunConfig) -> Dataset:
    """The dataset named by ``config.dataset``. With ``--data`` and no ``--dataset``, the kind is
    recognised (:func:`asdbench.data.folder.dataset_kind`): a folder written by ``asdbench data
    synth``, a DCASE folder (edition from the file names), a MIMII / flat / normal+anomaly folder
    (``folder``), or a CSV manifest."""
    from ..data.folder import dataset_kind

    name = config.dataset
    root = Path(config.data) if config.data is not None else None
    if root is not None and name == "synthetic":
        name = dataset_kind(root)
    factory = resolve("dataset", name).factory
    from .preflight import dataset_option_problems

    problems = dataset_option_problems(dataclasses.replace(config, dataset=name), factory)
    if problems:
        raise PreflightError(problems)
    if name != "synthetic" and root is None:
        raise DataError(f"--dataset {name}: needs --data PATH (the dataset's root folder)")
    extra = {"preset": config.preset} if name == "synthetic" else {}
    try:
        return factory(root, **extra, seed=config.data_seed, **config.dataset_options)
    except AsdbenchError:
        raise
    except Exception as exc:  # a dataset plugin's own bug: one line naming it, not a traceback
        raise PluginError(f"dataset {name!r} ({resolve('dataset', name).plugin}) failed to load {root}: "
                          f"{type(exc).__name__}: {exc}") from exc


def holdout_training_split(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """Use part of the normal test clips as training clips (for test-only data such as the shipped
    valve clips): per group, domain and attribute, ``fraction`` of the normals, chosen with ``seed``."""
    rng = np.random.default_rng([seed, 0xF17])
    strata: dict[tuple[str, str | None, str], list[Clip]] = {}
    for clip in dataset.clips:
        if clip.subset == "test" and clip.label == "normal":
            strata.setdefault((clip.group, clip.domain, clip.attribute), []).append(clip)
    moved: set[Path] = set()
    for clips in strata.values():
        k = max(1, int(round(fraction * len(clips))))
        if k >= len(clips):
            continue
        moved.update(clips[i].path for i in rng.choice(len(clips), size=k, replace=False))
    if not moved:
        raise DataError(f"--train-from-test {fraction}: no normal test clips to move to training in {dataset.root}")
    clips = [dataclasses.replace(c, subset="train") if c.path in moved else c for c in dataset.clips]
    return dataclasses.replace(dataset, clips=sorted(clips), name=f"{dataset.name}+train-from-test-{fraction:g}")


def select_dataset(config: RunConfig) -> Dataset:
    """The run's dataset with its training/test split (scanned and probed, nothing decoded yet)."""
    dataset = load_configured_dataset(config)
    if config.train_from_test is not None:
        dataset = holdout_training_split(dataset, config.train_from_test, config.data_seed)
    if not dataset.select(subset="train"):
        raise DataError(f"{dataset.root}: no training clips found (for test-only data use --train-from-test)")
    if not dataset.select(subset="test"):
        raise DataError(f"{dataset.root}: no test clips found")
    return dataset


def prepare(config: RunConfig, cache_dir: Path | None = None, dataset: Dataset | None = None) -> PreparedData:
    """Load, split and cache the data of a run; cheap when the clip cache already exists."""
    from ..data.audio import clip_key
    from ..data.cache import open_clip_cache

    dataset = dataset if dataset is not None else select_dataset(config)
    train = dataset.select(subset="train")
    test = dataset.select(subset="test")
    cache = open_clip_cache(dataset, train + test, cache_dir, dtype=config.cache_dtype)
    if cache.failed:  # files that failed while decoding: skipped and reported like any other bad file
        cache = cache.without_failed()
        dataset = dataclasses.replace(dataset, clips=[c for c in dataset.clips if clip_key(c) not in cache.failed],
                                      problems=[*dataset.problems, *cache.failed.values()])
        train = dataset.select(subset="train")
        test = dataset.select(subset="test")
        if not train or not test:
            raise DataError(f"{dataset.root}: no {'training' if not train else 'test'} clip could be decoded")
    return PreparedData(dataset, train, test, dataset.train_classes(), cache)
