"""Run configuration: defaults, TOML experiment files, command-line overrides, validation."""

from __future__ import annotations

import math
import sys
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError, PreflightError
from ..training import PRECISIONS
from ..values import matches, type_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_SYSTEMS = ("baseline", "combined")
DEFAULT_THREADS = 2
# Options that say where trials run, not what they compute: --resume may change them.
EXECUTOR_OPTIONS = ("executor", "workers", "address", "cpus_per_trial", "max_retries", "trial_timeout",
                    "ray_runtime_env")
# Options a resumed run may change (they change no number) or extend (new trials are added).
RESUME_CHANGEABLE = ("low_memory", "strict_data")
RESUME_GROWABLE = ("systems", "seeds")
RAY_ONLY_OPTIONS = ("cpus_per_trial", "max_retries", "trial_timeout", "ray_runtime_env")


@dataclass(frozen=True)
class Option:
    """How a :class:`RunConfig` field appears on ``asdbench run`` (the CLI options are generated
    from these, so each option is declared once). ``parse`` turns the command-line text into the
    field's value (e.g. ``--seeds 3`` -> ``[0, 1, 2]``); ``path``: the value is a file or folder,
    stored absolute (or handed to ``parse`` when there is one); ``default_text``: how the default is shown (else the field's default)."""

    help: str
    flag: str | None = None  # default: --<field name with dashes>
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    complete: str | None = None  # shell completion: "systems", "backends" or "datasets"
    path: bool = False
    parse: Any = None
    default_text: str | None = None


def option(help: str, **kwargs: Any) -> dict[str, Option]:
    """``field(metadata=option(...))``: the field is also a command-line option."""
    return {"cli": Option(help, **kwargs)}


def parse_seeds(value: str) -> list[int]:
    """``3`` means seeds 0,1,2; ``4,7,9`` lists them."""
    try:
        if "," in value:
            return [int(v) for v in value.split(",") if v.strip()]
        count = int(value)
    except ValueError:
        raise ConfigError(f"--seeds: expected a count or a comma-separated list of integers, got {value!r}") from None
    if count < 1:
        raise ConfigError(f"--seeds must be >= 1, got {count}")
    return list(range(count))


def _load_runtime_env(path: Path) -> dict[str, Any]:
    from .ray_env import load_runtime_env

    return load_runtime_env(Path(path))


@dataclass
class RunConfig:
    """One experiment. Field names are the TOML keys and (with dashes) the CLI options."""

    systems: list[str] = field(default_factory=lambda: list(DEFAULT_SYSTEMS), metadata=option(
        "Systems to train, one leaderboard row each, e.g. `--ssl baseline featex regular+featex`.",
        flag="--ssl", metavar="SPEC...", complete="systems", default_text="baseline combined"))
    seeds: list[int] = field(default_factory=lambda: [0], metadata=option(
        "Number of seeds (0..N-1) or a comma-separated list.", parse=parse_seeds, default_text="1"))
    dataset: str = field(default="synthetic", metadata=option(
        "Dataset plugin name (synthetic, dcase, dcase2020 ... dcase2025, folder, manifest).", complete="datasets"))
    data: str | None = field(default=None, metadata=option(
        "Root of a dataset on disk.", path=True, default_text="the embedded synthetic dataset"))
    dataset_options: dict[str, Any] = field(default_factory=dict)  # e.g. resample = true (DCASE folders)
    strict_data: bool = field(default=False, metadata=option(
        "Any skipped or unreadable data file is an error (TOML: strict_data = true)."))
    preset: str = field(default="quick", metadata=option("Synthetic data preset.", choices=("quick", "paper")))
    data_seed: int = field(default=0, metadata=option("Seed of the synthetic data and of the DCASE2023 random crops."))
    train_from_test: float | None = field(default=None, metadata=option(
        "Move this fraction of normal test clips to training (test-only data)."))
    epochs: int = field(default=10, metadata=option("Training epochs."))
    init_weights: str | None = field(default=None, metadata=option(
        "Start from these embedder weights: .npz in the Keras key scheme of the author's code (docs/fidelity.md) "
        "or a trial's weights.pt. With --epochs 0 the run only extracts and scores.", path=True))
    batch_size: int = field(default=64, metadata=option("Training batch size."))
    lr: float = field(default=1e-3, metadata=option("Adam learning rate.", default_text="1e-3"))
    embedder: str = field(default="two-branch", metadata=option("Embedder plugin."))
    embedder_options: dict[str, Any] = field(default_factory=dict)
    loss: str = field(default="sub-cluster-adacos", metadata=option("Loss plugin for the heads."))
    loss_options: dict[str, Any] = field(default_factory=dict)
    backends: list[str] = field(default_factory=lambda: ["kmeans"], metadata=option(
        "Back-end(s) scoring the embeddings.", flag="--backend", metavar="NAME...", complete="backends"))
    backend_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    device: str = field(default="auto", metadata=option("auto, cpu or cuda."))
    precision: str = field(default="fp32", metadata=option("Training precision.", choices=PRECISIONS))
    channels_last: bool = False
    low_memory: bool = field(default=False, metadata=option(  # no host-memory reuse between steps (docs/scaling.md)
        "Under glibc's malloc, free host memory after every step: 1-2 GB less peak RSS at the paper preset, ~1.5x "
        "slower steps on CPU. No effect under jemalloc or tcmalloc (the default where installed), which need less "
        "memory anyway."))
    # Intra-op threads of one trial. Part of the experiment: the thread count changes float
    # reductions and so the numbers, hence a fixed default that does not depend on the machine
    # (2 = what every number in the docs was measured with).
    threads: int = field(default=DEFAULT_THREADS, metadata=option(
        "Intra-op threads of one trial, on every executor. Changes numbers (float reductions), so it is part of "
        "the experiment."))
    # Executor options (EXECUTOR_OPTIONS): where and how trials run, never what they compute.
    executor: str = field(default="local", metadata=option("Where trials run.", choices=("local", "ray")))
    workers: int = field(default=1, metadata=option("Parallel local processes, --threads threads each."))
    address: str | None = field(default=None, metadata=option(
        "Ray cluster address for --executor ray.", default_text="RAY_ADDRESS, else a new local Ray"))
    cpus_per_trial: int | None = field(default=None, metadata=option(
        "Ray: CPUs one trial holds.", default_text="--threads on CPUs; with --device cuda the smallest CPUs/GPUs "
        "of the GPU nodes (one trial per GPU)"))
    max_retries: int = field(default=0, metadata=option(
        "Ray: re-run a trial whose worker died (preemptible nodes) up to N times, from its last epoch checkpoint."))
    trial_timeout: float | None = field(default=None, metadata=option(
        "Ray: stop a trial that runs longer than this many seconds."))
    ray_runtime_env: dict[str, Any] | None = field(default=None, metadata=option(
        "Ray: JSON or YAML runtime environment for the workers (working_dir, py_modules, pip, env_vars).",
        path=True, parse=_load_runtime_env))
    cache_dtype: str = "int16"
    description: str = ""
    reference: dict[str, Any] = field(default_factory=dict)
    tensorboard: bool = field(default=False, metadata=option(
        "Also write the training curves as TensorBoard logs to RUN/tensorboard (needs tensorboard)."))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> RunConfig:
        """Self, or a :class:`PreflightError` listing every problem (types first, then ranges)."""
        problems = self.problems()
        if problems:
            raise PreflightError(problems)
        return self

    def problems(self) -> list[str]:
        """Every type and range problem of the configuration, one line each naming the option."""
        problems = type_problems(self)
        if problems:  # ranges of wrongly typed values would only repeat the same complaint
            return problems
        checks: list[tuple[bool, str]] = [
            (not self.systems, "--ssl: at least one system is needed"),
            (len(set(self.systems)) != len(self.systems), f"--ssl: a system is listed twice: {self.systems}"),
            (not self.seeds or len(set(self.seeds)) != len(self.seeds), f"--seeds: need distinct seeds, got {self.seeds}"),
            (any(s < 0 for s in self.seeds), f"--seeds: seeds must be >= 0, got {self.seeds}"),
            (self.preset not in ("quick", "paper"), f"--preset must be quick or paper, got {self.preset!r}"),
            (self.data_seed < 0, f"--data-seed must be >= 0, got {self.data_seed}"),
            (self.epochs < (0 if self.init_weights else 1),
             f"--epochs must be >= 1 (0 only with --init-weights, to evaluate given weights), got {self.epochs}"),
            (self.batch_size < 2, f"--batch-size must be >= 2, got {self.batch_size}"),
            (not (math.isfinite(self.lr) and self.lr > 0), f"--lr must be a positive number, got {self.lr}"),
            (self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"),
             f"--device must be auto, cpu or cuda, got {self.device!r}"),
            (self.precision not in PRECISIONS,
             f"--precision must be {', '.join(PRECISIONS[:-1])} or {PRECISIONS[-1]}, got {self.precision!r}"),
            (self.executor not in ("local", "ray"), f"--executor must be local or ray, got {self.executor!r}"),
            (self.workers < 1, f"--workers must be >= 1, got {self.workers}"),
            (self.train_from_test is not None and not 0 < self.train_from_test < 1,
             f"--train-from-test must be between 0 and 1, got {self.train_from_test}"),
            (self.cache_dtype not in ("int16", "float16"), f"cache_dtype must be int16 or float16, got {self.cache_dtype!r}"),
            (not self.backends, "--backend: at least one back-end is needed"),
            (len(set(self.backends)) != len(self.backends), f"--backend: a back-end is listed twice: {self.backends}"),
        ]
        problems = [message for failed, message in checks if failed] + self._executor_problems()
        if self.init_weights is not None:
            problems += initial_weights_problems(Path(self.init_weights))
        if self.tensorboard and not tensorboard_installed():
            problems.append(TENSORBOARD_MISSING)
        for name in sorted(set(self.backend_options) - set(self.backends)):
            problems.append(f"backend_options: options for back-end {name!r}, which is not in --backend "
                            f"({', '.join(self.backends)})")
        return problems

    def _executor_problems(self) -> list[str]:
        """Ranges of --threads and the executor options, and options of one executor given to another."""
        checks: list[tuple[bool, str]] = [
            (self.threads < 1, f"--threads must be an integer >= 1, got {self.threads}"),
            (self.max_retries < 0, f"--max-retries must be an integer >= 0, got {self.max_retries}"),
            (self.cpus_per_trial is not None and self.cpus_per_trial < 1,
             f"--cpus-per-trial must be an integer >= 1, got {self.cpus_per_trial}"),
            (self.trial_timeout is not None and not (math.isfinite(self.trial_timeout) and self.trial_timeout > 0),
             f"--trial-timeout must be a number of seconds > 0, got {self.trial_timeout}"),
        ]
        if self.executor == "ray":
            checks += [
                (self.workers != 1, "--workers applies to the local executor; on Ray, --cpus-per-trial sizes "
                                    "the tasks and the cluster decides how many run at once"),
                (self.device.startswith("cuda:"), f"--device {self.device}: Ray assigns each task its GPU; "
                                                  "use --device cuda"),
            ]
        else:
            given = [flag_of(name) for name in RAY_ONLY_OPTIONS if getattr(self, name) != _DEFAULTS[name]]
            checks += [(bool(given), f"{', '.join(given)} only apply to --executor ray"),
                       (self.address is not None, "--address only applies to --executor ray")]
        return [message for failed, message in checks if failed]


def flag_of(name: str) -> str:
    """The command-line flag of RunConfig field ``name`` (``--ssl`` for ``systems``)."""
    option = {f.name: f for f in fields(RunConfig)}[name].metadata.get("cli")
    return option.flag if option is not None and option.flag else "--" + name.replace("_", "-")


TENSORBOARD_MISSING = "--tensorboard needs the tensorboard package (pip install tensorboard)"


def tensorboard_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


_HINTS = typing.get_type_hints(RunConfig)


def type_problems(config: RunConfig) -> list[str]:
    """One line per field whose value has the wrong type (TOML ``epochs = 1.5``, ``seeds = ["a"]``)."""
    problems = []
    for f in fields(config):
        value = getattr(config, f.name)
        if not matches(value, _HINTS[f.name]):
            problems.append(f"{f.name}: expected {type_name(_HINTS[f.name])}, got {value!r}")
    return problems


INITIAL_WEIGHT_SUFFIXES = (".npz", ".pt")


def initial_weights_problems(path: Path) -> list[str]:
    """``--init-weights``: an existing ``.npz`` (Keras key scheme) or ``.pt`` (embedder state_dict)."""
    if path.suffix not in INITIAL_WEIGHT_SUFFIXES:
        return [f"--init-weights {path}: expected a .npz file of Keras weights (docs/fidelity.md) "
                "or a .pt embedder state_dict such as a trial's weights.pt"]
    if not path.is_file():
        return [f"--init-weights: file not found: {path}"]
    return []


_FIELDS = {f.name for f in fields(RunConfig)}
_DEFAULTS = {f.name: f.default for f in fields(RunConfig) if f.name in EXECUTOR_OPTIONS}


def load_toml(path: Path) -> dict[str, Any]:
    """Read an experiment file. ``[[system]]`` tables may define inline systems (name + spec)."""
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"--config: file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"--config {path}: is a folder, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--config {path}: not UTF-8 text (TOML files are UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path}: invalid TOML ({exc})") from None
    run_table = raw.get("run", raw)
    if not isinstance(run_table, dict):
        raise ConfigError(f"--config {path}: 'run' must be a table, got {run_table!r}")
    values = dict(run_table)
    values.pop("system", None)
    systems = raw.get("system")
    if systems is not None:
        if not isinstance(systems, list) or not all(isinstance(s, dict) and isinstance(s.get("spec"), str) for s in systems):
            raise ConfigError(f"--config {path}: every [[system]] needs a 'spec' string")
        values["systems"] = [s["spec"] for s in systems]
    if "seeds" in values and isinstance(values["seeds"], int) and not isinstance(values["seeds"], bool):
        if values["seeds"] < 1:
            raise ConfigError(f"--config {path}: seeds must be >= 1 (a count) or a list of seeds, got {values['seeds']}")
        values["seeds"] = list(range(values["seeds"]))
    unknown = sorted(set(values) - _FIELDS - {"paper"})
    if unknown:
        raise ConfigError(f"--config {path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})")
    if "paper" in values:
        values["reference"] = values.pop("paper")
        csv = values["reference"].get("reference_csv") if isinstance(values["reference"], dict) else None
        if isinstance(csv, str) and not Path(csv).expanduser().is_absolute():
            # absolute in run.json, so that `compare --layout paper` finds it from anywhere
            values["reference"]["reference_csv"] = str((path.parent / csv).resolve())
    for key in ("data", "init_weights"):
        if isinstance(values.get(key), str):
            given = Path(values[key]).expanduser()
            values[key] = str(given if given.is_absolute() else (path.parent / given).resolve())
    if "ray_runtime_env" in values:
        from .ray_env import runtime_env_from_toml

        values["ray_runtime_env"] = runtime_env_from_toml(values["ray_runtime_env"], path)
    return values


def make_config(config_file: Path | None, overrides: dict[str, Any]) -> RunConfig:
    """Defaults < config file < command line (options the user did not give are ``None``)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(load_toml(config_file))
    from_file = set(values)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        config = RunConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
    problems = config.problems()
    if config_file is not None:  # a wrongly typed value can only come from the file: name it
        problems = [f"--config {config_file}: {p}" if p.split(":")[0] in from_file else p for p in problems]
    if problems:
        raise PreflightError(problems)
    return config


def given_values(config_file: Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """What this invocation asks for: the config file's keys and the options given (not None)."""
    values: dict[str, Any] = load_toml(config_file) if config_file is not None else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return values


def resume_config(stored: RunConfig, given: dict[str, Any]) -> RunConfig:
    """The experiment of ``--resume``: the stored one, with this invocation's executor options (a
    run may move to another executor or cluster: they never change a number) and
    :data:`RESUME_CHANGEABLE` options; ``systems`` and ``seeds`` may only add (the new trials are
    trained, the old ones kept). Any other option that contradicts the stored experiment is an
    error. Switching ``--executor`` starts from that executor's defaults; otherwise executor
    options not given keep their stored values."""
    old = stored.to_dict()
    clashes = [f"{k} = {v!r} (the run has {old[k]!r})" for k, v in given.items()
               if k not in EXECUTOR_OPTIONS and k not in RESUME_CHANGEABLE and k not in RESUME_GROWABLE
               and k in old and v != old[k]]
    if clashes:
        raise ConfigError(f"--resume: {'; '.join(clashes)}; a resumed run keeps its experiment, only executor "
                          f"options ({', '.join(EXECUTOR_OPTIONS)}) and {', '.join(RESUME_CHANGEABLE)} may change, "
                          f"and {' and '.join(RESUME_GROWABLE)} may be added")
    values = dict(old)
    if given.get("executor") not in (None, stored.executor):
        values.update({name: _DEFAULTS[name] for name in EXECUTOR_OPTIONS})
    values.update({k: v for k, v in given.items() if k in (*EXECUTOR_OPTIONS, *RESUME_CHANGEABLE) and v is not None})
    for key in RESUME_GROWABLE:  # --resume --ssl X / --seeds N: add what is new
        added = [v for v in given.get(key) or [] if v not in values[key]]
        values[key] = list(values[key]) + added
    return RunConfig(**values).validate()
