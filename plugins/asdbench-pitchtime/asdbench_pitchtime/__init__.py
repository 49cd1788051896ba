"""asdbench plugin: pitch-shift / time-stretch pseudo-classes as an SSL strategy (``pitchtime``)."""

from __future__ import annotations

from typing import Any

from asdbench import hookimpl, lazy

# Imported on first use (and they import torch only inside the functions that compute), so that
# loading this plugin (every asdbench command does) stays cheap for commands that only list or compare.
_EXPORTS = {
    "DEFAULT_TRANSFORMS": ".augmenter", "PitchTimeAugmenter": ".augmenter", "Transform": ".augmenter",
    "parse_transform": ".augmenter", "fft_resample": ".transforms", "phase_vocoder": ".transforms",
    "pitch_time": ".transforms",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_augmenters(register):
    register("pitchtime", lazy("asdbench_pitchtime.augmenter:PitchTimeAugmenter"),
             "Pitch-shift / time-stretch pseudo-classes (Inoue et al., DCASE 2020); factor = number of transforms.")
