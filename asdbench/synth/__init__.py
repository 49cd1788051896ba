"""The embedded synthetic benchmark: a stand-in for DCASE2023 Task 2 that needs no download.

Parametric machine sounds driven by attribute strings, in factory noise, with source/target
domain shifts and subtle faults, written as 16-bit WAVs in the DCASE2023 layout with
evaluator-style ground truth. See docs/synthetic.md.

Public API::

    ensure_synthetic(preset="quick", seed=0, home=None) -> Path   # generate once, then reuse
    generate(out, preset="quick", seed=0, *, overwrite=False) -> Path
"""

from __future__ import annotations

from .cache import cache_dir, ensure_synthetic
from .params import MACHINES, SEVERITY_SCALE
from .presets import PRESETS, SAMPLE_RATE, Preset, get_preset
from .version import GENERATOR_VERSION
from .writer import MANIFEST, MARKER, META, generate, is_complete, read_meta

__all__ = [
    "GENERATOR_VERSION",
    "MACHINES",
    "MANIFEST",
    "MARKER",
    "META",
    "PRESETS",
    "SAMPLE_RATE",
    "SEVERITY_SCALE",
    "Preset",
    "cache_dir",
    "ensure_synthetic",
    "generate",
    "get_preset",
    "is_complete",
    "read_meta",
]
