"""Mixup on the waveform (paper 3.1): a factor-1 strategy that also softens the regular labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from asdbench import Augmenter, coin_flips, partner_indices, uniform

from .labels import (
    PARTNER_MODES,
    batch_size_of,
    check_choice,
    check_labels,
    check_probability,
    reject_unknown,
)

if TYPE_CHECKING:
    import torch

ALONE_P = 1.0  # the paper's baseline applies mixup to every sample
COMPOSED_P = 0.5  # ... and to half of them when another SSL strategy is used


class Mixup(Augmenter):
    """Mixup of the waveform with its partner, l ~ U(0, 1); p 1.0 alone, 0.5 composed.

    For every sample with a successful coin flip (probability ``p``):
    ``x' = l * x_i + (1 - l) * x_partner`` and ``y' = l * y_i + (1 - l) * y_partner`` with one
    ``l ~ Uniform(0, 1)`` per sample. Labels of any width are mixed column by column, so the same
    transform serves the regular head and every SSL label layout.

    ``p=None`` (default) is resolved by :meth:`bind`: 1.0 when mixup is the only augmenter of the
    pipeline, 0.5 when it is composed with any other (paper 3.1). ``partner``: ``"reversed"``
    (sample ``B-1-i``, the reference) or ``"random"`` (a random permutation per batch).
    Random draws, in order: partner permutation (``random`` only), l, coin flips.
    """

    name: ClassVar[str] = "mixup"
    stage: ClassVar[str] = "waveform"
    factor: ClassVar[int] = 1

    def __init__(self, p: float | None = None, partner: str = "reversed", **unknown: Any) -> None:
        reject_unknown(self.name, unknown, ("p", "partner"))
        self.p = None if p is None else check_probability(self.name, p)
        self.partner = check_choice(self.name, "partner", partner, PARTNER_MODES)
        self._requested_p = self.p

    def bind(self, pipeline: Sequence[Augmenter]) -> None:
        """Resolve ``p=None``: 1.0 alone, 0.5 when any other augmenter is in the pipeline."""
        if self._requested_p is None:
            composed = any(other is not self for other in pipeline)
            self.p = COMPOSED_P if composed else ALONE_P

    @property
    def probability(self) -> float:
        """The probability in use (1.0 before :meth:`bind` when none was given)."""
        return ALONE_P if self.p is None else self.p

    def __call__(self, data: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        batch = batch_size_of(self.name, data)
        check_labels(self.name, labels, batch)
        partner = partner_indices(batch, self.partner, generator, data.device)
        lam = uniform(batch, generator)
        mixed = coin_flips(batch, self.probability, generator, data.device)
        return _mix(data, partner, lam, mixed), _mix(labels, partner, lam, mixed)


def _mix(x: torch.Tensor, partner: torch.Tensor, lam: torch.Tensor, mixed: torch.Tensor) -> torch.Tensor:
    """``l * x + (1 - l) * x[partner]`` on the rows in ``mixed``, ``x`` elsewhere (exactly)."""
    import torch
    shape = (-1,) + (1,) * (x.ndim - 1)
    lam = lam.to(device=x.device, dtype=x.dtype).view(shape)
    return torch.where(mixed.to(x.device).view(shape), lam * x + (1 - lam) * x[partner], x)
