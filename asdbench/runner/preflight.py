"""Pre-flight: everything about a run that can be checked before data preparation and training.

A run is exactly the experiment asked for, or it does not start: every system spec resolves,
every component is instantiated once with its options, device and precision fit this machine,
no two systems share a folder, the output folder can be written. All problems are collected and
raised together (:class:`~asdbench.errors.PreflightError`), before the run directory exists.
The second stage (:func:`check_model`) needs the dataset (clip length, number of classes) but
still runs before the clip cache is built and before anything is trained.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..components import Dataset, SystemSpec
from ..data.editions import scoring_edition_of
from ..errors import AsdbenchError, ConfigError, PreflightError
from ..plugins import resolve
from ..results.layout import RUN_FILE, safe_name
from ..systems import resolve_system
from .config import RunConfig


def check_run_name(name: str | None) -> None:
    """``--name`` is one folder inside ``--out``: no ``..``, no absolute path, no separator."""
    if name is None:
        return
    if not name or name in (".", "..") or "/" in name or "\\" in name or os.sep in name or "\0" in name:
        raise PreflightError([f"--name {name!r}: must be a single folder name inside --out "
                              "(no '/', no '..', not absolute)"])


def check_experiment(config: RunConfig, run_dir: Path | None = None, resume: bool = False) -> dict[str, SystemSpec]:
    """The resolved systems of ``config``; raises one :class:`PreflightError` with every problem."""
    problems = config.problems()
    if problems:
        raise PreflightError(problems)
    systems: dict[str, SystemSpec] = {}
    for spec in config.systems:
        try:
            systems[spec] = resolve_system(spec)
        except AsdbenchError as exc:
            problems.append(str(exc))
    problems += folder_collisions(config.systems, "--ssl") + folder_collisions(config.backends, "--backend")
    problems += component_problems(config)
    problems += backend_problems(config)
    problems += device_problems(config)
    if run_dir is not None:
        problems += output_problems(run_dir, resume)
    if problems:
        raise PreflightError(problems)
    return systems


def folder_collisions(names: list[str], option: str) -> list[str]:
    """Two names that map to the same folder of the run directory would overwrite each other."""
    folders: dict[str, list[str]] = defaultdict(list)
    problems = []
    for name in names:
        try:
            folders[safe_name(name)].append(name)
        except ValueError as exc:
            problems.append(f"{option} {name!r}: {exc}")
    for folder, clashing in folders.items():
        if len(clashing) > 1:
            problems.append(f"{option}: {' and '.join(repr(n) for n in clashing)} would share the folder {folder!r}; "
                            "rename one of them")
    return problems


def component_problems(config: RunConfig) -> list[str]:
    """The dataset, embedder and loss named by the config exist (their options are checked by
    :func:`check_model`, which needs the data's clip length)."""
    problems = []
    for kind, name in (("dataset", config.dataset), ("embedder", config.embedder), ("loss", config.loss)):
        try:
            resolve(kind, name)
        except AsdbenchError as exc:
            problems.append(f"--{kind}: {exc}")
    return problems


def backend_problems(config: RunConfig) -> list[str]:
    """Every back-end resolves and accepts its options (instantiated once, not fitted)."""
    problems = []
    for name in config.backends:
        try:
            resolve("backend", name).factory(seed=0, **config.backend_options.get(name, {}))
        except AsdbenchError as exc:
            problems.append(f"--backend {name}: {exc}")
        except (TypeError, ValueError) as exc:
            problems.append(f"--backend {name}: bad option ({exc})")
    return problems


def device_problems(config: RunConfig) -> list[str]:
    """Device and precision against this machine. Not for a Ray cluster (``--address`` or
    ``RAY_ADDRESS``): its nodes are checked when it is reached (``ray_resources.check_feasible``),
    and this machine may have no GPU at all."""
    from .ray_connect import cluster_address

    if config.executor == "ray" and cluster_address(config)[0] is not None:
        return []
    import torch

    from ..training.device import pick_device, resolve_precision

    try:
        device = pick_device(config.device)
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            return [f"--device {config.device}: this machine has {torch.cuda.device_count()} CUDA device(s)"]
        resolve_precision(device, config.precision)
    except AsdbenchError as exc:
        return [str(exc)]
    return []


def output_problems(run_dir: Path, resume: bool) -> list[str]:
    """The run directory can be created (or, with ``--resume``, exists), without creating it."""
    run_dir = Path(run_dir)
    if resume:
        return [] if (run_dir / RUN_FILE).is_file() else [f"--resume: no {RUN_FILE} in {run_dir}"]
    if (run_dir / RUN_FILE).exists():
        return [f"--out: {run_dir} already holds a run; use --resume to continue it or choose another --name"]
    existing = run_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [f"--out: {existing} is a file, not a folder"]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [f"--out: cannot create {run_dir}: {existing} is not writable"]
    return []


def check_model(config: RunConfig, systems: dict[str, SystemSpec], dataset: Dataset) -> None:
    """Instantiate every system's embedder, loss heads and augmenters once with the data's clip
    length and class count (cheap: no data is read, nothing is trained)."""
    from .trial import build_model

    n_classes = len(dataset.train_classes())
    problems = []
    for spec, system in systems.items():
        try:
            build_model(config, system, config.seeds[0], dataset.length_policy.samples, max(n_classes, 1))
        except AsdbenchError as exc:
            problems.append(f"--ssl {spec!r}: {exc}")
        except (TypeError, ValueError) as exc:
            problems.append(f"--ssl {spec!r}: bad option ({exc})")
    if problems:
        raise PreflightError(problems)


def dataset_option_problems(config: RunConfig, factory: Callable[..., Any]) -> list[str]:
    """``dataset_options`` must be options the dataset factory takes (e.g. ``resample``)."""
    import inspect

    from ..builtin.options import check_option_type

    params = inspect.signature(factory).parameters
    takes = {n for n, p in params.items() if p.kind == p.KEYWORD_ONLY or (p.kind == p.POSITIONAL_OR_KEYWORD and n != "root")}
    takes -= {"seed", "preset"}  # set by --data-seed and --preset
    problems = []
    for key, value in config.dataset_options.items():
        if key not in takes:
            problems.append(f"dataset_options: dataset {config.dataset!r} has no option {key!r} "
                            f"(options: {', '.join(sorted(takes)) or 'none'})")
            continue
        try:
            check_option_type(f"dataset {config.dataset}", params[key], value)
        except AsdbenchError as exc:
            problems.append(f"dataset_options: {exc}")
    return problems


class Plan:
    """A checked experiment: the config, its resolved systems and its (scanned) dataset."""

    def __init__(self, config: RunConfig, systems: dict[str, SystemSpec], dataset: Dataset):
        self.config = config
        self.systems = systems
        self.dataset = dataset

    def describe(self) -> str:
        """What ``asdbench run --dry-run`` prints: systems, trials, dataset, skipped files."""
        from ..data.problems import summarise_problems
        from ..systems import describe_system

        c, d = self.config, self.dataset
        lines = ["Systems:"]
        for spec, system in self.systems.items():
            info = describe_system(spec, system)
            augmenters = " -> ".join(f"{a['name']} {a['options']}" for a in info["augmenters"]) or "none"
            lines.append(f"  {spec}: heads {', '.join(info['heads'])}; SSL label factor {info['ssl_label_factor']}; "
                         f"augmenters {augmenters}")
            flags = {k: info[k] for k in ("ssl_class_labels", "ssl_trainable_centres", "losses") if info[k] != {}}
            lines.append(f"    options {info['options']} {flags}")
        trials = len(c.systems) * len(c.seeds)
        lines += [
            f"Trials: {trials} = {len(c.systems)} system(s) x seeds {c.seeds}",
            f"Training: embedder {c.embedder} {c.embedder_options or ''}, loss {c.loss} {c.loss_options or ''}, "
            f"{c.epochs} epochs, batch {c.batch_size}, lr {c.lr:g}, device {c.device}, precision {c.precision}",
            f"Back-ends: {', '.join(c.backends)} {c.backend_options or ''}",
            (f"Executor: ray on {c.address or 'RAY_ADDRESS or a new local instance'} (checked when the run starts), "
             f"{c.cpus_per_trial or 'default'} CPU(s) per trial" if c.executor == "ray"
             else f"Executor: {c.executor}, {c.workers} worker(s)") + f"; {c.threads} thread(s) per trial",
            f"Dataset: {d.name} (version {d.version}) at {d.root}",
            f"  {len(d.select(subset='train'))} training clips, {len(d.select(subset='test'))} test clips, "
            f"{len(d.train_classes())} classes, {d.sample_rate} Hz, {d.length_policy.samples} samples per clip "
            f"({d.length_policy.mode})",
        ]
        lines += [f"  {line}" for line in summarise_problems(d.problems)]
        return "\n".join(line.rstrip() for line in lines) + "\n"


def plan_run(config: RunConfig, run_dir: Path | None = None, resume: bool = False) -> Plan:
    """Pre-flight of a whole run: config and components, then the dataset (scanned, not cached),
    then the model of every system. Raises before anything is written."""
    from .data import select_dataset

    systems = check_experiment(config, run_dir, resume)
    dataset = select_dataset(config)
    if resume and run_dir is not None:
        from .resume import dataset_differences

        differences = dataset_differences(run_dir, dataset, config.cache_dtype)
        if differences:
            raise PreflightError([f"--resume: the data changed since {run_dir} was started (its seeds would be "
                                  f"trained on different data): {'; '.join(differences)}"])
    if config.strict_data and dataset.problems:
        shown = dataset.problems[:10]
        more = [f"... and {len(dataset.problems) - len(shown)} more"] if len(dataset.problems) > len(shown) else []
        raise PreflightError([f"--strict-data: {len(dataset.problems)} file problem(s) in {dataset.root}:"]
                             + [f"  {p}" for p in shown] + more)
    try:
        scoring_edition_of(dataset)  # a dataset without an official scoring rule fails here, not after training
    except ConfigError as exc:
        raise PreflightError([str(exc)]) from None
    check_model(config, systems, dataset)
    return Plan(config, systems, dataset)
