"""asdbench plugin: pitch-shift / time-stretch pseudo-classes as an SSL strategy (``pitchtime``)."""

from __future__ import annotations

from asdbench.hookspecs import hookimpl

from .augmenter import DEFAULT_TRANSFORMS, PitchTimeAugmenter, Transform, parse_transform
from .transforms import fft_resample, phase_vocoder, pitch_time

__all__ = [
    "DEFAULT_TRANSFORMS",
    "PitchTimeAugmenter",
    "Transform",
    "fft_resample",
    "parse_transform",
    "phase_vocoder",
    "pitch_time",
]
__version__ = "0.1.0"


@hookimpl
def register_augmenters(register):
    register("pitchtime", PitchTimeAugmenter)
