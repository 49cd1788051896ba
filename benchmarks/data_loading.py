"""Data-layer throughput: decoding into the clip cache, and batch loading from a large cache.

1. decode + cache, in a fresh process: the real DCASE2023 valve clips (copied
   ``--decode-copies`` times into a temporary DCASE2023 tree) are scanned (headers probed),
   decoded, tiled/cropped to 18 s and written to an int16 cache; clips/s and peak RSS.
2. loading: a cache of ``--clips`` rows of 18 s (288000 int16 samples) is synthesised directly
   from the decoded real clips (cycled), so the large case needs no thousands of WAV files; then
   a *fresh process* (so its peak RSS covers loading only) reads shuffled batches of
   ``--batch`` clips the way training does (the trainer's epoch order, :meth:`ClipCache.read`
   with the next batch prefetched in a thread) for one epoch (or ``--batches``), once with the file evicted from the page cache (cold, disk-bound) and once
   warm. With ``--compare-memmap`` the same epoch is also read by fancy-indexing the memory map,
   to show why the loader uses positioned reads (RSS).

Usage: ``python benchmarks/data_loading.py [--clips 14000] [--json OUT]`` (defaults run in about
a minute). Training consumes about 30 clips/s; the target is loading >= 20x that and peak RSS
< 2 GB for a 14000 x 18 s cache.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VALVE = Path("/work/shared/data/dcase2023-dev-valve-test")
TRAINING_CLIPS_PER_S = 30.0


def peak_rss_mb() -> float:
    """Peak resident set of this process (VmHWM; ru_maxrss survives exec, so it would include
    the parent's peak in the child)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build_tree(source: Path, root: Path, copies: int) -> Path:
    """A DCASE2023 dev tree holding the real clips ``copies`` times (machine folders m00, m01, ...)."""
    for k in range(copies):
        shutil.copytree(source, root / "dev_data" / "raw" / f"m{k:02d}" / "test")
    return root


def child_decode(root: Path, cache_dir: Path) -> dict:
    """Runs in a fresh process: scan the tree, then decode it into a new int16 cache."""
    from asdbench.data.cache import open_clip_cache
    from asdbench.data.dcase import load_dataset

    t0 = time.perf_counter()
    dataset = load_dataset(root)
    scan_s = time.perf_counter() - t0
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    cache = open_clip_cache(dataset, None, cache_dir)
    build_s = time.perf_counter() - t0
    assert cache.built
    peak = peak_rss_mb()
    t0 = time.perf_counter()
    again = open_clip_cache(dataset, None, cache_dir)
    reopen_s = time.perf_counter() - t0
    assert not again.built
    n = len(dataset.clips)
    return {
        "clips": n,
        "scan_clips_per_s": n / scan_s,
        "decode_and_cache_clips_per_s": n / build_s,
        "decode_and_cache_s": build_s,
        "reopen_ms": reopen_s * 1000,
        "cache_bytes": cache.path.stat().st_size,
        "cache_path": str(cache.path),
        "rss_before_build_mb": rss_before,
        "peak_rss_build_mb": peak,
    }


def bench_decode(source: Path, work: Path, copies: int) -> tuple[dict, object]:
    from asdbench.components import Clip
    from asdbench.data.cache import ClipCache

    root = build_tree(source, work / "tree", copies)
    cmd = [sys.executable, __file__, "--child-decode", str(root), "--cache-dir", str(work / "cache")]
    result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    path = Path(result["cache_path"])
    manifest = json.loads(path.with_suffix(".json").read_text())
    n, samples = manifest["shape"]
    clips = [Clip(path, "bench", "00", "dev", "test", "source", "normal", "")] * n
    cache = ClipCache(path, path.with_suffix(".json"), manifest["key"], clips, samples, "int16", manifest["header_bytes"])
    return result, cache


def synthesise_cache(seed_cache, n: int, folder: Path) -> Path:
    """A cache file of ``n`` rows built from the rows of ``seed_cache`` (cycled), plus its manifest."""
    from asdbench.data.cache import CACHE_FORMAT, _header_bytes

    rows = seed_cache.read_raw(np.arange(min(len(seed_cache), 200)))
    samples = rows.shape[1]
    header = _header_bytes(rows.dtype, (n, samples))
    path = folder / f"large-{n}.npy"
    with open(path, "wb") as handle:
        handle.write(header)
        for i in range(n):
            handle.write(rows[i % len(rows)].tobytes())
    manifest = {"format": CACHE_FORMAT, "shape": [n, samples], "dtype": "int16", "header_bytes": len(header),
                "bytes": len(header) + n * samples * 2, "complete": True, "key": "synthetic-benchmark"}
    (folder / f"large-{n}.json").write_text(json.dumps(manifest))
    return path


def child_load(path: Path, batch: int, batches: int | None, cold: bool, memmap: bool) -> dict:
    """Runs in a fresh process: one shuffled epoch over the cache at ``path``."""
    import torch

    from asdbench.components import Clip
    from asdbench.data.cache import ClipCache
    from asdbench.training.inference import host_batch, prefetched
    from asdbench.training.trainer import batches as epoch_batches
    from asdbench.training.trainer import epoch_order

    manifest = json.loads(path.with_suffix(".json").read_text())
    n, samples = manifest["shape"]
    clips = [Clip(path, "bench", "00", "dev", "train", "source", "normal", "")] * n
    cache = ClipCache(path, path.with_suffix(".json"), manifest["key"], clips, samples, "int16", manifest["header_bytes"])
    if cold and hasattr(os, "posix_fadvise"):
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # evict our own file from the page cache
        os.close(fd)
    base_rss = peak_rss_mb()
    seen, checksum = 0, 0.0
    t0 = time.perf_counter()
    order = epoch_batches(epoch_order(n, 0, 0), batch)
    if memmap:
        data = cache.data
        for k, positions in enumerate(order):
            if batches is not None and k >= batches:
                break
            idx = np.sort(np.asarray(positions))
            wave = torch.from_numpy(data[idx].astype(np.float32) / 32768.0)
            seen += len(idx)
            checksum += float(wave[:, 0].sum())
    else:
        for k, (_idx, wave) in enumerate(prefetched(host_batch(cache.read, pin=False), order)):
            if batches is not None and k >= batches:
                break
            seen += len(wave)
            checksum += float(wave[:, 0].sum())
    elapsed = time.perf_counter() - t0
    return {"clips": seen, "seconds": elapsed, "clips_per_s": seen / elapsed, "peak_rss_mb": peak_rss_mb(),
            "rss_before_loading_mb": base_rss, "checksum": checksum}


def run_child(path: Path, args: argparse.Namespace, cold: bool, memmap: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", str(path), "--batch", str(args.batch)]
    if args.batches is not None:
        cmd += ["--batches", str(args.batches)]
    if cold:
        cmd.append("--cold")
    if memmap:
        cmd.append("--memmap")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1500, help="rows of the large cache (14000 = DCASE2023 training set)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=None, help="batches to time (default: one epoch)")
    parser.add_argument("--source", type=Path, default=VALVE, help="folder of real 16 kHz clips to decode")
    parser.add_argument("--decode-copies", type=int, default=1,
                        help="decode the real clips this many times (as separate machines) to time a larger build")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the temporary tree and caches go")
    parser.add_argument("--compare-memmap", action="store_true", help="also time fancy-indexing the memory map")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-decode", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memmap", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child_load(args.child, args.batch, args.batches, args.cold, args.memmap)))
        return
    if args.child_decode is not None:
        print(json.dumps(child_decode(args.child_decode, args.cache_dir)))
        return

    work = Path(tempfile.mkdtemp(prefix="asdbench-bench-", dir=args.work_dir))
    try:
        decode, seed_cache = bench_decode(args.source, work, args.decode_copies)
        print(f"scan (probe headers): {decode['scan_clips_per_s']:.0f} clips/s; decode+tile/crop+cache: "
              f"{decode['decode_and_cache_clips_per_s']:.0f} clips/s ({decode['clips']} clips, "
              f"{decode['decode_and_cache_s']:.2f} s, peak RSS {decode['peak_rss_build_mb']:.0f} MB, "
              f"{decode['rss_before_build_mb']:.0f} MB before); reopen {decode['reopen_ms']:.1f} ms", flush=True)
        t0 = time.perf_counter()
        path = synthesise_cache(seed_cache, args.clips, work)
        write_s = time.perf_counter() - t0
        size_gb = path.stat().st_size / 1e9
        print(f"large cache: {args.clips} x 288000 int16 = {size_gb:.2f} GB written in {write_s:.1f} s", flush=True)
        results: dict = {"decode": decode, "large_cache": {"clips": args.clips, "gb": size_gb, "write_s": write_s}}
        runs = [("cold", True, False), ("warm", False, False)]
        if args.compare_memmap:
            runs.append(("memmap_warm", False, True))
        for name, cold, memmap in runs:
            r = run_child(path, args, cold, memmap)
            r["x_training_rate"] = r["clips_per_s"] / TRAINING_CLIPS_PER_S
            results[f"load_{name}"] = r
            print(f"load {name:11s}: {r['clips_per_s']:8.0f} clips/s ({r['x_training_rate']:.0f}x training's "
                  f"{TRAINING_CLIPS_PER_S:.0f} clips/s), peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(before loading {r['rss_before_loading_mb']:.0f} MB)", flush=True)
        results["settings"] = {"batch": args.batch, "batches": args.batches,
                               "cpu_count": os.cpu_count()}
        if args.json is not None:
            tmp = args.json.with_suffix(args.json.suffix + ".tmp")
            tmp.write_text(json.dumps(results, indent=2) + "\n")
            os.replace(tmp, args.json)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
