"""The C memory allocator asdbench's processes use: tcmalloc where it is installed, else the C
library's own.

Why: a training step at the paper preset allocates and frees ~2 GB of activations in tensors of
a few hundred sizes. glibc's malloc either maps and zero-fills every large block again each step
(~10^6 page faults, about 1 s a step on 2 cores) or, told to keep them on its heap
(:func:`asdbench.training.trainer.host_memory_reuse`), fragments that heap to 1.5-2x the live
peak. tcmalloc keeps freed blocks per size class: on the 2-core development machine a bf16 step
was ~10% faster than glibc with heap reuse and the peak RSS 2.2 GB instead of 3.2 GB (fp32: 3.4
instead of 5.6 GB; docs/scaling.md). Nothing else changes: the same kernels compute the same
numbers.

An allocator must be chosen before the process starts, so the ``asdbench`` command (and
``benchmarks/speed.py``) re-executes itself once with ``LD_PRELOAD`` set when tcmalloc is found
and no other allocator is preloaded (:func:`reexec_with_preferred_allocator`). Child processes
(``--workers``, a local Ray instance) inherit it. ``ASDBENCH_MALLOC`` chooses: ``auto``
(default), ``system`` (never preload), or the path of an allocator library to preload.
Debian/Ubuntu package: ``libtcmalloc-minimal4``; ``scripts/bootstrap.sh`` installs it when it can.
"""

from __future__ import annotations

import ctypes.util
import glob
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from .errors import ConfigError

ENV = "ASDBENCH_MALLOC"
_GUARD = "_ASDBENCH_MALLOC_REEXEC"  # set in the re-executed process: never re-execute twice
KNOWN = ("tcmalloc", "jemalloc", "mimalloc")
TCMALLOC_NAMES = ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4")
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/usr/local/lib", "/opt/homebrew/lib")


def find_tcmalloc(dirs: tuple[str, ...] = LIBRARY_DIRS) -> str | None:
    """Path of an installed tcmalloc shared library (gperftools), or None."""
    for directory in dirs:
        for name in TCMALLOC_NAMES:
            if os.path.isfile(os.path.join(directory, name)):
                return os.path.join(directory, name)
    for stem in ("tcmalloc_minimal", "tcmalloc"):
        name = ctypes.util.find_library(stem)
        if name:
            hits = [p for d in dirs for p in glob.glob(os.path.join(d, name))]
            return hits[0] if hits else name
    return None


def loaded_allocator(maps: str | None = None) -> dict[str, str]:
    """The allocator this process runs with: ``{"name": "tcmalloc", "path": ...}`` when a known
    allocator library is mapped, else ``{"name": "system"}`` (glibc's malloc on Linux)."""
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text()
        except OSError:
            return {"name": "system"}
    for line in maps.splitlines():
        path = line.split()[-1] if line.split() else ""
        base = os.path.basename(path)
        for name in KNOWN:
            if base.startswith(f"lib{name}"):
                return {"name": name, "path": path}
    return {"name": "system"}


def preload_choice(environ: Mapping[str, str]) -> str | None:
    """The library to preload for ``environ`` (``ASDBENCH_MALLOC``), or None to keep the process
    as it is. Raises :class:`ConfigError` for a path that does not exist."""
    choice = environ.get(ENV, "auto").strip() or "auto"
    if environ.get(_GUARD) or choice == "system":
        return None
    if choice == "auto":
        if any(name in environ.get("LD_PRELOAD", "") for name in KNOWN):
            return None
        return find_tcmalloc()
    if not os.path.isfile(choice):
        raise ConfigError(f"{ENV}={choice}: no such file (use auto, system or the path of an "
                          "allocator library such as libtcmalloc_minimal.so.4)")
    return choice


def preload_environment(environ: Mapping[str, str], library: str) -> dict[str, str]:
    """``environ`` with ``library`` first in ``LD_PRELOAD`` and the re-execution guard set."""
    old = environ.get("LD_PRELOAD", "")
    return {**environ, "LD_PRELOAD": f"{library}:{old}" if old else library, _GUARD: "1"}


def reexec_with_preferred_allocator() -> None:
    """Re-execute this Python process under the preferred allocator (see the module doc); returns
    without doing anything where that is not needed or not possible (not Linux, an allocator
    already loaded, ``ASDBENCH_MALLOC=system``, no tcmalloc installed)."""
    if not sys.platform.startswith("linux") or loaded_allocator()["name"] != "system":
        return
    library = preload_choice(os.environ)
    if library is None:
        return
    argv = [sys.executable, *sys.orig_argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, preload_environment(os.environ, library))
