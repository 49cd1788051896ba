"""Built-in embedders: the two-branch network of the reference system (factory in :mod:`.networks`,
imported when it is first built)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import lazy


@hookimpl
def register_embedders(register):
    register("two-branch", lazy("asdbench.builtin.networks:two_branch"),
             "Two-branch |FFT| Conv1D + |STFT| ResNet embedder with SE blocks (reference system, 256-d).")
