"""Decoded-clip cache: every clip decoded once into an on-disk ``(N, samples)`` array (int16 or
float16), memory-mapped and shared by all later runs and processes.

Files, in the cache folder (default ``$ASDBENCH_HOME/cache``), per *slot* (dataset name, root,
clip list, policy, rate, dtype, resampling):

* ``<name>-<slot>.npy``: a standard ``.npy`` file (``np.load(..., mmap_mode="r")`` opens it);
* ``<name>-<slot>.json``: the manifest, written last: format, ``key``, shape, dtype, byte size,
  clip keys in row order, policy, and ``"complete": true``;
* ``<name>-<slot>.lock``: taken (``fcntl.flock``) while building, so concurrent processes build once.

The ``key`` is a SHA-256 over the clip list with every file's size and modification time, the
length policy (seed included), sample rate, dtype, resampling flag and the cache format. A
cache is used only when the manifest is complete, its key equals the current key and the data
file has exactly the expected size; otherwise (stale: a file was touched or replaced;
truncated: an interrupted copy) it is rebuilt.

Building decodes clip by clip and *writes* rows to a temporary file (plain ``write``, not a
writable memory map), fsyncs it and renames it into place, so a killed build never leaves a
file that looks complete and peak memory is one clip, whatever the dataset size. The temporary
name is unique per process; it is removed on any error, and temporary files of an earlier build
of the same slot that was killed (``kill -9``) are removed by the next build, which holds the
slot's lock. A clip that fails to decode (NaN samples, a corrupt FLAC body) does not abort the
build: its row stays zero and the manifest lists it under ``failed`` with the reason;
:meth:`ClipCache.without_failed` gives the cache of the usable clips.

Reading (:meth:`ClipCache.read`) uses positioned reads (``os.preadv``) of the sorted rows of a
batch, coalescing consecutive rows into one call. A memory map would cost the same copy, but
every page it touches stays counted in the process's resident set, so an epoch over a 8 GB
cache would report 8 GB RSS; positioned reads keep RSS at one batch. :attr:`ClipCache.data`
still offers the read-only ``np.memmap`` for ad-hoc random access.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_json
from ..components import Clip, Dataset
from ..errors import ConfigError, DataError
from ..version import __version__
from .audio import clip_key, load_clip
from .paths import default_cache_dir

CACHE_FORMAT = 1
DTYPES: dict[str, np.dtype] = {"int16": np.dtype("<i2"), "float16": np.dtype("<f2")}
INT16_SCALE = 32768.0  # int16 PCM decodes to k / 32768 in soundfile, so int16 sources round-trip exactly


def encode(wave: np.ndarray, dtype: str) -> tuple[np.ndarray, int]:
    """``wave`` (float32) in the storage dtype, and how many samples had to be clipped."""
    if dtype == "int16":
        scaled = np.rint(wave * INT16_SCALE)
        clipped = int(np.count_nonzero((scaled < -32768) | (scaled > 32767)))
        return np.clip(scaled, -32768, 32767).astype("<i2"), clipped
    limit = float(np.finfo(np.float16).max)
    clipped = int(np.count_nonzero(np.abs(wave) > limit))
    return np.clip(wave, -limit, limit).astype("<f2"), clipped


def _fingerprint(clips: Sequence[Clip]) -> list[list[Any]]:
    rows = []
    for clip in clips:
        try:
            st = os.stat(clip.path)
        except OSError as exc:
            raise DataError(f"{clip.path}: cannot read file ({exc.strerror})") from exc
        rows.append([clip_key(clip), st.st_size, st.st_mtime_ns])
    return rows


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def cache_key(dataset: Dataset, clips: Sequence[Clip], dtype: str) -> str:
    """Content hash deciding whether an existing cache is still valid (module docstring)."""
    return _digest({
        "format": CACHE_FORMAT,
        "files": _fingerprint(clips),
        "policy": dataset.length_policy.to_dict(),
        "sample_rate": dataset.sample_rate,
        "dtype": dtype,
        "resample": bool(dataset.resample),
    })


def _slot(dataset: Dataset, clips: Sequence[Clip], dtype: str) -> str:
    """Which file a cache lives in; the same slot is overwritten when its key goes stale."""
    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", dataset.name).strip("._") or "dataset"
    digest = _digest({
        "name": dataset.name,
        "root": str(dataset.root),
        "clips": [clip_key(c) for c in clips],
        "policy": dataset.length_policy.to_dict(),
        "sample_rate": dataset.sample_rate,
        "dtype": dtype,
        "resample": bool(dataset.resample),
    })
    return f"{name}-{digest[:16]}"


@dataclass(eq=False)
class ClipCache:
    """A built clip cache: rows in the order of ``clips``, ``samples`` long, stored as ``dtype``."""

    path: Path
    manifest_path: Path
    key: str
    clips: list[Clip]
    samples: int
    dtype: str
    header_bytes: int
    built: bool = False  # True when this call decoded the clips
    failed: dict[str, str] = field(default_factory=dict)  # clip key -> why it could not be decoded
    row_map: np.ndarray | None = field(default=None, repr=False)  # position -> stored row (a subset)
    _fd: int | None = field(default=None, repr=False)
    _memmap: np.memmap | None = field(default=None, repr=False)
    _pid: int = field(default=-1, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.clips), self.samples)

    @property
    def storage_dtype(self) -> np.dtype:
        return DTYPES[self.dtype]

    def _check_process(self) -> None:
        if self._pid != os.getpid():  # inherited by a forked worker: reopen our own handles
            self._fd, self._memmap, self._pid = None, None, os.getpid()
            self._lock = threading.Lock()

    @property
    def data(self) -> np.memmap:
        """Read-only memory map of the stored rows (``N x samples``, storage dtype)."""
        self._check_process()
        if self._memmap is None:
            stored = (len(self.clips) + len(self.failed) if self.row_map is not None else len(self.clips), self.samples)
            self._memmap = np.memmap(self.path, dtype=self.storage_dtype, mode="r", offset=self.header_bytes, shape=stored)
        return self._memmap if self.row_map is None else self._memmap[self.row_map]

    def _file(self) -> int:
        self._check_process()
        with self._lock:  # a prefetching thread and the main thread may both get here first
            if self._fd is None:
                try:
                    self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                except OSError as exc:
                    raise DataError(f"{self.path}: clip cache disappeared ({exc.strerror})") from exc
            return self._fd

    def _sorted_rows(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored rows for ``indices`` read in ascending row order, and where each belongs.

        Returns ``(buf, order)``: ``buf[k]`` is the row asked for at position ``order[k]``.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self.clips)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"clip index out of range 0..{n - 1}")
        if self.row_map is not None:
            idx = self.row_map[idx]
        order = np.argsort(idx, kind="stable")
        rows = idx[order]
        buf = np.empty((idx.size, self.samples), dtype=self.storage_dtype)
        runs = list(_runs(rows))
        self._prefetch(rows, runs)
        for start, stop in runs:
            self._read_rows(int(rows[start]), buf[start:stop])
        return buf, order

    def read_raw(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Stored rows (storage dtype) for ``indices``, in the given order."""
        buf, order = self._sorted_rows(indices)
        out = np.empty_like(buf)
        out[order] = buf
        return out

    def read(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Float32 waveforms ``(len(indices), samples)`` for ``indices``, in the given order.

        Rows are read in ascending order (locality), then put back in the order asked for while
        converting, so a shuffled batch stays shuffled (mixup pairs sample i with sample B-1-i).
        """
        buf, order = self._sorted_rows(indices)
        out = np.empty(buf.shape, dtype=np.float32)
        out[order] = buf  # scatter + int16/float16 -> float32 in one pass
        if buf.dtype == DTYPES["int16"]:
            out *= np.float32(1.0 / INT16_SCALE)
        return out

    def without_failed(self) -> ClipCache:
        """This cache restricted to the clips that decoded (itself when all did)."""
        if not self.failed:
            return self
        keep = [i for i, clip in enumerate(self.clips) if clip_key(clip) not in self.failed]
        view = ClipCache(self.path, self.manifest_path, self.key, [self.clips[i] for i in keep], self.samples,
                         self.dtype, self.header_bytes, self.built, dict(self.failed))
        base = self.row_map if self.row_map is not None else np.arange(len(self.clips))
        view.row_map = base[np.asarray(keep, dtype=np.int64)]
        return view

    def _prefetch(self, rows: np.ndarray, runs: list[tuple[int, int]]) -> None:
        """Ask the kernel for every run of the batch at once (``POSIX_FADV_WILLNEED``), so a cold
        cache is read with many requests in flight instead of one row after the other."""
        if len(runs) < 2 or not hasattr(os, "posix_fadvise"):
            return
        fd, row_bytes = self._file(), self.samples * self.storage_dtype.itemsize
        for start, stop in runs:
            with contextlib.suppress(OSError):
                os.posix_fadvise(fd, self.header_bytes + int(rows[start]) * row_bytes, (stop - start) * row_bytes,
                                 os.POSIX_FADV_WILLNEED)

    def _read_rows(self, first: int, dest: np.ndarray) -> None:
        offset = self.header_bytes + first * self.samples * self.storage_dtype.itemsize
        if not hasattr(os, "preadv"):  # pragma: no cover - Windows
            dest[...] = self.data[first : first + len(dest)]
            return
        view = memoryview(dest).cast("B")
        fd, done = self._file(), 0
        while done < len(view):
            got = os.preadv(fd, [view[done:]], offset + done)
            if got <= 0:
                raise DataError(f"{self.path}: clip cache is shorter than its manifest says (truncated?)")
            done += got

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd, self._memmap = None, None

    def __getstate__(self) -> dict[str, Any]:  # picklable for DataLoader workers (spawn)
        state = dict(self.__dict__)
        state.update(_fd=None, _memmap=None, _pid=-1)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def describe(self) -> dict[str, Any]:
        """What a run directory records about the cache (run.json's ``dataset.cache``)."""
        return {"path": str(self.path), "key": self.key, "dtype": str(self.dtype)}


def _runs(rows: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of runs of consecutive row numbers in sorted ``rows``."""
    if rows.size == 0:
        return
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [rows.size]))
    yield from zip(starts.tolist(), stops.tolist(), strict=True)


def _header_bytes(dtype: np.dtype, shape: tuple[int, int]) -> bytes:
    import io

    stream = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(stream, header)
    return stream.getvalue()


def _open_existing(data_path: Path, manifest_path: Path, key: str, clips: list[Clip], samples: int,
                   dtype: str) -> tuple[ClipCache | None, str]:
    """The cache when it is complete, current and intact; else None and the reason."""
    if not manifest_path.is_file() or not data_path.is_file():
        return None, "missing"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "unreadable manifest"
    if manifest.get("format") != CACHE_FORMAT or manifest.get("complete") is not True:
        return None, "incomplete"
    if manifest.get("key") != key:
        return None, "stale"
    shape = (len(clips), samples)
    if manifest.get("shape") != list(shape) or manifest.get("dtype") != dtype:
        return None, "shape mismatch"
    header = int(manifest.get("header_bytes", -1))
    expected = header + shape[0] * shape[1] * DTYPES[dtype].itemsize
    if header <= 0 or data_path.stat().st_size != expected or manifest.get("bytes") != expected:
        return None, "truncated"
    with open(data_path, "rb") as handle:
        if handle.read(header) != _header_bytes(DTYPES[dtype], shape):
            return None, "corrupt header"
    failed = manifest.get("failed") or {}
    return ClipCache(data_path, manifest_path, key, list(clips), samples, dtype, header, failed=dict(failed)), "ok"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (POSIX ``flock``; elsewhere atomic renames alone keep it safe)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _build(dataset: Dataset, clips: list[Clip], data_path: Path, manifest_path: Path, key: str,
           dtype: str, progress: bool) -> None:
    samples = dataset.length_policy.samples
    storage = DTYPES[dtype]
    header = _header_bytes(storage, (len(clips), samples))
    total = len(header) + len(clips) * samples * storage.itemsize
    free = shutil.disk_usage(data_path.parent).free
    if free < total:
        raise DataError(f"{data_path.parent}: clip cache needs {total / 1e9:.2f} GB, only {free / 1e9:.2f} GB free "
                        "(set ASDBENCH_HOME or pass a cache folder elsewhere)")
    started = time.perf_counter()
    clipped = 0
    failed: dict[str, str] = {}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{data_path.stem}.", suffix=".npy.tmp", dir=data_path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(header)
            items: Any = clips
            if progress:
                from tqdm import tqdm

                items = tqdm(clips, desc=f"decoding {dataset.name}", unit="clip", leave=False)
            for clip in items:
                try:
                    rows, n_clipped = encode(load_clip(clip, dataset), dtype)
                except DataError as exc:  # skipped and reported like any other bad file
                    failed[clip_key(clip)] = str(exc)
                    rows, n_clipped = np.zeros(samples, dtype=storage), 0
                clipped += n_clipped
                handle.write(rows.tobytes())
            handle.flush()
            os.fsync(handle.fileno())
        if tmp.stat().st_size != total:
            raise DataError(f"{tmp}: clip cache has {tmp.stat().st_size} bytes, expected {total}")
        manifest_path.unlink(missing_ok=True)  # never pair an old manifest with new data
        os.replace(tmp, data_path)
        _fsync_dir(data_path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    atomic_write_json(manifest_path, {
        "format": CACHE_FORMAT,
        "key": key,
        "shape": [len(clips), samples],
        "dtype": dtype,
        "header_bytes": len(header),
        "bytes": total,
        "dataset": dataset.name,
        "version": dataset.version,
        "root": str(dataset.root),
        "sample_rate": dataset.sample_rate,
        "resample": bool(dataset.resample),
        "length_policy": dataset.length_policy.to_dict(),
        "clipped_samples": clipped,
        "decode_seconds": round(time.perf_counter() - started, 3),
        "asdbench": __version__,
        "clips": [clip_key(c) for c in clips],
        "failed": failed,
        "complete": True,
    })


def remove_stale_temp_files(folder: Path, slot: str) -> list[Path]:
    """Temporary files of earlier builds of ``slot`` (killed before they could clean up). Only
    called while holding the slot's lock, so no live build owns them."""
    removed = []
    for path in folder.glob(f".{slot}.*.npy.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def open_clip_cache(dataset: Dataset, clips: Sequence[Clip] | None = None, cache_dir: str | Path | None = None,
                    dtype: str = "int16", *, progress: bool = False) -> ClipCache:
    """The clip cache of ``clips`` (default: all clips of ``dataset``), built when missing or stale.

    Safe to call from several processes at once: one builds, the others wait and reuse it.
    """
    if dtype not in DTYPES:
        raise ConfigError(f"cache dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    clips = list(dataset.clips if clips is None else clips)
    if not clips:
        raise DataError(f"{dataset.root}: no clips to cache")
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{folder}: cannot create the cache folder ({exc.strerror})") from exc
    if not os.access(folder, os.W_OK):
        raise DataError(f"{folder}: cache folder is not writable")
    slot = _slot(dataset, clips, dtype)
    data_path, manifest_path = folder / f"{slot}.npy", folder / f"{slot}.json"
    samples = dataset.length_policy.samples
    key = cache_key(dataset, clips, dtype)
    cache, _ = _open_existing(data_path, manifest_path, key, clips, samples, dtype)
    if cache is not None:
        return cache
    with _locked(folder / f"{slot}.lock"):
        cache, _ = _open_existing(data_path, manifest_path, key, clips, samples, dtype)
        if cache is not None:  # another process built it while we waited
            return cache
        remove_stale_temp_files(folder, slot)
        _build(dataset, clips, data_path, manifest_path, key, dtype, progress)
        cache, reason = _open_existing(data_path, manifest_path, key, clips, samples, dtype)
    if cache is None:
        raise DataError(f"{data_path}: clip cache could not be verified after building ({reason})")
    cache.built = True
    return cache
