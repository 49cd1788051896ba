"""The C memory allocator asdbench's processes use: jemalloc (or tcmalloc) where it is
installed, else the C library's own.

Why: a training step at the paper preset allocates and frees ~2 GB of activations in tensors of
a few hundred sizes. glibc's malloc either maps and zero-fills every large block again each step
(~10^6 page faults, about 1 s a step on 2 cores) or, told to keep them on its heap
(:func:`host_memory_reuse`), fragments that heap to ~1.7x the live
peak. jemalloc keeps freed blocks in size classes; told never to hand freed pages back to the
kernel (``MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1``, set unless ``MALLOC_CONF`` is set
already) it reuses them without faults. On the 2-core development machine a bf16 step was at least as
fast as glibc's with heap reuse, and the peak RSS 2.2 GB from the second step on, where glibc's
grew to 3.4 GB in 20 steps and tcmalloc's varied from 2.0 to 2.8 GB between processes
(docs/scaling.md, benchmarks/allocators.py). Nothing else changes: the same
kernels compute the same numbers.

An allocator must be chosen before the process starts, so the ``asdbench`` command (and
``benchmarks/speed.py``) re-executes itself once with ``LD_PRELOAD`` set when it finds one and
no other allocator is preloaded (:func:`reexec_with_preferred_allocator`). Child processes
(``--workers``, a local Ray instance) inherit it. ``ASDBENCH_MALLOC`` chooses: ``auto``
(default: jemalloc, else tcmalloc), ``jemalloc``, ``tcmalloc``, ``system`` (never preload), or
the path of an allocator library to preload. Debian/Ubuntu packages: ``libjemalloc2``,
``libtcmalloc-minimal4``; ``scripts/bootstrap.sh`` installs jemalloc when it can.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import functools
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENV = "ASDBENCH_MALLOC"
_GUARD = "_ASDBENCH_MALLOC_REEXEC"  # set in the re-executed process: never re-execute twice
LIBRARIES = {"jemalloc": ("libjemalloc.so.2",), "tcmalloc": ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4")}
"""Shared-library names of each preferred allocator, in order of preference."""
JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
"""Keep freed pages (no purging): reused without page faults, RSS stays at the step's peak."""
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/usr/local/lib", "/opt/homebrew/lib")


def find_allocator(name: str, dirs: tuple[str, ...] = LIBRARY_DIRS) -> str | None:
    """Path of the installed shared library of allocator ``name`` (jemalloc, tcmalloc), or None."""
    for directory in dirs:
        for library in LIBRARIES[name]:
            if os.path.isfile(os.path.join(directory, library)):
                return os.path.join(directory, library)
    for library in LIBRARIES[name]:  # elsewhere on the loader's path: its soname, which LD_PRELOAD takes too
        found = ctypes.util.find_library(library.removeprefix("lib").split(".so")[0])
        if found:
            return found
    return None


def find_preferred() -> str | None:
    """The first installed allocator of :data:`LIBRARIES` (jemalloc, then tcmalloc), or None."""
    for name in LIBRARIES:
        path = find_allocator(name)
        if path is not None:
            return path
    return None


ENTRY_POINTS = {"jemalloc": "mallctl", "tcmalloc": "tc_malloc", "mimalloc": "mi_malloc"}
"""A function only that allocator exports. Found in the process's global symbol scope, the
allocator serves ``malloc`` (preloaded or linked in); a private copy that some extension module
loaded for itself (Ray ships one) is not found there and does not count."""


def serving_allocator() -> str:
    """Name of the allocator that serves this process's ``malloc``: one of :data:`ENTRY_POINTS`,
    else ``"system"`` (glibc's malloc on Linux)."""
    try:
        process = ctypes.CDLL(None)
    except OSError:
        return "system"
    for name, symbol in ENTRY_POINTS.items():
        if hasattr(process, symbol):
            return name
    return "system"


def allocator_name(library: str) -> str | None:
    """The allocator a shared-library path belongs to (``.../libjemalloc.so.2`` -> jemalloc), or None."""
    base = os.path.basename(library)
    return next((name for name in ENTRY_POINTS if base.startswith(f"lib{name}")), None)


def loaded_allocator(maps: str | None = None, name: str | None = None) -> dict[str, str]:
    """The allocator this process runs with, ``{"name": "jemalloc", "path": ...}`` (the path of
    its mapped library, where /proc/self/maps shows it), or ``{"name": "system"}``. ``maps`` and
    ``name`` replace what is read from the running process (for tests)."""
    name = serving_allocator() if name is None else name
    if name == "system":
        return {"name": "system"}
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text()
        except OSError:
            maps = ""
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        path = fields[5].removesuffix(" (deleted)") if len(fields) == 6 else ""
        if allocator_name(path) == name:
            return {"name": name, "path": path}
    return {"name": name}


def without_allocator(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without any allocator choice: no preload, no ``MALLOC_CONF``, no
    ``ASDBENCH_MALLOC``, no re-execution guard (for child processes that must choose afresh)."""
    return {k: v for k, v in environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF", ENV, _GUARD)}


def _choice(environ: Mapping[str, str]) -> str:
    return environ.get(ENV, "auto").strip() or "auto"


def _opted_out(environ: Mapping[str, str]) -> bool:
    """Already re-executed once, or ``ASDBENCH_MALLOC=system``."""
    return bool(environ.get(_GUARD)) or _choice(environ) == "system"


def preload_choice(environ: Mapping[str, str]) -> str | None:
    """The library to preload for ``environ`` (``ASDBENCH_MALLOC``), or None to keep the process
    as it is. Raises :class:`ConfigError` for an allocator that is not installed or a path that
    does not exist."""
    choice = _choice(environ)
    if _opted_out(environ):
        return None
    if choice == "auto":
        if environ.get("LD_PRELOAD"):  # the user preloads something already (an allocator, a sanitizer)
            return None
        return find_preferred()
    if choice in LIBRARIES:
        path = find_allocator(choice)
        if path is None:
            package = {"jemalloc": "libjemalloc2", "tcmalloc": "libtcmalloc-minimal4"}[choice]
            raise ConfigError(f"{ENV}={choice}: {choice} is not installed (Debian/Ubuntu: apt-get install {package})")
        return path
    if not os.path.isfile(choice):
        raise ConfigError(f"{ENV}={choice}: no such file (use auto, jemalloc, tcmalloc, system or the path of "
                          "an allocator library such as libjemalloc.so.2)")
    return choice


def preload_environment(environ: Mapping[str, str], library: str) -> dict[str, str]:
    """``environ`` with ``library`` first in ``LD_PRELOAD``, the re-execution guard set and, for
    jemalloc, :data:`JEMALLOC_CONF` unless ``MALLOC_CONF`` is set already."""
    old = environ.get("LD_PRELOAD", "")
    return _configured({**environ, "LD_PRELOAD": f"{library}:{old}" if old else library}, allocator_name(library))


def _configured(environ: Mapping[str, str], allocator: str | None) -> dict[str, str]:
    """``environ`` with the re-execution guard and, for jemalloc, :data:`JEMALLOC_CONF` unless
    ``MALLOC_CONF`` is set already."""
    env = {**environ, _GUARD: "1"}
    if allocator == "jemalloc":
        env.setdefault("MALLOC_CONF", JEMALLOC_CONF)
    return env


def reexec_with_preferred_allocator() -> None:
    """Re-execute this Python process under the preferred allocator (see the module doc), or
    under jemalloc with :data:`JEMALLOC_CONF` where jemalloc is preloaded already without a
    ``MALLOC_CONF`` (its default purging is ~2x slower here); returns without doing anything
    where that is not needed or not possible (not Linux, ``ASDBENCH_MALLOC=system``, another
    allocator or another preload in place, none installed)."""
    if not sys.platform.startswith("linux") or not sys.executable:
        return
    serving = serving_allocator()
    if serving == "jemalloc":
        if "MALLOC_CONF" not in os.environ and not _opted_out(os.environ):
            _reexec(_configured(os.environ, "jemalloc"))
        return
    if serving != "system":
        return
    library = preload_choice(os.environ)
    if library is not None:
        _reexec(preload_environment(os.environ, library))


def _reexec(environ: Mapping[str, str]) -> None:
    """``exec`` this interpreter again with its original arguments and ``environ``."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], dict(environ))
    except OSError:  # could not re-execute (permissions, a vanished interpreter): go on as we are
        return


# -- glibc malloc tuning (when no preferred allocator is loaded) ------------------------------

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc mallopt parameters
_GLIBC_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_MMAP_MAX: 65536}
_reuse_depth = 0


@functools.cache
def _glibc() -> Any:
    """glibc's ``mallopt``/``malloc_trim``, or None on other C libraries and platforms."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@contextlib.contextmanager
def host_memory_reuse(enabled: bool = True) -> Iterator[bool]:
    """While inside, glibc serves large allocations from its heap and keeps freed memory.

    Why: glibc gives every allocation above 32 MB its own ``mmap`` and unmaps it when freed, so
    each training step maps and zero-fills all its activations again: about 10^6 page faults and
    ~1 s of kernel CPU time per paper-preset step on CPU. Kept on the heap, a step reuses the pages
    of the previous one (RSS stays at the step's peak instead of dropping between steps). On exit
    the defaults return and free memory is handed back (``malloc_trim``). No numbers change; a
    no-op where glibc is not the C library or another allocator is loaded (jemalloc or tcmalloc,
    above, reuse freed blocks by themselves, with less fragmentation). Yields
    whether it is active.
    """
    global _reuse_depth
    libc = _glibc() if enabled and serving_allocator() == "system" else None
    if libc is None:
        yield False
        return
    _reuse_depth += 1
    if _reuse_depth == 1:
        libc.mallopt(_M_MMAP_MAX, 0)
        libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    try:
        yield True
    finally:
        _reuse_depth -= 1
        if _reuse_depth == 0:
            for option, value in _GLIBC_DEFAULTS.items():
                libc.mallopt(option, value)
            libc.malloc_trim(0)
