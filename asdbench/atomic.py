"""Atomic file writes: a reader never sees a half-written file, a crash leaves no partial result.

Every writer goes through :func:`atomic_write_with`: a unique temporary name beside the target
(``.<name>.<random>.tmp``, so two processes never share one), fsync, then ``os.replace``. The
temporary file is removed when writing fails; one left by a SIGKILL matches :data:`TEMPORARY_NAME`.
This module sits below every package (data caches and downloads write atomically too), so it
imports nothing heavy: torch and numpy are imported by the writers that need them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

PathLike = str | os.PathLike[str]
TEMPORARY_NAME = re.compile(r"^\..+\.tmp(\.[A-Za-z0-9]+)?$")
"""The name of a temporary file an interrupted write left: ``.NAME.XXXXXXXX.tmp`` from here,
also ``.NAME.PID.tmp`` and ``.embeddings.PID.tmp.npz`` of earlier versions (for clean-up)."""


def remove_temporaries(folder: PathLike) -> list[Path]:
    """Delete the temporary files of interrupted writes anywhere under ``folder``; returns them.
    Only call this where no other process writes (their temporaries would vanish)."""
    removed = []
    for path in sorted(Path(folder).rglob(".*")):
        if TEMPORARY_NAME.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_with(path: PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(handle)`` on a temporary file, fsync it and move it onto ``path``, with the
    permissions a plain ``open`` would give; returns the path written."""
    def to_file(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            write(handle)

    return atomic_write_to(path, to_file)


def atomic_write_to(path: PathLike, write: Callable[[Path], Any]) -> Path:
    """Like :func:`atomic_write_with`, for writers that take a file name (``write(tmp_path)``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    return atomic_write_with(path, lambda handle: handle.write(data))


def atomic_write_text(path: PathLike, text: str) -> Path:
    """UTF-8 text (newlines written as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    """``torch.save`` to the temporary file's name, not a Python file object: torch then writes in
    C++, so a signal handler (``asdbench run``'s SIGTERM/SIGINT) cannot interrupt it half-way
    and turn the interruption into a corrupt-archive error."""
    import torch

    return atomic_write_to(path, lambda tmp: torch.save(obj, tmp))


def atomic_save_npz(path: PathLike, **arrays: Any) -> Path:
    """``numpy.savez`` (uncompressed) of the named arrays."""
    import numpy as np

    return atomic_write_with(path, lambda handle: np.savez(handle, **arrays))
