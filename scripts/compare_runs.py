"""Compare two run directories: every CSV byte for byte (history.csv without its timing columns),
JSON records without timings, timestamps, pids and versions, npz arrays and torch tensors exactly.

Why: refactors of the pipeline must reproduce a recorded run. Record one before the change,
re-run the same command after it, then ``python scripts/compare_runs.py GOLDEN NEW``: exit 0
when nothing but volatile fields differ, else one line per difference.

The reference used for the layout of issue 18 (~40 s on 2 cores)::

    asdbench run --ssl baseline combined --seeds 1 --epochs 2 --threads 1 --backend kmeans knn \\
        --out golden --name before --quiet
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

VOLATILE = {"timings", "created_at", "finished_at", "resumed_at", "at", "process", "pid", "command", "versions",
            "runtime", "executions", "train_clips_per_s", "scoring_s", "asdbench_trial"}
HISTORY_TIMING = ("seconds", "clips_per_s")


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _same(a: Path, b: Path) -> tuple[bool, str]:
    if a.name == "history.csv":
        x, y = pd.read_csv(a), pd.read_csv(b)
        columns = [c for c in x.columns if c not in HISTORY_TIMING]
        return list(x.columns) == list(y.columns) and x[columns].equals(y[columns]), ""
    if a.suffix == ".csv":
        return a.read_bytes() == b.read_bytes(), ""
    if a.suffix == ".json":
        x, y = _strip(json.loads(a.read_text())), _strip(json.loads(b.read_text()))
        keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k)) if isinstance(x, dict) else []
        return x == y, f" (keys: {', '.join(keys)})" if keys else ""
    if a.suffix == ".npz":
        with np.load(a) as x, np.load(b) as y:
            return sorted(x.files) == sorted(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files), ""
    if a.suffix == ".pt":
        import torch

        x, y = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
        return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x), ""
    return a.read_bytes() == b.read_bytes(), ""


def compare(golden: Path, new: Path) -> list[str]:
    files_a = {p.relative_to(golden) for p in golden.rglob("*") if p.is_file()}
    files_b = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    problems = [f"only in {golden if p in files_a else new}: {p}" for p in sorted(files_a ^ files_b)]
    for rel in sorted(files_a & files_b):
        same, detail = _same(golden / rel, new / rel)
        if not same:
            problems.append(f"differs: {rel}{detail}")
    print(f"{len(files_a & files_b)} files compared, {len(problems)} differences")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/compare_runs.py GOLDEN_RUN_DIR NEW_RUN_DIR")
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    for line in found:
        print(line)
    sys.exit(1 if found else 0)
