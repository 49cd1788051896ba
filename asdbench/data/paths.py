"""Where asdbench keeps regenerable files (clip caches, generated synthetic data)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "ASDBENCH_HOME"


def asdbench_home() -> Path:
    """``$ASDBENCH_HOME`` when set, else the per-user cache folder of the platform (``asdbench``).

    Everything under it can be deleted and is rebuilt on demand, so the platform's *cache*
    location (not its data location) is the right default.
    """
    value = os.environ.get(ENV_HOME)
    if value:
        return Path(value).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("asdbench"))


def default_cache_dir() -> Path:
    """The folder for decoded-clip caches: ``<asdbench_home()>/cache``."""
    return asdbench_home() / "cache"
