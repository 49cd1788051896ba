"""Mixup of clips of *different* classes as a pseudo-anomalous class (Lopez et al., "A speaker
recognition approach to anomaly detection", DCASE 2020 Workshop; [6] in Wilkinghoff, ICASSP 2024).

Unlike mixup (factor 1: a mixed clip keeps a mix of its classes), a clip mixed with a clip of
another class becomes a pseudo anomaly the network must tell apart: the label space grows by one
block (factor 2). Label layout, ``K`` = incoming label width:

* block 0 (columns ``0 .. K-1``): clips left as they are, label ``y_i``;
* block 1 (columns ``K .. 2K-1``): mixed clips, label ``l * y_i + (1 - l) * y_j``, so the head
  learns "a mixture of classes i and j", not one anonymous outlier class.

For each clip, with probability ``p`` (0.5), a partner is drawn uniformly among the batch's clips
of another class (the class of a clip is the largest entry of its label row), and
``x' = l * x_i + (1 - l) * x_j`` with ``l ~ U(0, 1)``, as mixup in the paper. A clip without any
other-class clip in its batch is left as it is. Only the SSL labels grow; the regular head (if
any) keeps ``y_i``, as for every factor > 1 strategy. Random draws, in order: partner scores
(``B x B`` uniforms), ``l`` (``B``), coins (``B``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from asdbench import Augmenter, PluginError, coin_flips

from .labels import batch_size_of, check_labels, check_probability, reject_unknown

if TYPE_CHECKING:
    import torch


def other_class_partners(labels: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, the partner with the highest score among rows of another class, and whether one exists."""
    import torch
    classes = labels.argmax(dim=1)
    other = classes[:, None] != classes[None, :]
    masked = torch.where(other, scores, torch.full_like(scores, -1.0))
    return masked.argmax(dim=1), other.any(dim=1)


class ClassMix(Augmenter):
    """Mixup of clips of different classes as a pseudo-anomalous class (Lopez et al. 2020), p 0.5, factor 2."""

    name: ClassVar[str] = "classmix"
    stage: ClassVar[str] = "waveform"
    factor: ClassVar[int] = 2

    def __init__(self, p: float = 0.5, **unknown: Any) -> None:
        reject_unknown(self.name, unknown, ("p",))
        self.p = check_probability(self.name, p)

    def __call__(self, data: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        import torch
        batch = batch_size_of(self.name, data)
        check_labels(self.name, labels, batch)
        if labels.shape[1] < 2:
            raise PluginError("augmenter 'classmix' needs class labels to find clips of another class; "
                              "with ssl_class_labels=false every clip has the same label")
        scores = torch.rand(batch, batch, generator=generator)
        lam = torch.rand(batch, generator=generator)
        coins = coin_flips(batch, self.p, generator)
        partner, has_other = other_class_partners(labels.cpu(), scores)
        mixed = (coins & has_other).to(data.device)
        partner = partner.to(data.device)
        lam_x = lam.to(device=data.device, dtype=data.dtype).view((-1,) + (1,) * (data.ndim - 1))
        row = (-1,) + (1,) * (data.ndim - 1)
        out = torch.where(mixed.view(row), lam_x * data + (1 - lam_x) * data[partner], data)
        lam_y = lam.to(device=labels.device, dtype=labels.dtype)[:, None]
        blended = lam_y * labels + (1 - lam_y) * labels[partner.to(labels.device)]
        zeros = torch.zeros_like(labels)
        kept = torch.cat([labels, zeros], dim=1)
        pseudo = torch.cat([zeros, blended], dim=1)
        return out, torch.where(mixed.to(labels.device)[:, None], pseudo, kept)
