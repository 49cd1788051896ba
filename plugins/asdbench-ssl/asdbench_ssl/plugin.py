"""Hook implementations: what ``asdbench plugins`` lists for this distribution.

The augmenters are registered as lazy factories, and their modules import torch only inside the
functions that compute: a command that lists, describes or compares does not pay for torch.
"""

from __future__ import annotations

from collections.abc import Callable

from asdbench import hookimpl, lazy

from .systems import SYSTEMS


@hookimpl
def register_augmenters(register: Callable[..., None]) -> None:
    register("mixup", lazy("asdbench_ssl.mixup:Mixup"), "mixup of waveforms, l ~ U(0,1); p 1.0 alone, 0.5 composed (factor 1)")
    register("statex", lazy("asdbench_ssl.statex:StatEx"), "statistics exchange on the spectrogram, temporal by default, p 0.5 (factor 3)")
    register("featex", lazy("asdbench_ssl.featex:FeatEx"), "exchange of the spectrogram sub-embedding with the partner's, p 0.5 (factor 3)")
    register("specaugment", lazy("asdbench_ssl.specaugment:SpecAugment"),
             "SpecAugment time / frequency masks on the spectrogram, LD policy (factor 1)")
    register("classmix", lazy("asdbench_ssl.classmix:ClassMix"),
             "mixup of clips of different classes as a pseudo-anomalous class, p 0.5 (factor 2)")


@hookimpl
def register_systems(register: Callable[..., None]) -> None:
    for name, factory in SYSTEMS.items():
        register(name, factory, factory.__doc__)
