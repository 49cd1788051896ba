"""The ``pitchtime`` SSL strategy: which pitch-shift / time-stretch was applied is a pseudo-class.

After Inoue et al., DCASE 2020 (paper reference [5]): every training clip is transformed by one of
``T`` transformations, drawn uniformly per clip, and the classifier must recognise the machine
class *and* the transformation. The label space grows ``T``-fold: a clip of class ``k`` that got
transformation ``t`` has its label in block ``t`` (columns ``t*K .. t*K+K-1``), block 0 being the
identity. This is the same block layout StatEx and FeatEx use, so ``pitchtime+featex`` has
``3*T`` label blocks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asdbench import Augmenter, ConfigError

from .transforms import pitch_time

if TYPE_CHECKING:
    import torch

DEFAULT_TRANSFORMS: tuple[str, ...] = ("identity", "pitch-2", "pitch+2", "stretch0.9", "stretch1.1")
_PART = re.compile(r"^(pitch|stretch)\s*([+-]?\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Transform:
    """One transformation: ``semitones`` of pitch shift, then playback ``rate`` (> 1: faster)."""

    semitones: float = 0.0
    rate: float = 1.0

    @property
    def is_identity(self) -> bool:
        return self.semitones == 0 and self.rate == 1

    def spec(self) -> str:
        """The canonical text form, e.g. ``pitch+2``, ``stretch0.9``, ``pitch-1_stretch1.1``."""
        parts = []
        if self.semitones != 0:
            parts.append(f"pitch{self.semitones:+g}")
        if self.rate != 1:
            parts.append(f"stretch{self.rate:g}")
        return "_".join(parts) or "identity"


def parse_transform(value: Any) -> Transform:
    """``"identity"``, ``"pitch+2"``, ``"stretch0.9"``, ``"pitch-1_stretch1.1"`` or ``[semitones, rate]``.

    Parts of a combined transform are joined by ``_`` (a comma also works in Python or TOML
    lists, but not inside an ``--ssl`` option, where commas separate options).
    """
    if isinstance(value, Transform):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "identity":
            return Transform()
        semitones, rate = 0.0, 1.0
        for part in re.split(r"[_,]", text):
            match = _PART.match(part.strip())
            if match is None:
                raise ConfigError(
                    f"pitchtime: cannot parse transform {value!r} (use e.g. 'identity', 'pitch+2', "
                    "'stretch0.9' or 'pitch-1_stretch1.1')"
                )
            if match.group(1) == "pitch":
                semitones = float(match.group(2))
            else:
                rate = float(match.group(2))
        return _checked(Transform(semitones, rate), value)
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return _checked(Transform(float(value[0]), float(value[1])), value)
    raise ConfigError(f"pitchtime: transform {value!r} must be a string like 'pitch+2' or a pair [semitones, rate]")


def _checked(transform: Transform, raw: Any) -> Transform:
    if not math.isfinite(transform.semitones) or abs(transform.semitones) > 24:
        raise ConfigError(f"pitchtime: transform {raw!r}: pitch shift must be within +-24 semitones")
    if not math.isfinite(transform.rate) or not 0.25 <= transform.rate <= 4:
        raise ConfigError(f"pitchtime: transform {raw!r}: stretch rate must be within 0.25 .. 4")
    return transform


class PitchTimeAugmenter(Augmenter):
    """Pitch-shift / time-stretch pseudo-classes (Inoue et al., DCASE 2020); factor = number of transforms."""

    name = "pitchtime"
    stage = "waveform"

    def __init__(self, transforms: Iterable[Any] | str = DEFAULT_TRANSFORMS, n_fft: int = 1024,
                 hop_length: int = 256) -> None:
        """``transforms``: a list (or a ``;``-separated string, as ``--ssl`` options need) of
        transformations, see :func:`parse_transform`; the first should be ``identity``."""
        if isinstance(transforms, str):
            transforms = [t for t in transforms.split(";") if t.strip()]
        parsed = [parse_transform(t) for t in transforms]
        if len(parsed) < 2:
            raise ConfigError("pitchtime: option 'transforms' needs at least two transformations")
        if len(set(parsed)) != len(parsed):
            raise ConfigError(f"pitchtime: option 'transforms' lists a transformation twice: {[t.spec() for t in parsed]}")
        if n_fft < 16 or hop_length < 1 or hop_length > n_fft // 2:
            raise ConfigError(f"pitchtime: need n_fft >= 16 and 1 <= hop_length <= n_fft/2, got {n_fft} / {hop_length}")
        self.transforms: list[str] = [t.spec() for t in parsed]
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self._parsed = parsed
        # The label-space factor depends on the options, so it is an instance attribute that
        # shadows the class-level default of Augmenter (the trainer reads it from the instance).
        self.factor = len(parsed)

    def options(self) -> dict[str, Any]:
        """The constructor options (``factor`` follows from ``transforms`` and is left out)."""
        return {"transforms": list(self.transforms), "n_fft": self.n_fft, "hop_length": self.hop_length}

    def draw(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """The transformation index of every clip, uniform over ``0 .. T-1``."""
        import torch
        return torch.randint(self.factor, (batch_size,), generator=generator)

    def __call__(self, data: torch.Tensor, labels: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        import torch
        if not isinstance(data, torch.Tensor) or data.dim() != 2:
            raise TypeError(f"pitchtime works on B x L waveforms, got {type(data).__name__} "
                            f"{tuple(getattr(data, 'shape', ()))}")
        choice = self.draw(data.shape[0], generator).to(data.device)
        out = data.clone()
        for index, transform in enumerate(self._parsed):
            if transform.is_identity:
                continue
            rows = (choice == index).nonzero(as_tuple=True)[0]
            if rows.numel():
                out[rows] = pitch_time(data[rows], transform.semitones, transform.rate,
                                       self.n_fft, self.hop_length)
        return out, expand_labels(labels, choice, self.factor)


def expand_labels(labels: torch.Tensor, block: torch.Tensor, factor: int) -> torch.Tensor:
    """``B x K`` labels -> ``B x (factor*K)`` with row ``b`` copied into block ``block[b]``."""
    import torch
    batch, n_classes = labels.shape
    out = labels.new_zeros(batch, factor, n_classes)
    out[torch.arange(batch, device=labels.device), block.to(labels.device)] = labels
    return out.reshape(batch, factor * n_classes)
