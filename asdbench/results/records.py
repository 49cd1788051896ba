"""The typed records of a run directory: ``run.json`` (:class:`RunRecord`) and ``trial.json``
(:class:`TrialRecord`), with a schema version and a JSON round trip.

Why typed: run.json used to be a free dict that its writer and its readers spelled differently
(``systems`` written as a dict, read as a list; a ``name`` read that nothing wrote). Every writer
and reader now goes through these classes; keys this version does not know (a newer asdbench, an
executor's extra details) are kept in ``extra`` and written back unchanged.

``to_json`` leaves out fields that are unset (None, or an empty dict/list), so a pending trial is
``{"system", "seed", "status"}`` and files stay as small as before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from ..atomic import atomic_write_json
from ..errors import DataError

PathLike = str | os.PathLike[str]

RUN_SCHEMA = 1
"""``asdbench_run`` in run.json: the format version (a resume refuses another)."""
TRIAL_SCHEMA = 1
"""``asdbench_trial`` in trial.json."""

# Statuses: a trial is pending, running, done, failed or interrupted; a run is running,
# finished, failed or interrupted.


def read_json(path: Path) -> Any:
    """The JSON in ``path``; a ``DataError`` naming the file when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path} is not readable JSON ({exc})") from None


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, (dict, list)) and not value)


class _Record:
    """JSON round trip shared by both records: known keys become fields, the rest ``extra``."""

    SCHEMA_KEY: ClassVar[str]
    SCHEMA: ClassVar[int]
    extra: dict[str, Any]

    def to_json(self, with_schema: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {self.SCHEMA_KEY: self.SCHEMA} if with_schema else {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if not _unset(value) or f.name in ("system", "seed", "status"):
                out[f.name] = value
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Any:
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)} - {"extra"}  # type: ignore[arg-type]
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known and k != cls.SCHEMA_KEY}
        return cls(**values, extra=extra)

    def save(self, path: PathLike) -> Path:
        return atomic_write_json(path, self.to_json())

    @classmethod
    def read(cls, path: PathLike) -> Any:
        """The record in ``path``; None when the file is missing or not a record (a crash
        before the first write, a foreign file)."""
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    @classmethod
    def load(cls, path: PathLike) -> Any:
        """Like :meth:`read`, but a missing or unreadable file is a ``DataError`` naming it."""
        path = Path(path)
        data = read_json(path)
        try:
            return cls.from_json(data)
        except TypeError as exc:
            raise DataError(f"{path}: not a {cls.__name__} ({exc})") from None


@dataclass
class TrialRecord(_Record):
    """One trial (one system, one seed): ``trial.json`` in its folder, written last, so status
    ``done`` means every other file of the trial is complete. run.json keeps a :meth:`summary`."""

    SCHEMA_KEY: ClassVar[str] = "asdbench_trial"
    SCHEMA: ClassVar[int] = TRIAL_SCHEMA

    system: str
    seed: int
    status: str = "running"
    timings: dict[str, float] = field(default_factory=dict)
    allocator: str | None = None
    runtime: dict[str, Any] | None = None  # host, device, threads, versions as the worker saw them
    resolved: dict[str, Any] | None = None  # the resolved system (augmenters, heads, losses, options)
    classes: int | None = None
    history: dict[str, Any] | None = None
    train_clips_per_s: float | None = None
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    # in run.json's summary only (from ``runtime``):
    host: str | None = None
    device: str | None = None
    threads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the Ray worker, its log and log tail

    SUMMARY_DROPS: ClassVar[tuple[str, ...]] = ("traceback", "resolved", "runtime")
    EXTRA_DROPS: ClassVar[tuple[str, ...]] = ("error_detail",)

    @property
    def key(self) -> str:
        return f"{self.system}/seed-{self.seed}"

    @property
    def done(self) -> bool:
        return self.status == "done"

    def summary(self) -> TrialRecord:
        """What run.json keeps of the trial: no traceback, resolved system or runtime block, but
        the host, device and thread count it ran with."""
        runtime = self.runtime or {}
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.SUMMARY_DROPS}
        values["extra"] = {k: v for k, v in self.extra.items() if k not in self.EXTRA_DROPS}
        for key in ("host", "device", "threads"):
            if key in runtime:
                values[key] = runtime[key]
        return TrialRecord(**values)


@dataclass
class RunRecord(_Record):
    """A run: ``run.json``, written only by the process that runs the experiment."""

    SCHEMA_KEY: ClassVar[str] = "asdbench_run"
    SCHEMA: ClassVar[int] = RUN_SCHEMA

    created_at: str | None = None
    status: str = "running"
    command: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)  # spec -> resolved system, in row order
    versions: dict[str, Any] = field(default_factory=dict)
    trials: dict[str, TrialRecord] = field(default_factory=dict)  # "<system>/seed-<k>" -> summary
    executions: list[dict[str, Any]] = field(default_factory=list)
    process: dict[str, Any] = field(default_factory=dict)  # pid and host of the running process
    dataset_fingerprint: str | None = None
    dataset: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    resumed_at: list[str] = field(default_factory=list)
    interrupted: dict[str, Any] | None = None
    error: str | None = None
    ensembles: dict[str, Any] | None = None
    finished_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, with_schema: bool = True) -> dict[str, Any]:
        out = super().to_json(with_schema)
        if "trials" in out:  # summaries: the schema key belongs to trial.json
            out["trials"] = {key: trial.to_json(with_schema=False) for key, trial in self.trials.items()}
        if "ensembles" not in out and self.ensembles is not None:  # {}: the run built none
            out["ensembles"] = {}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        record = super().from_json(data)
        trials = record.trials if isinstance(record.trials, dict) else {}
        record.trials = {key: value if isinstance(value, TrialRecord) else TrialRecord.from_json(value)
                         for key, value in trials.items()}
        return record

    @property
    def scoring_edition(self) -> str | None:
        """The DCASE edition the run's data was scored as (runs before it was recorded: the
        dataset's version)."""
        if not isinstance(self.dataset, dict):
            return None
        value = self.dataset.get("scoring") or self.dataset.get("version")
        return None if value is None else str(value)

    def trial_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials.values():
            counts[trial.status] = counts.get(trial.status, 0) + 1
        return counts

    def failed_trials(self) -> list[str]:
        return [key for key, trial in self.trials.items() if not trial.done]
