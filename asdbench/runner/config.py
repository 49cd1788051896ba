"""Run configuration: defaults, TOML experiment files, command-line overrides, validation."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_SYSTEMS = ("baseline", "combined")


@dataclass
class RunConfig:
    """One experiment. Field names are the TOML keys and (with dashes) the CLI options."""

    systems: list[str] = field(default_factory=lambda: list(DEFAULT_SYSTEMS))
    seeds: list[int] = field(default_factory=lambda: [0])
    dataset: str = "synthetic"
    data: str | None = None
    preset: str = "quick"
    data_seed: int = 0
    train_from_test: float | None = None
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    embedder: str = "two-branch"
    embedder_options: dict[str, Any] = field(default_factory=dict)
    loss: str = "sub-cluster-adacos"
    loss_options: dict[str, Any] = field(default_factory=dict)
    backends: list[str] = field(default_factory=lambda: ["kmeans"])
    backend_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool = False
    low_memory: bool = False  # no host-memory reuse between steps (see docs/scaling.md)
    executor: str = "local"
    workers: int = 1
    address: str | None = None
    cache_dtype: str = "int16"
    description: str = ""
    reference: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> RunConfig:
        if not self.systems:
            raise ConfigError("--ssl: at least one system is needed")
        if len(set(self.systems)) != len(self.systems):
            raise ConfigError(f"--ssl: a system is listed twice: {self.systems}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"--seeds: need distinct seeds, got {self.seeds}")
        if self.preset not in ("quick", "paper"):
            raise ConfigError(f"--preset must be quick or paper, got {self.preset!r}")
        if self.epochs < 1:
            raise ConfigError(f"--epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2:
            raise ConfigError(f"--batch-size must be >= 2, got {self.batch_size}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if self.precision not in ("fp32", "bf16", "fp16", "auto"):
            raise ConfigError(f"--precision must be fp32, bf16, fp16 or auto, got {self.precision!r}")
        for flag in ("low_memory", "channels_last"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"{flag} must be true or false, got {getattr(self, flag)!r}")
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"--executor must be local or ray, got {self.executor!r}")
        if self.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {self.workers}")
        if self.train_from_test is not None and not 0 < self.train_from_test < 1:
            raise ConfigError(f"--train-from-test must be between 0 and 1, got {self.train_from_test}")
        if self.cache_dtype not in ("int16", "float16"):
            raise ConfigError(f"cache_dtype must be int16 or float16, got {self.cache_dtype!r}")
        if not self.backends:
            raise ConfigError("--backend: at least one back-end is needed")
        return self


_FIELDS = {f.name for f in fields(RunConfig)}


def load_toml(path: Path) -> dict[str, Any]:
    """Read an experiment file. ``[[system]]`` tables may define inline systems (name + spec)."""
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"--config: file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path}: invalid TOML ({exc})") from None
    values = dict(raw.get("run", raw))
    values.pop("system", None)
    systems = raw.get("system")
    if systems is not None:
        try:
            values["systems"] = [s["spec"] if isinstance(s, dict) else str(s) for s in systems]
        except KeyError:
            raise ConfigError(f"--config {path}: every [[system]] needs a 'spec'") from None
    if "seeds" in values and isinstance(values["seeds"], int):
        values["seeds"] = list(range(values["seeds"]))
    unknown = sorted(set(values) - _FIELDS - {"paper"})
    if unknown:
        raise ConfigError(f"--config {path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})")
    if "paper" in values:
        values["reference"] = values.pop("paper")
    if values.get("data") is not None:
        data = Path(values["data"]).expanduser()
        values["data"] = str(data if data.is_absolute() else (path.parent / data).resolve())
    return values


def make_config(config_file: Path | None, overrides: dict[str, Any]) -> RunConfig:
    """Defaults < config file < command line (options the user did not give are ``None``)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(load_toml(config_file))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig(**values).validate()
    except TypeError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
