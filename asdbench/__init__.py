"""asdbench: benchmark self-supervised learning strategies for anomalous sound detection.

``asdbench.run``, ``asdbench.open_run`` and ``asdbench.load_system`` are the Python API
(:mod:`asdbench.api`, ``docs/api.md``); they are imported on first use, so ``import asdbench``
stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
_API = ("run", "open_run", "load_system")


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'asdbench' has no attribute {name!r}")
