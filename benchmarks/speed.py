"""Training, extraction and back-end speed at the paper preset: the optimised path next to plain
fp32 eager PyTorch, measured side by side in one process.

What is measured (18-s clips = 288000 samples, batch 64, the proposed approach ``combined``:
mixup -> StatEx -> FeatEx, regular head with C classes + SSL head with 9C classes, C = 28 like
DCASE2023):

1. training throughput (clips/s) of every variant: ``optimised`` (``--precision``, default bf16
   on CPUs with native bf16, channels-last, the preferred allocator: jemalloc or tcmalloc where
   installed, see asdbench/allocator.py), ``optimised+glibc`` (the same under glibc's malloc with
   the trainer's heap reuse; only when another allocator is in use), optionally ``optimised+compile``
   (``--compile``: ``torch.compile`` of the training graph, and of the extraction graph with
   frozen weights), and ``baseline`` (fp32, no channels-last, no autocast, no compile, glibc's
   malloc without heap reuse: plain PyTorch). The variants' steps are interleaved (A, B, A, B, ...), so a
   change in machine load hits all of them alike; the median step time is reported (the best
   one too). Each variant lives in its own process (its own allocator state and peak RSS).
2. embedding-extraction throughput (clips/s), eval mode, same interleaving.
3. back-end scoring time: the k-means back-end (16 clusters, 10 initialisations) fitted on
   14000 x 256 embeddings in 14 groups (990 source + 10 target each) and scoring 14 x 200 test
   embeddings.
4. peak RSS of training read from a DCASE2023-sized clip cache (``--rss-clips`` x 288000 int16,
   8 GB for 14000 clips): a fresh process opens the cache and trains ``--rss-steps`` steps on
   random batches read through :meth:`ClipCache.read`; other processes do the same on a
   cache 10x smaller (the peak does not grow with the dataset), under glibc's malloc with its
   heap reuse, and under glibc with reuse off (``--low-memory``).

Also reported: the machine's measured fp32 and bf16 matmul rate and the fraction of it each
variant reaches (training costs ~3x the forward MACs), load averages before and after.

Usage: ``python benchmarks/speed.py [--json OUT] [--quick] [--compile] [--steps N]``.
``--quick`` (about 3 minutes on 2 cores) times fewer steps and uses a 1400-clip cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

SAMPLES = 288000  # 18 s at 16 kHz: the paper preset
CLASSES = 28  # DCASE2023 training classes, about
SYSTEM = "combined"


def peak_rss_mb() -> float:
    """Peak resident set of this process (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def matmul_peak_gflops(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """Best observed n x n x n matmul rate: the 'physical limit' the network is compared with."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


@dataclass
class Variant:
    """One way of running the same network."""

    name: str
    precision: str
    channels_last: bool
    compile: bool = False
    reuse_host_memory: bool = True
    allocator: str = "preferred"  # or "system": glibc's malloc (see child_environment)
    step_s: list[float] = field(default_factory=list)
    extract_s: list[float] = field(default_factory=list)
    setup_s: float = 0.0
    first_step_s: float = 0.0


def train_config(v: Variant) -> Any:
    from asdbench.training.trainer import TrainConfig

    return TrainConfig(device="cpu", precision=v.precision, compile=v.compile, reuse_host_memory=v.reuse_host_memory)


def training_step(v: Variant, samples: int = SAMPLES) -> tuple[Any, Any]:
    """The model of variant ``v`` (train mode) and ``step(wave, y)``: one optimisation step of the
    system's trainer with Adam as the trainer builds it (the augmenters draw from a seeded generator)."""
    from asdbench.systems import build_training_model, resolve_system
    from asdbench.training.device import compile_embedder
    from asdbench.training.trainer import Trainer

    cfg = train_config(v)
    system = resolve_system(SYSTEM)
    model, pipeline = build_training_model(system, samples, CLASSES, seed=cfg.seed,
                                           embedder_options={"channels_last": v.channels_last})
    if v.compile:
        compile_embedder(model.embedder)
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3, eps=1e-7)
    trainer = Trainer(cfg)
    generator = torch.Generator().manual_seed(0)

    def step(wave: torch.Tensor, y: torch.Tensor) -> None:
        trainer._step(model, pipeline, optimizer, generator, wave, y)

    return model, step


def synthetic_batches(n_batches: int, batch: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Noise-like waveforms (fixed seed) with one-hot labels; the content does not change the cost."""
    rng = np.random.default_rng(seed)
    eye = torch.eye(CLASSES)
    out = []
    for _ in range(n_batches):
        wave = torch.from_numpy((0.1 * rng.standard_normal((batch, SAMPLES))).astype(np.float32))
        out.append((wave, eye[torch.as_tensor(rng.integers(0, CLASSES, batch))]))
    return out


def child_environment(allocator: str) -> dict[str, str]:
    """The environment of a child process: this one's (with the preferred allocator preloaded,
    if any), or for ``"system"`` without any preloaded allocator."""
    from asdbench.allocator import ENV, without_allocator

    return {**without_allocator(os.environ), ENV: "system"} if allocator == "system" else dict(os.environ)


class VariantWorker:
    """One variant in its own process (its own allocator state, model and peak RSS); the parent
    tells the workers in turn to run one step, so only one computes at a time."""

    def __init__(self, variant: Variant, batch: int, threads: int) -> None:
        import multiprocessing

        self.variant = variant
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_variant_main, args=(child, variant.name, variant.precision,
                                                                    variant.channels_last, variant.compile,
                                                                    variant.reuse_host_memory, batch, threads))
        saved, env = dict(os.environ), child_environment(variant.allocator)
        os.environ.clear()
        os.environ.update(env)  # a spawned child inherits it
        try:
            self.process.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        child.close()
        self.variant.setup_s = self._reply()

    def _reply(self) -> Any:
        kind, value = self.conn.recv()
        if kind == "error":
            raise RuntimeError(f"variant {self.variant.name} failed:\n{value}")
        return value

    def call(self, command: str, *args: Any) -> Any:
        self.conn.send((command, args))
        return self._reply()

    def close(self) -> None:
        self.conn.send(("stop", ()))
        self.process.join(timeout=60)


def _variant_main(conn: Any, name: str, precision: str, channels_last: bool, compile_: bool, reuse: bool,
                  batch: int, threads: int) -> None:
    """Child process: build the variant, then run the parent's commands until ``stop``."""
    import traceback

    try:
        torch.set_num_threads(threads)
        from asdbench.allocator import host_memory_reuse
        from asdbench.training.inference import extract_embeddings

        t0 = time.perf_counter()
        model, step = training_step(Variant(name, precision, channels_last, compile_, reuse))
        data = synthetic_batches(2, batch)
        waves = torch.cat([w for w, _ in data]).numpy()
        with host_memory_reuse(reuse):  # for the whole life of the process, as in a real run
            conn.send(("ok", time.perf_counter() - t0))
            while True:
                command, args = conn.recv()
                if command == "stop":
                    break
                t0 = time.perf_counter()
                if command == "train":
                    model.train()  # extraction leaves it in eval mode
                    step(*data[args[0] % len(data)])
                elif command == "extract":
                    extract_embeddings(model.embedder, lambda idx: waves[np.asarray(idx) % len(waves)], args[0],
                                       batch_size=batch, device=torch.device("cpu"), precision=precision,
                                       reuse_host_memory=reuse, compile=compile_)
                elif command == "rss":
                    conn.send(("ok", peak_rss_mb()))
                    continue
                elif command == "allocator":
                    from asdbench.allocator import serving_allocator

                    conn.send(("ok", serving_allocator()))
                    continue
                conn.send(("ok", time.perf_counter() - t0))
    except Exception:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def bench_variants(variants: list[Variant], steps: int, warmup: int, batch: int, extract_rounds: int,
                   extract_batches: int) -> dict[str, float]:
    """Interleaved training steps, then interleaved extraction rounds; returns peak RSS per variant."""
    threads = torch.get_num_threads()
    workers = [VariantWorker(v, batch, threads) for v in variants]
    try:
        for w in workers:
            w.variant.allocator = w.call("allocator")  # what the child really runs with
        for k in range(warmup + steps):
            for w in workers:
                elapsed = w.call("train", k)
                if k == 0:
                    w.variant.first_step_s = elapsed  # includes compilation for compiled variants
                if k >= warmup:
                    w.variant.step_s.append(elapsed)
                print(f"  train {w.variant.name:20s} step {k + 1}/{warmup + steps}: {elapsed:6.2f} s",
                      file=sys.stderr, flush=True)
        rss = {w.variant.name: w.call("rss") for w in workers}
        n = extract_batches * batch
        for r in range(extract_rounds + 1):  # round 0 is not timed (it compiles the compiled variant)
            for w in workers:
                elapsed = w.call("extract", n)
                if r > 0:
                    w.variant.extract_s.append(elapsed)
                print(f"  extract {w.variant.name:18s} round {r}/{extract_rounds}: {n / elapsed:6.1f} clips/s",
                      file=sys.stderr, flush=True)
        return rss
    finally:
        for w in workers:
            w.close()


def bench_backend(n_groups: int = 14, per_group: int = 1000, test_per_group: int = 200, dim: int = 256) -> dict[str, Any]:
    """k-means back-end fit + scoring on DCASE2023-sized embeddings."""
    from asdbench.plugins import resolve

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((n_groups, 32, dim))
    def sample(n: int, g: int) -> np.ndarray:
        return centres[g, rng.integers(0, 32, n)] + 0.3 * rng.standard_normal((n, dim))
    train = np.concatenate([sample(per_group, g) for g in range(n_groups)]).astype(np.float32)
    groups = np.repeat([f"m{g:02d}_00" for g in range(n_groups)], per_group)
    domains = np.tile(np.array(["source"] * (per_group - 10) + ["target"] * 10), n_groups)
    test = np.concatenate([sample(test_per_group, g) for g in range(n_groups)]).astype(np.float32)
    test_groups = np.repeat([f"m{g:02d}_00" for g in range(n_groups)], test_per_group)
    backend = resolve("backend", "kmeans").factory(seed=0)
    t0 = time.perf_counter()
    backend.fit(train, groups, domains)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = backend.score_samples(test, test_groups)
    score_s = time.perf_counter() - t0
    assert np.isfinite(scores).all()
    return {"train_embeddings": list(train.shape), "groups": n_groups, "test_embeddings": len(test),
            "fit_s": round(fit_s, 3), "score_s": round(score_s, 4), "total_s": round(fit_s + score_s, 3)}


# -- peak RSS reading from a large clip cache (fresh processes) ------------------------------------

def write_cache(folder: Path, n: int, samples: int = SAMPLES) -> Path:
    """An int16 clip-cache file of ``n`` rows (+ manifest) in the format ClipCache reads, filled
    with noise rows cycled from a block of 64 (real writes: the file is not sparse)."""
    from asdbench.data.cache import CACHE_FORMAT, _header_bytes

    rng = np.random.default_rng(0)
    block = (rng.standard_normal((64, samples)) * 3000).clip(-32768, 32767).astype("<i2")
    header = _header_bytes(block.dtype, (n, samples))
    path = folder / f"cache-{n}.npy"
    with open(path, "wb") as handle:
        handle.write(header)
        for start in range(0, n, len(block)):
            handle.write(block[: min(len(block), n - start)].tobytes())
    manifest = {"format": CACHE_FORMAT, "shape": [n, samples], "dtype": "int16", "header_bytes": len(header),
                "bytes": len(header) + n * samples * 2, "complete": True, "key": "speed-benchmark"}
    path.with_suffix(".json").write_text(json.dumps(manifest))
    return path


def child_rss(path: Path, steps: int, batch: int, precision: str, reuse: bool) -> dict[str, Any]:
    """Runs in a fresh process: train ``steps`` steps on random batches read from the cache."""
    from asdbench.allocator import host_memory_reuse, serving_allocator
    from asdbench.components import Clip
    from asdbench.data.cache import ClipCache

    manifest = json.loads(path.with_suffix(".json").read_text())
    n, samples = manifest["shape"]
    clips = [Clip(path, "bench", "00", "dev", "train", "source", "normal", "")] * n
    cache = ClipCache(path, path.with_suffix(".json"), manifest["key"], clips, samples, "int16", manifest["header_bytes"])
    _, step = training_step(Variant("optimised", precision, channels_last=True, reuse_host_memory=reuse), samples)
    rng = np.random.default_rng(0)
    eye = torch.eye(CLASSES)
    before = peak_rss_mb()
    t0 = time.perf_counter()
    with host_memory_reuse(reuse):
        for _ in range(steps):
            idx = rng.choice(n, size=batch, replace=False)
            wave = torch.from_numpy(cache.read(idx))
            y = eye[torch.as_tensor(rng.integers(0, CLASSES, batch))]
            step(wave, y)
    return {"clips_in_cache": n, "cache_gb": round(path.stat().st_size / 1e9, 2), "steps": steps,
            "precision": precision, "reuse_host_memory": reuse, "allocator": serving_allocator(),
            "seconds": round(time.perf_counter() - t0, 2), "rss_before_training_mb": round(before),
            "peak_rss_mb": round(peak_rss_mb())}


def bench_rss(clips: int, steps: int, batch: int, precision: str, work_dir: Path | None) -> dict[str, Any]:
    """Peak RSS of training from a small and a large cache (the default set-up: the preferred
    allocator, host-memory reuse on), and from the large one under glibc's malloc with heap reuse
    (when another allocator is the preferred one) and without it (``--low-memory``)."""
    from asdbench.allocator import serving_allocator

    out: dict[str, Any] = {}
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    cases = [("small", max(batch, clips // 10), True, "preferred"), ("large", clips, True, "preferred")]
    if serving_allocator() != "system":
        cases.append(("large_glibc", clips, True, "system"))
    cases.append(("large_glibc_no_reuse", clips, False, "system"))
    with tempfile.TemporaryDirectory(prefix="asdbench-speed-", dir=work_dir) as tmp:
        for label, n, reuse, allocator in cases:
            t0 = time.perf_counter()
            path = Path(tmp) / f"cache-{n}.npy"
            if not path.exists():
                for old in Path(tmp).glob("cache-*"):
                    old.unlink()
                path = write_cache(Path(tmp), n)
            write_s = time.perf_counter() - t0
            cmd = [sys.executable, __file__, "--child-rss", str(path), "--rss-steps", str(steps),
                   "--batch", str(batch), "--precision", precision] + ([] if reuse else ["--no-reuse"])
            result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                               env=child_environment(allocator)).stdout.strip().splitlines()[-1])
            result["write_s"] = round(write_s, 1)
            out[label] = result
            print(f"  peak RSS training from a {n}-clip cache ({result['cache_gb']} GB), {result['allocator']} "
                  f"malloc, host-memory reuse {'on' if reuse else 'off'}: {result['peak_rss_mb']} MB",
                  file=sys.stderr, flush=True)
    return out


# -- report ------------------------------------------------------------------------------------

def summarise(variants: list[Variant], batch: int, extract_batches: int, gflop_train: float, gflop_fwd: float,
              peaks: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in variants:
        med, best = statistics.median(v.step_s), min(v.step_s)
        train = batch / med
        peak = peaks["bf16" if v.precision == "bf16" else "fp32"]
        entry: dict[str, Any] = {
            "precision": v.precision, "channels_last": v.channels_last, "compile": v.compile,
            "reuse_host_memory": v.reuse_host_memory, "allocator": v.allocator,
            "train_step_s": [round(s, 3) for s in v.step_s], "train_step_median_s": round(med, 3),
            "train_clips_per_s": round(train, 2), "train_clips_per_s_best": round(batch / best, 2),
            "train_gflops": round(train * gflop_train, 1),
            "train_fraction_of_matmul_peak": round(train * gflop_train / peak, 3),
            "first_step_s": round(v.first_step_s, 2), "setup_s": round(v.setup_s, 2),
        }
        if v.extract_s:
            ext = extract_batches * batch / statistics.median(v.extract_s)
            entry.update({"extract_clips_per_s": round(ext, 2),
                          "extract_clips_per_s_best": round(extract_batches * batch / min(v.extract_s), 2),
                          "extract_fraction_of_matmul_peak": round(ext * gflop_fwd / peak, 3)})
        out[v.name] = entry
    base = out.get("baseline")
    if base:
        for name, entry in out.items():
            if name != "baseline":
                entry["train_speedup_vs_baseline"] = round(entry["train_clips_per_s"] / base["train_clips_per_s"], 2)
                if "extract_clips_per_s" in entry:
                    entry["extract_speedup_vs_baseline"] = round(entry["extract_clips_per_s"] / base["extract_clips_per_s"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="fewer steps and a 1400-clip cache (about 3 minutes)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None, help="timed training steps per variant (default 6, quick 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first steps per variant")
    parser.add_argument("--extract-batches", type=int, default=None, help="batches per extraction round (default 4, quick 2)")
    parser.add_argument("--extract-rounds", type=int, default=None, help="timed extraction rounds (default 3, quick 2)")
    parser.add_argument("--precision", default=None, help="precision of the optimised path (default bf16 with native bf16, else fp32)")
    parser.add_argument("--compile", action="store_true", help="also time the optimised path under torch.compile")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain fp32 eager baseline")
    parser.add_argument("--no-glibc", action="store_true", help="skip the optimised path under glibc's malloc")
    parser.add_argument("--no-rss", action="store_true", help="skip the large-cache peak-RSS measurement")
    parser.add_argument("--rss-clips", type=int, default=None, help="clips in the large cache (default 14000, quick 1400)")
    parser.add_argument("--rss-steps", type=int, default=6, help="training steps per peak-RSS process (glibc's heap grows over the first few)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the temporary cache files go")
    parser.add_argument("--child-rss", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-reuse", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rss is None:
        from asdbench.allocator import reexec_with_preferred_allocator

        reexec_with_preferred_allocator()  # as the asdbench command does
    if args.threads:
        torch.set_num_threads(args.threads)
    from asdbench.allocator import loaded_allocator, serving_allocator
    from asdbench.training.device import cpu_has_native_bf16

    precision = args.precision or ("bf16" if cpu_has_native_bf16() else "fp32")
    if args.child_rss is not None:
        print(json.dumps(child_rss(args.child_rss, args.rss_steps, args.batch, precision, not args.no_reuse)))
        return
    steps = args.steps or (3 if args.quick else 6)
    extract_batches = args.extract_batches or (2 if args.quick else 4)
    extract_rounds = args.extract_rounds or (2 if args.quick else 3)
    rss_clips = args.rss_clips or (1400 if args.quick else 14000)

    from asdbench.model.summary import summarize
    from asdbench.model.two_branch import TwoBranchEmbedder

    macs = summarize(TwoBranchEmbedder(SAMPLES), SAMPLES).total("macs")
    gflop_fwd = 2 * macs / 1e9
    gflop_train = 3 * gflop_fwd  # forward + backward (data and weight gradients)
    peaks = {"fp32": matmul_peak_gflops(torch.float32), "bf16": matmul_peak_gflops(torch.bfloat16)}
    results: dict[str, Any] = {
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "native_bf16": cpu_has_native_bf16(), "torch": torch.__version__,
                    "allocator": loaded_allocator(),
                    "platform": platform.platform(), "load_before": load(),
                    "matmul_gflops": {k: round(v, 1) for k, v in peaks.items()}},
        "workload": {"clip_samples": SAMPLES, "batch": args.batch, "system": SYSTEM, "classes": CLASSES,
                     "ssl_classes": 9 * CLASSES, "forward_gflop_per_clip": round(gflop_fwd, 2),
                     "train_gflop_per_clip": round(gflop_train, 2)},
    }
    print(f"matmul peak: fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s; "
          f"{gflop_train:.2f} GFLOP per training clip; load {load()}", file=sys.stderr, flush=True)
    variants = [Variant("optimised", precision, channels_last=True)]
    if serving_allocator() != "system" and not args.no_glibc:
        variants.append(Variant("optimised+glibc", precision, channels_last=True, allocator="system"))
    if args.compile:
        variants.append(Variant("optimised+compile", precision, channels_last=True, compile=True))
    if not args.no_baseline:
        variants.append(Variant("baseline", "fp32", channels_last=False, reuse_host_memory=False, allocator="system"))
    rss = bench_variants(variants, steps, args.warmup, args.batch, extract_rounds, extract_batches)
    results["variants"] = summarise(variants, args.batch, extract_batches, gflop_train, gflop_fwd, peaks)
    for name, mb in rss.items():
        results["variants"][name]["peak_rss_after_training_mb"] = round(mb)
    results["backend_kmeans"] = bench_backend()
    print(f"  k-means back-end: fit {results['backend_kmeans']['fit_s']} s, score {results['backend_kmeans']['score_s']} s",
          file=sys.stderr, flush=True)
    if not args.no_rss:
        results["peak_rss_training_from_cache"] = bench_rss(rss_clips, args.rss_steps, args.batch, precision, args.work_dir)
    results["machine"]["load_after"] = load()
    for name, entry in results["variants"].items():
        line = f"{name:18s} train {entry['train_clips_per_s']:6.1f} clips/s ({entry['train_fraction_of_matmul_peak']:.0%} of matmul peak)"
        if "extract_clips_per_s" in entry:
            line += f", extract {entry['extract_clips_per_s']:6.1f} clips/s"
        if "train_speedup_vs_baseline" in entry:
            line += f", x{entry['train_speedup_vs_baseline']} / x{entry.get('extract_speedup_vs_baseline', '-')} vs baseline"
        print(line)
    if args.json is not None:
        from asdbench.atomic import atomic_write_json

        atomic_write_json(args.json, results)


if __name__ == "__main__":
    main()
