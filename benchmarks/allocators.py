"""Peak memory and step time of paper-preset training under each C allocator, step by step.

Why a script of its own: the allocator decides how far the peak RSS sits above the live peak
(fragmentation), and that can grow for several steps, so a 3-step measurement can mislead. For
every allocator found on this machine (glibc's malloc with and without asdbench's heap reuse,
jemalloc as asdbench configures it and with its defaults, tcmalloc) a fresh process trains the
proposed approach (``combined``, batch 64, 18-s clips) for ``--steps`` steps and reports the
peak RSS (VmHWM) after every step and the median step time. The cases run one after another, so
compare step times only within one run of the script on a quiet machine.

Usage: ``python benchmarks/allocators.py [--precision bf16 fp32] [--steps 20] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def child(precision: str, steps: int, reuse: bool) -> dict[str, Any]:
    """Runs in a fresh process: ``steps`` training steps on noise batches (the content does not
    change the cost), with the peak RSS after each."""
    import numpy as np
    import torch

    sys.path.insert(0, str(HERE))
    from speed import CLASSES, SAMPLES, Variant, peak_rss_mb, training_step

    from asdbench.allocator import host_memory_reuse, serving_allocator

    _, step = training_step(Variant("optimised", precision, channels_last=True, reuse_host_memory=reuse))
    rng = np.random.default_rng(0)
    eye = torch.eye(CLASSES)
    peaks, times = [], []
    with host_memory_reuse(reuse):
        for _ in range(steps):
            wave = torch.from_numpy((0.1 * rng.standard_normal((64, SAMPLES))).astype(np.float32))
            y = eye[torch.as_tensor(rng.integers(0, CLASSES, 64))]
            t0 = time.perf_counter()
            step(wave, y)
            times.append(time.perf_counter() - t0)
            peaks.append(round(peak_rss_mb()))
    return {"allocator": serving_allocator(), "peak_rss_mb_per_step": peaks,
            "step_s_median": round(statistics.median(times[1:] or times), 3)}


def cases() -> list[tuple[str, dict[str, str], bool]]:
    """(label, environment, host-memory reuse) for every allocator installed here."""
    from asdbench.allocator import ENV, find_allocator, preload_environment, without_allocator

    base = without_allocator(os.environ)
    system = {**base, ENV: "system"}
    out = [("glibc, heap reuse", system, True), ("glibc, --low-memory", system, False)]
    jemalloc = find_allocator("jemalloc")
    if jemalloc:
        out.append(("jemalloc, asdbench's MALLOC_CONF", preload_environment(base, jemalloc), True))
        out.append(("jemalloc, defaults", preload_environment({**base, "MALLOC_CONF": ""}, jemalloc), True))
    tcmalloc = find_allocator("tcmalloc")
    if tcmalloc:
        out.append(("tcmalloc", preload_environment(base, tcmalloc), True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", nargs="+", default=["bf16", "fp32"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=3, metavar=("PRECISION", "STEPS", "REUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        precision, steps, reuse = args.child
        print(json.dumps(child(precision, int(steps), reuse == "1")))
        return
    results = []
    for precision in args.precision:
        for label, env, reuse in cases():
            cmd = [sys.executable, __file__, "--child", precision, str(args.steps), "1" if reuse else "0"]
            run = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{precision:5s} {label:34s} failed: {run.stderr.strip().splitlines()[-1:]}", flush=True)
                continue
            row = {"precision": precision, "case": label, **json.loads(run.stdout.strip().splitlines()[-1])}
            results.append(row)
            peaks = row["peak_rss_mb_per_step"]
            print(f"{precision:5s} {label:34s} ({row['allocator']}): peak RSS {peaks[0]} MB after step 1, "
                  f"{peaks[len(peaks) // 2 - 1]} after {len(peaks) // 2}, {peaks[-1]} after {len(peaks)}; "
                  f"median step {row['step_s_median']} s", flush=True)
    if args.json is not None:
        from asdbench.atomic import atomic_write_json

        atomic_write_json(args.json, results)


if __name__ == "__main__":
    main()
