"""Atomic writes for the evaluation package: the project's helpers, returning the path written."""

from __future__ import annotations

import os
from pathlib import Path

from .. import atomic as _atomic

__all__ = ["atomic_write_text", "atomic_write_bytes"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Temporary file next to ``path``, fsync, ``os.replace``: never a half-written file."""
    target = Path(path)
    _atomic.atomic_write_bytes(target, data)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """UTF-8 text version of :func:`atomic_write_bytes` (newlines written as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"))
