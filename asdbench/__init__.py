"""asdbench: benchmark self-supervised learning strategies for anomalous sound detection.

The public API (``docs/api.md``): everything a plugin author or a script needs, importable from
the top-level package. Names are imported on first use (PEP 562), so ``import asdbench`` costs
nothing and imports no torch; the heavy parts load when something trains or scores.

* plugins: :data:`hookimpl`, :func:`lazy`, the component interfaces (:class:`Augmenter`,
  :class:`Embedder`, :class:`LossHead`, :class:`Backend`, :class:`Dataset`, :class:`Clip`,
  :class:`LengthPolicy`, :class:`SystemSpec`, :class:`GroupedBackend`) and the augmenters' random draws
  (:func:`coin_flips`, :func:`partner_indices`, :func:`uniform`);
* errors: :class:`AsdbenchError` and its kinds;
* lookup: :func:`resolve` (a registered component), :func:`resolve_system` (a ``--ssl`` spec);
* experiments: :class:`RunConfig`, :func:`run`, :func:`open_run`, :func:`load_system`,
  :func:`leaderboard`;
* scoring: :func:`score_clips` and :func:`official_rule` (official DCASE semantics).
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__

_EXPORTS: dict[str, str] = {
    # writing plugins
    "hookimpl": ".hookspecs", "lazy": ".plugins",
    "Augmenter": ".components", "Backend": ".components", "Clip": ".components", "Dataset": ".components",
    "Embedder": ".components", "LengthPolicy": ".components", "LossHead": ".components", "SystemSpec": ".components",
    "GroupedBackend": ".backends.base",
    "STAGES": ".components", "coin_flips": ".components", "partner_indices": ".components", "uniform": ".components",
    # errors
    "AsdbenchError": ".errors", "ConfigError": ".errors", "DataError": ".errors", "PluginError": ".errors",
    "PreflightError": ".errors",
    # looking components up
    "resolve": ".plugins", "resolve_system": ".systems",
    # experiments and their results
    "RunConfig": ".runner.config", "run": ".api", "open_run": ".api", "load_system": ".api", "leaderboard": ".api",
    "Run": ".api", "TrainedSystem": ".api",
    # official scoring
    "score_clips": ".scoring.metrics", "official_rule": ".scoring.metrics",
}
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # the next access is a plain attribute
        return value
    raise AttributeError(f"module 'asdbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
