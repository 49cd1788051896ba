"""SpecAugment's time and frequency masking (Park et al., Interspeech 2019) on the spectrogram.

A plain augmentation (factor 1: no new classes, labels pass through unchanged). For every clip
chosen (probability ``p``, default 1 as in SpecAugment), ``freq_masks`` bands of ``f`` consecutive
frequency bins and ``time_masks`` bands of ``t`` consecutive frames are replaced by ``fill``:
``f ~ U{0..freq_width}``, first bin ``~ U{0..F-f}``, ``t ~ U{0..min(time_width, max_time_ratio*T)}``,
first frame ``~ U{0..T-t}``, every draw per clip and mask. Defaults are SpecAugment's LD policy
(``F = 27``, ``m_F = 2``, ``T = 100``, ``m_T = 2``, ratio 1.0); widths larger than the axis are
capped to it (the quick preset's 2-s clips have 61 frames).

The masks act on ``data[key]`` (``B x ... x T x F``, default the linear magnitude spectrogram, before
temporal mean normalisation). ``fill="mean"`` (default) writes each clip's own mean magnitude:
SpecAugment masks with 0 *after* normalising its features to zero mean, i.e. with the mean;
``fill="zero"`` writes silence. Random draws, in order: frequency masks (``B x m_F x 2``
uniforms), time masks (``B x m_T x 2``), clip coins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from asdbench import Augmenter, ConfigError, coin_flips

from .labels import check_choice, check_probability, reject_unknown, spectrogram_batch

if TYPE_CHECKING:
    import torch

FILLS = ("mean", "zero")


def _non_negative_int(name: str, option: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"augmenter {name!r} option {option} must be a non-negative integer, got {value!r}")
    return value


def band_masks(uniforms: torch.Tensor, max_width: int, size: int) -> torch.Tensor:
    """``B x size`` booleans: the union of the bands drawn by ``uniforms`` (``B x masks x 2``).

    Width ``floor(u0 * (max_width + 1))``, start ``floor(u1 * (size - width + 1))``."""
    import torch
    width = torch.floor(uniforms[..., 0] * (max_width + 1)).long().clamp(max=max_width)
    start = torch.floor(uniforms[..., 1] * (size - width + 1)).long().clamp(max=size - width)
    index = torch.arange(size, device=uniforms.device)
    inside = (index >= start[..., None]) & (index < (start + width)[..., None])  # B x masks x size
    return inside.any(dim=1)


class SpecAugment(Augmenter):
    """SpecAugment time and frequency masks on the spectrogram (LD policy: 2 x 27 bins, 2 x 100 frames)."""

    name: ClassVar[str] = "specaugment"
    stage: ClassVar[str] = "features"
    factor: ClassVar[int] = 1

    def __init__(self, freq_masks: int = 2, freq_width: int = 27, time_masks: int = 2, time_width: int = 100,
                 max_time_ratio: float = 1.0, p: float = 1.0, key: str = "spectrogram", fill: str = "mean",
                 **unknown: Any) -> None:
        reject_unknown(self.name, unknown, ("freq_masks", "freq_width", "time_masks", "time_width",
                                            "max_time_ratio", "p", "key", "fill"))
        self.freq_masks = _non_negative_int(self.name, "freq_masks", freq_masks)
        self.freq_width = _non_negative_int(self.name, "freq_width", freq_width)
        self.time_masks = _non_negative_int(self.name, "time_masks", time_masks)
        self.time_width = _non_negative_int(self.name, "time_width", time_width)
        self.max_time_ratio = check_probability(self.name, max_time_ratio, "max_time_ratio")
        self.p = check_probability(self.name, p)
        self.key = key
        self.fill = check_choice(self.name, "fill", fill, FILLS)

    def __call__(self, data: dict[str, torch.Tensor], labels: torch.Tensor,
                 generator: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        import torch
        x, batch = spectrogram_batch(self.name, data, self.key, labels)
        frames, bins = x.shape[-2], x.shape[-1]
        freq_u = torch.rand(batch, self.freq_masks, 2, generator=generator)
        time_u = torch.rand(batch, self.time_masks, 2, generator=generator)
        applied = coin_flips(batch, self.p, generator)
        freq = band_masks(freq_u, min(self.freq_width, bins), bins)
        time = band_masks(time_u, min(self.time_width, int(self.max_time_ratio * frames)), frames)
        mask = (time[:, :, None] | freq[:, None, :]) & applied[:, None, None]  # B x T x F
        mask = mask.view((batch,) + (1,) * (x.ndim - 3) + (frames, bins)).to(x.device)
        fill = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True) if self.fill == "mean" else torch.zeros((), dtype=x.dtype, device=x.device)
        out = dict(data)
        out[self.key] = torch.where(mask, fill, x)
        return out, labels
