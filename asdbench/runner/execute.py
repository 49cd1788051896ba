"""``execute``: the one entry point of a run, used by ``asdbench run`` and by Python callers."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from ..errors import DataError
from ..reports.formatting import percent
from ..results.layout import SKIPPED_FILES
from ..results.records import TrialRecord
from .config import RunConfig
from .data import prepare
from .executors import run_processes
from .orchestrator import (
    RunState,
    finish_run,
    mark_interrupted,
    start_run,
    trials_of,
    write_results,
)
from .preflight import Plan, plan_run
from .processes import RunInterrupted, interrupts_raise
from .progress import make_progress
from .ray_connect import RaySession, ray_session
from .ray_executor import run_ray
from .resume import remove_stale_temporaries, write_dataset_record
from .trial import Trial, read_trial_record, run_trial, trial_finished


@dataclass
class RunOutcome:
    run_dir: Path
    results: pd.DataFrame
    failed: list[str]
    skipped: list[str]
    errors: dict[str, str] = field(default_factory=dict)  # failed trial -> its error


def _status_line(done: int, total: int, trial: Trial, record: TrialRecord) -> str:
    if not record.done:
        return f"[{done}/{total}] {trial.system} seed {trial.seed}: FAILED ({record.error or 'unknown error'})"
    parts = []
    for backend, info in record.backends.items():
        scores = ", ".join(f"{split} {percent(value)}" for split, value in sorted(info.get("official_score", {}).items()))
        parts.append(f"{backend}: {scores or 'no labelled test clips'}")
    seconds = record.timings.get("total_s", 0.0)
    return (f"[{done}/{total}] {trial.system} seed {trial.seed}: official score (%) {'; '.join(parts)} "
            f"({seconds:.0f} s)")


def report_skipped_files(problems: list[str], run_dir: Path, new: list[str] | None = None) -> None:
    """Before training: one summary of skipped files on the terminal (of ``new`` ones, when
    given: files that failed while decoding), the full list in the run directory."""
    from ..atomic import atomic_write_text
    from ..data.problems import summarise_problems

    if not problems:
        return
    atomic_write_text(run_dir / SKIPPED_FILES, "".join(f"{p}\n" for p in problems))
    prefix = "data (while decoding)" if new else "data"
    for line in summarise_problems(new or problems, run_dir / SKIPPED_FILES):
        print(f"{prefix}: {line}", file=sys.stderr, flush=True)


def _unfinished(run_dir: Path, trials: list[Trial]) -> list[Trial]:
    return [t for t in trials if not trial_finished(run_dir, t)]


def _executor(config: RunConfig, run_dir: Path, resume: bool,
              report: Callable[[str], None]) -> AbstractContextManager[RaySession | None]:
    """The Ray session for ``--executor ray`` (connected and checked, or a ConfigError) when any
    trial is left to run; nothing for the local executors."""
    if config.executor != "ray":
        return nullcontext(None)
    trials = trials_of(config)
    if resume and not _unfinished(run_dir, trials):
        return nullcontext(None)  # e.g. --resume of a finished run: no cluster needed
    return ray_session(config, report)


def execute(config: RunConfig, run_dir: Path, resume: bool = False, show_progress: bool = True,
            plan: Plan | None = None, verbose: bool = False) -> RunOutcome:
    """Run (or resume) the experiment in ``run_dir``; trial failures are recorded, not raised.

    Pre-flight (:func:`plan_run`) runs first unless ``plan`` is given, then, with ``--executor
    ray``, the cluster is reached and checked: a problem found there raises before the run
    directory exists. Progress goes to stderr (:mod:`.progress`): bars on a terminal, plain lines
    elsewhere; ``show_progress=False`` prints only failures and notes."""
    def report(line: str) -> None:
        tqdm.write(line, file=sys.stderr)

    plan = plan if plan is not None else plan_run(config, run_dir, resume)
    config = plan.config
    if resume:
        removed = remove_stale_temporaries(run_dir)
        if removed:
            report(f"resume: removed {len(removed)} stale temporary file(s) left by an interrupted write "
                   f"({', '.join(str(p.relative_to(run_dir)) for p in removed[:3])}{', ...' if len(removed) > 3 else ''})")
    with _executor(config, run_dir, resume, report) as session:
        execution = {"executor": config.executor, "workers": config.workers, "threads": config.threads}
        if session is not None:
            execution["ray"] = session.summary()
        t0 = time.perf_counter()
        state = start_run(config, run_dir, resume, execution)
        with interrupts_raise():
            try:
                return _execute(config, run_dir, resume, show_progress, plan, session, report, state, t0, verbose)
            except RunInterrupted as exc:
                mark_interrupted(state, run_dir, config, str(exc))
                raise
            except Exception as exc:  # e.g. the data cannot be cached: the run must not stay "running"
                with contextlib.suppress(Exception):  # a full disk fails this write too
                    state.fail(f"{type(exc).__name__}: {exc}")
                raise


def _execute(config: RunConfig, run_dir: Path, resume: bool, show_progress: bool, plan: Plan,
             session: RaySession | None, report: Callable[[str], None], state: RunState, t0: float,
             verbose: bool = False) -> RunOutcome:
    if not resume:
        state.record.dataset_fingerprint = write_dataset_record(run_dir, plan.dataset)
    report_skipped_files(plan.dataset.problems, run_dir)
    if show_progress:  # decoding into the clip cache can take minutes the first time
        print(f"data: preparing {plan.dataset.name} (decoded once into the clip cache)", file=sys.stderr, flush=True)
    data = prepare(config, dataset=plan.dataset)
    undecodable = data.dataset.problems[len(plan.dataset.problems):]
    if undecodable:
        report_skipped_files(data.dataset.problems, run_dir, new=undecodable)
        if config.strict_data:
            state.fail(f"--strict-data: {len(undecodable)} file(s) failed to decode")
            raise DataError(f"--strict-data: {len(undecodable)} file(s) failed to decode, first: {undecodable[0]}")
    state.record.dataset = data.summary()
    state.record.timings["data_s"] = round(time.perf_counter() - t0, 3)
    state.save()

    all_trials = trials_of(config)
    todo = _unfinished(run_dir, all_trials)
    skipped = [t.key for t in all_trials if t not in todo]
    report_progress = make_progress(len(all_trials), len(skipped), len(todo) * config.epochs,
                                    quiet=not show_progress, verbose=verbose)

    def on_done(trial: Trial, reported: dict[str, Any]) -> None:
        """``reported``: the trial's record as JSON, as a worker process or Ray task sends it."""
        record = TrialRecord.from_json(reported)
        state.set_trial(trial, record)
        write_results(run_dir, config)
        report_progress.trial_done(_status_line(report_progress.finished + 1, len(all_trials), trial, record),
                                   failed=not record.done)

    for trial in all_trials:
        if trial.key in skipped:
            # trial.json is the truth: a run killed between a trial's end and its run.json update
            # must not count that trial as unfinished
            state.set_trial(trial, read_trial_record(run_dir, trial))
            report_progress.note(f"skipping finished trial {trial.key}")
    try:
        if session is not None:
            run_ray(config, todo, run_dir, on_done, session, report if show_progress else None)
        elif config.workers > 1:
            run_processes(config, todo, run_dir, on_done)
        else:
            for trial in todo:
                report_progress.trial_started(f"{trial.system} seed {trial.seed}")
                on_done(trial, run_trial(config, trial, run_dir, data=data, progress=report_progress.update))
    finally:
        report_progress.close()
    table = finish_run(state, run_dir, config, data.scoring_edition)
    failed = state.record.failed_trials()
    errors = {k: state.record.trials[k].error or state.record.trials[k].status for k in failed}
    return RunOutcome(run_dir, table, failed, skipped, errors)
