"""asdbench-ssl: the SSL strategies of Wilkinghoff (ICASSP 2024) as an asdbench plugin.

Augmenters ``mixup`` (waveform), ``statex`` (spectrogram) and ``featex`` (sub-embeddings), and the
named systems of the paper's Tables 1 and 2; also the strategies researchers compare them with:
``classmix`` (mixup of different classes as pseudo anomalies, the paper's [6]) and
``specaugment`` (time / frequency masking, a plain augmentation). Registered through the ``asdbench`` entry-point
group (``asdbench_ssl.plugin``), exactly as any third-party strategy would be.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Imported on first use: every asdbench command loads this plugin, most need none of the modules.
_EXPORTS = {"FeatEx": ".featex", "exchange_labels": ".labels", "Mixup": ".mixup", "StatEx": ".statex",
            "exchange_statistics": ".statex", "ClassMix": ".classmix", "SpecAugment": ".specaugment"}
__all__ = ["ClassMix", "FeatEx", "Mixup", "SpecAugment", "StatEx", "exchange_labels", "exchange_statistics", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
