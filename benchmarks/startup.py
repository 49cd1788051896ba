"""Start-up time of the ``asdbench`` commands that do not train: median of several process starts.

Why a script and not a timed test: wall time depends on the machine and its load; the test
suite only checks the cause (``tests/test_cli_startup.py``: these commands do not import torch),
this script measures the effect. Each command line runs ``--repeat`` times as a fresh process
(the installed ``asdbench`` entry point, the way a user or a shell's tab completion starts it);
the report gives the median and the fastest wall time and the peak RSS of the median run.
``asdbench run --help`` is included for comparison with a command whose module imports torch
lazily too; ``python -c "import torch"`` shows what every command used to pay.

Usage: ``python benchmarks/startup.py [--repeat 7] [--json OUT]`` (from the repository root, with
the virtual environment's ``asdbench`` on PATH or in ``.venv/bin``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _asdbench() -> str:
    local = Path(sys.executable).parent / "asdbench"
    return str(local) if local.exists() else (shutil.which("asdbench") or "asdbench")


def cases(run_dir: Path) -> dict[str, list[str]]:
    exe = _asdbench()
    completion = {"_ASDBENCH_COMPLETE": "bash_complete", "COMP_WORDS": "asdbench run --ssl ba", "COMP_CWORD": "3"}
    return {
        "asdbench --help": [exe, "--help"],
        "asdbench --version": [exe, "--version"],
        "asdbench plugins": [exe, "plugins"],
        "asdbench describe backend kmeans": [exe, "describe", "backend", "kmeans"],
        "asdbench describe augmenter": [exe, "describe", "augmenter"],
        "asdbench describe embedder two-branch --no-layers": [exe, "describe", "embedder", "two-branch", "--no-layers"],
        "asdbench describe augmenter featex": [exe, "describe", "augmenter", "featex"],
        "asdbench describe system combined": [exe, "describe", "system", "combined"],
        "asdbench describe loss adaproj": [exe, "describe", "loss", "adaproj"],
        "asdbench compare RUN": [exe, "compare", str(run_dir)],
        "asdbench evaluate --help": [exe, "evaluate", "--help"],
        "completion of --ssl ba<TAB>": [exe, json.dumps(completion)],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
    }


def _one(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, from ``wait4``) of one process start."""
    env = dict(os.environ)
    if argv[-1].startswith("{"):  # completion: the variables click reads, no arguments
        env.update(json.loads(argv[-1]))
        argv = argv[:-1]
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        err = subprocess.run(argv, env=env, capture_output=True, text=True).stderr.strip()[-300:]
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}): {err}")
    return seconds, usage.ru_maxrss / 1024.0


def _tiny_run(folder: Path) -> Path:
    """A run directory for ``compare``: official metrics of random scores, two systems x two seeds."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(HERE.parent))
    from asdbench.results.tables import write_results_table
    from asdbench.scoring.metrics import score_clips

    rng = np.random.default_rng(0)
    n = 40
    clips = pd.DataFrame({
        "file": [f"clip{i:03d}.wav" for i in range(2 * n)], "machine": ["fan"] * n + ["valve"] * n,
        "section": "00", "split": "dev", "domain": (["source", "target"] * n), "label": ([0] * 5 + [1] * 5) * (n // 5),
    })
    frames = []
    for system in ("baseline", "combined"):
        for seed in (0, 1):
            table = clips.assign(score=rng.random(len(clips)) + clips.label * 0.3, decision=0)
            metrics = score_clips(table, dataset_version="2023")
            frames.append(metrics.assign(system=system, seed=seed, backend="kmeans"))
    run = folder / "run"
    run.mkdir()
    write_results_table(run / "results.csv", pd.concat(frames, ignore_index=True))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, argv in cases(_tiny_run(Path(tmp))).items():
            _one(argv)  # warm the page cache
            runs = sorted(_one(argv) for _ in range(args.repeat))
            median = statistics.median(s for s, _ in runs)
            results[label] = {"median_s": round(median, 3), "min_s": round(runs[0][0], 3),
                              "peak_rss_mb": round(runs[len(runs) // 2][1], 1), "repeat": args.repeat}
            print(f"{label:<50} median {median:6.3f} s   min {runs[0][0]:6.3f} s", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(load average {load:.1f} on {os.cpu_count()} cores)")
    if args.json is not None:
        sys.path.insert(0, str(HERE.parent))
        from asdbench.atomic import atomic_write_json

        atomic_write_json(args.json, {"cases": results, "load_average": load, "cpus": os.cpu_count()})


if __name__ == "__main__":
    main()
