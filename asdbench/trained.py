"""A trained system loaded back from its run directory, to score recordings it has never seen.

``load_system(RUN/SYSTEM/seed-K)`` is one trial: the embedder rebuilt from ``run.json`` with the
weights of ``weights.pt`` and the fitted back-end of ``<backend>/backend.json``.
``load_system(RUN/SYSTEM)`` is the system's ensemble: the mean of its finished seeds' scores,
decided against the thresholds of the ensemble's own training scores, as the run did.

Clips are read exactly as in training: mixed down to mono, the run's sample rate (a clear error,
or soxr resampling when asked), and the run's length policy with the crop seeded by the clip's
key. A clip of the run's own dataset (listed in ``embeddings.csv``) keeps the fields it had
there, so re-scoring a run's test clips reproduces its ``scores.csv``. Other clips take machine
type and section from their path (a folder named after a trained machine type, a DCASE file
name) or from ``machine=`` / ``section=``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .components import Clip, Dataset, LengthPolicy
from .errors import ConfigError, DataError
from .results.layout import (
    BACKEND_STATE_FILE,
    EMBEDDINGS_INDEX,
    ENSEMBLE,
    RUN_FILE,
    TRAIN_SCORES_FILE,
    TRIAL_FILE,
    WEIGHTS_FILE,
)
from .results.records import RunRecord, TrialRecord

PathLike = str | os.PathLike[str]
OUTPUT_COLUMNS = ("file", "machine", "section", "split", "domain", "label", "score", "decision", "path")


@dataclass(frozen=True)
class TrialRef:
    """One finished trial of a run: its folder, system spec and seed."""

    path: Path
    system: str
    seed: int


def _finished_trial(folder: Path) -> TrialRef:
    path = folder / TRIAL_FILE
    if not path.is_file():
        raise DataError(f"{folder}: no {TRIAL_FILE} (not a trial folder RUN/SYSTEM/seed-K)")
    record = TrialRecord.load(path)
    if not record.done:
        raise DataError(f"{folder}: trial did not finish (status {record.status!r}); it cannot score")
    return TrialRef(folder, str(record.system), int(record.seed))


def locate(path: PathLike) -> tuple[Path, list[TrialRef], bool]:
    """``(run_dir, trials, is_ensemble)`` for a trial folder or a system folder."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected RUN/SYSTEM/seed-K or RUN/SYSTEM)")
    if (folder / TRIAL_FILE).is_file():
        return folder.parent.parent, [_finished_trial(folder)], False
    seeds = sorted(p for p in folder.glob("seed-*") if (p / TRIAL_FILE).is_file())
    if not seeds:
        raise DataError(f"{folder}: neither a trial folder ({TRIAL_FILE}) nor a system folder with seed-*/{TRIAL_FILE}")
    trials = []
    for seed_dir in seeds:
        try:
            trials.append(_finished_trial(seed_dir))
        except DataError:
            continue  # the run's ensemble also left unfinished seeds out
    if not trials:
        raise DataError(f"{folder}: no finished trial")
    return folder.parent, sorted(trials, key=lambda t: t.seed), len(trials) > 1


def audio_files(paths: Iterable[PathLike]) -> list[Path]:
    """The audio files named or found (recursively, sorted) under ``paths``; every path must exist
    and every folder hold at least one clip."""
    from .data.names import AUDIO_SUFFIXES

    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise DataError(f"{path}: folder has no audio clips ({', '.join(sorted(AUDIO_SUFFIXES))})")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    duplicates = sorted({str(p) for p in files if files.count(p) > 1})
    if duplicates:
        raise DataError(f"{duplicates[0]}: given more than once")
    return files


def _section_option(section: str) -> str:
    from .data.names import normalize_section

    try:
        return normalize_section(section)
    except ValueError:
        raise ConfigError(f"--section {section!r}: expected a section number such as 00 or section_00") from None


def _split_from_path(path: Path, hidden: bool) -> str:
    names = {p.name for p in path.parents}
    if "eval_data" in names:
        return "eval"
    if "dev_data" in names:
        return "dev"
    return "eval" if hidden else "dev"


@dataclass
class TrainedSystem:
    """A trained system (one trial or a system's ensemble) and the back-end that scores it."""

    run_dir: Path
    trials: list[TrialRef]
    backend: str
    ensemble: bool
    config: dict[str, Any]
    dataset: dict[str, Any]
    groups: list[str]
    _index: dict[str, Clip] = field(default_factory=dict, repr=False)

    @property
    def system(self) -> str:
        return self.trials[0].system

    @property
    def seeds(self) -> list[int]:
        return [t.seed for t in self.trials]

    @property
    def sample_rate(self) -> int:
        return int(self.dataset["sample_rate"])

    @property
    def length_policy(self) -> LengthPolicy:
        policy = self.dataset["length_policy"]
        return LengthPolicy(policy["mode"], int(policy["samples"]), int(policy.get("seed", 0)))

    # --- which clips -------------------------------------------------------------------------

    def clip_for(self, path: PathLike, machine: str | None = None, section: str | None = None) -> Clip:
        """The clip a file is scored as; a :class:`DataError` naming the file when its machine
        type or section cannot be told or was not trained."""
        from .data.names import parse_name

        path = Path(path).expanduser().absolute()
        known = self._index.get(str(path))
        if known is not None and machine is None and section is None:
            return known
        parsed = None
        try:
            parsed = parse_name(path.name)
        except DataError as exc:
            if section is None:
                raise DataError(f"{path}: the section cannot be read from the name ({exc}); pass --section") from None
        trained = sorted({g.split("/section_")[0] for g in self.groups})
        if machine is None:
            machine = next((p.name for p in path.parents if p.name in trained), None)
            if machine is None:
                raise DataError(f"{path}: no folder on its path names a trained machine type "
                                f"({', '.join(trained)}); pass --machine")
        section = _section_option(section) if section is not None else parsed.section  # type: ignore[union-attr]
        clip = Clip(path, machine, section, _split_from_path(path, parsed is not None and parsed.hidden),
                    "test", parsed.domain if parsed else None, parsed.label if parsed else None,
                    parsed.attribute if parsed else "")
        if clip.group not in self.groups:
            raise DataError(f"{path}: {clip.group} was not trained by this system (trained: {', '.join(self.groups)})")
        return clip

    def clips_for(self, paths: Iterable[PathLike], machine: str | None = None, section: str | None = None) -> list[Clip]:
        return [self.clip_for(p, machine, section) for p in audio_files(paths)]

    # --- scoring -------------------------------------------------------------------------------

    def score(self, paths: Iterable[PathLike] | Sequence[Clip], *, machine: str | None = None,
              section: str | None = None, resample: bool | None = None, device: str | None = None,
              batch_size: int | None = None) -> pd.DataFrame:
        """One row per clip: :data:`OUTPUT_COLUMNS` (label 0/1 where known, decision 0/1).

        ``paths`` are files or folders (or :class:`Clip` objects); every file is checked before
        the first one is embedded."""
        items = list(paths)
        clips = items if items and all(isinstance(c, Clip) for c in items) else self.clips_for(items, machine, section)
        if not clips:
            raise DataError("no clips to score")
        dataset = Dataset(name=str(self.dataset.get("name", "scored")), version=str(self.dataset.get("version", "")),
                          root=Path(str(self.dataset.get("root", "."))), sample_rate=self.sample_rate,
                          length_policy=self.length_policy, clips=list(clips),
                          resample=bool(self.dataset.get("resample", False)) if resample is None else resample)
        self._check_audio(clips, dataset)
        groups = np.array([c.group for c in clips])
        per_trial = [self._trial_scores(t, clips, dataset, groups, device, batch_size) for t in self.trials]
        scores = np.mean(per_trial, axis=0) if self.ensemble else per_trial[0]
        table = pd.DataFrame({
            "file": [c.file for c in clips], "machine": [c.machine for c in clips],
            "section": [c.section for c in clips], "split": [c.split for c in clips],
            "domain": [c.domain for c in clips],
            "label": pd.array([None if c.label is None else int(c.label == "anomaly") for c in clips], dtype="Int64"),
            "score": scores, "decision": self._decide(scores, groups), "path": [str(c.path) for c in clips],
        })
        return table.loc[:, list(OUTPUT_COLUMNS)]

    def _check_audio(self, clips: Sequence[Clip], dataset: Dataset) -> None:
        from .data.audio import probe_audio

        for clip in clips:
            info = probe_audio(clip.path)
            if info.sample_rate != dataset.sample_rate and not dataset.resample:
                raise DataError(f"{clip.path}: sample rate is {info.sample_rate} Hz but the system was trained at "
                                f"{dataset.sample_rate} Hz (convert it, or pass --resample)")

    def _trial_scores(self, trial: TrialRef, clips: Sequence[Clip], dataset: Dataset, groups: np.ndarray,
                      device: str | None, batch_size: int | None) -> np.ndarray:
        from .backends.persist import load_backend

        saved = load_backend(trial.path / self.backend)
        embeddings = self.embed(trial, clips, dataset, device, batch_size)
        return saved.score_samples(embeddings, groups)

    def embed(self, trial: TrialRef, clips: Sequence[Clip], dataset: Dataset, device: str | None = None,
              batch_size: int | None = None) -> np.ndarray:
        """Embeddings of ``clips`` by one trial's network, read as training read them."""
        import torch

        from .data.audio import load_clip
        from .systems import build_embedder, resolve_system
        from .training.device import pick_device
        from .training.inference import extract_embeddings

        config = self.config
        embedder = build_embedder(config["embedder"], dict(config.get("embedder_options", {})),
                                  resolve_system(trial.system), self.length_policy.samples)
        state = torch.load(trial.path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        embedder.load_state_dict(state)
        target = pick_device(device or config.get("device", "auto"))
        embedder.to(target)

        def read(idx: np.ndarray) -> np.ndarray:
            return np.stack([load_clip(clips[int(i)], dataset) for i in idx])

        return extract_embeddings(embedder, read, len(clips), batch_size=batch_size or int(config.get("batch_size", 64)),
                                  device=target, precision=str(config.get("precision", "fp32")),
                                  reuse_host_memory=not config.get("low_memory", False))

    def _decide(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        from .backends.persist import load_backend

        if not self.ensemble:
            return load_backend(self.trials[0].path / self.backend).decide(scores, groups)
        from .results.tables import read_scores_table
        from .scoring.scored import decision_thresholds

        train = read_scores_table(_ensemble_dir(self.trials, self.backend) / TRAIN_SCORES_FILE)
        percentile = load_backend(self.trials[0].path / self.backend).percentile
        thresholds = decision_thresholds(train, train["score"].to_numpy(dtype=float), percentile)
        return (scores > np.array([thresholds[g] for g in groups])).astype(np.int64)


def _ensemble_dir(trials: Sequence[TrialRef], backend: str) -> Path:

    return trials[0].path.parent / ENSEMBLE / backend


def _clip_index(trials: Sequence[TrialRef]) -> dict[str, Clip]:
    """The run's own clips by absolute path, from the first trial's ``embeddings.csv``."""
    path = trials[0].path / EMBEDDINGS_INDEX
    if not path.is_file():
        return {}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {row.path: Clip(Path(row.path), row.machine, row.section, row.split, row.subset, row.domain or None,
                           row.label or None, row.attribute, "" if row.file == Path(row.path).name else row.file)
            for row in table.itertuples()}


def load_system(path: PathLike, backend: str | None = None) -> TrainedSystem:
    """The trial (``RUN/SYSTEM/seed-K``) or system ensemble (``RUN/SYSTEM``) at ``path``, scored by
    ``backend`` (default: the run's first back-end)."""
    run_dir, trials, ensemble = locate(path)
    if not (run_dir / RUN_FILE).is_file():
        raise DataError(f"{run_dir}: no {RUN_FILE} (not inside a run directory)")
    meta = RunRecord.load(run_dir / RUN_FILE)
    config, dataset = meta.config, meta.dataset
    if not config or not isinstance(dataset, dict):
        raise DataError(f"{run_dir / RUN_FILE}: has no config or dataset record (did the run start training?)")
    backends = list(config.get("backends") or [])
    name = backend or (backends[0] if backends else None)
    if name not in backends:
        raise ConfigError(f"--backend {name}: this run scored with {', '.join(backends)}")
    if ensemble and not (_ensemble_dir(trials, name) / TRAIN_SCORES_FILE).is_file():
        raise DataError(f"{trials[0].path.parent}: no {ENSEMBLE}/{name}/{TRAIN_SCORES_FILE} "
                        "(the run did not build the ensemble)")
    for trial in trials:
        if not (trial.path / name / BACKEND_STATE_FILE).is_file():
            raise DataError(f"{trial.path / name}: no saved back-end ({BACKEND_STATE_FILE}); re-run this trial to score with it")
    groups = sorted(json.loads((trials[0].path / name / BACKEND_STATE_FILE).read_text())["decision"]["thresholds"])
    return TrainedSystem(run_dir, trials, name, ensemble, config, dataset, groups, _clip_index(trials))
