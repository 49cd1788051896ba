"""Statistics exchange (StatEx, paper 3.2) on the linear magnitude spectrogram, before TMN.

``axis`` names the axis the statistics are taken *over*:

* ``"frequency"`` (default, the paper's "temporal StatEx"): mean and population std over the
  frequency bins of every frame, shape ``B x T x 1``; the exchanged sample gets the partner's
  per-frame level and spread, i.e. its temporal envelope.
* ``"time"``: mean and std over the frames of every frequency bin, ``B x 1 x F``; the exchanged
  sample gets the partner's long-term spectrum. (TMN removes the per-bin mean again, which is
  why the paper only uses the temporal variant.)
* ``"both"`` (the paper's ablation "no TMN and full StatEx"): every exchanged sample uses one of
  the two, chosen by its own fair coin. This is how the reference layer is built (it computes
  both exchanges and picks one per sample; the published runs set that choice to "frequency").

With either axis: ``X' = (X_i - mu_i) / (sigma_i + 1e-16) * sigma_p + mu_p``. Labels grow to
3K (see :mod:`asdbench_ssl.labels`). The spectrogram is ``data[key]`` of shape ``B x ... x T x F``
(time second to last, frequency last); every other entry of ``data`` passes through untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from asdbench import Augmenter, coin_flips, partner_indices

from .labels import (
    PARTNER_MODES,
    check_choice,
    check_probability,
    exchange_labels,
    reject_unknown,
    spectrogram_batch,
)

if TYPE_CHECKING:
    import torch

AXES = ("frequency", "time", "both")
_DIM = {"frequency": -1, "time": -2}
EPS = 1e-16


def exchange_statistics(x: torch.Tensor, partner: torch.Tensor, over: str,
                        exchanged: torch.Tensor | None = None) -> torch.Tensor:
    """Every sample of ``x`` re-scaled to its partner's mean / population std over ``over``;
    with ``exchanged`` (booleans per sample) only those samples, the others returned exactly.

    ``(x - mu) / (sigma + eps) * sigma_p + mu_p`` is evaluated as ``x * a + b`` with per-row
    ``a = sigma_p / (sigma + eps)`` and ``b = mu_p - mu * a``: one pass over the spectrogram
    instead of five (it is the size of the network's input), equal up to float rounding. Kept
    samples get ``a = 1, b = 0``, which reproduces them bit for bit."""
    import torch
    sigma, mu = torch.std_mean(x, dim=_DIM[over], keepdim=True, correction=0)
    scale = sigma[partner] / (sigma + EPS)
    shift = mu[partner] - mu * scale
    if exchanged is not None:
        kept = ~exchanged.view((-1,) + (1,) * (x.ndim - 1))
        scale, shift = scale.masked_fill(kept, 1.0), shift.masked_fill(kept, 0.0)
    return torch.addcmul(shift, x, scale)


class StatEx(Augmenter):
    """Statistics exchange on the spectrogram (temporal variant by default), p 0.5, labels x3.

    Options: ``p`` (0.5), ``axis`` (``"frequency"`` = the paper's temporal StatEx, ``"time"``,
    ``"both"``), ``key`` (``"spectrogram"``), ``partner`` (``"reversed"`` or ``"random"``).
    Random draws, in order: partner permutation (``random`` only), axis coins (``both`` only),
    exchange coins.
    """

    name: ClassVar[str] = "statex"
    stage: ClassVar[str] = "features"
    factor: ClassVar[int] = 3

    def __init__(self, p: float = 0.5, axis: str = "frequency", key: str = "spectrogram",
                 partner: str = "reversed", **unknown: Any) -> None:
        reject_unknown(self.name, unknown, ("p", "axis", "key", "partner"))
        self.p = check_probability(self.name, p)
        self.axis = check_choice(self.name, "axis", axis, AXES)
        self.key = key
        self.partner = check_choice(self.name, "partner", partner, PARTNER_MODES)

    def __call__(self, data: dict[str, torch.Tensor], labels: torch.Tensor,
                 generator: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        import torch
        x, batch = spectrogram_batch(self.name, data, self.key, labels)
        partner = partner_indices(batch, self.partner, generator, x.device)
        shape = (-1,) + (1,) * (x.ndim - 1)
        out = dict(data)
        if self.axis == "both":  # the ablation: per sample one of the two axes
            over_time = coin_flips(batch, 0.5, generator, x.device)
            exchanged_x = torch.where(over_time.view(shape), exchange_statistics(x, partner, "time"),
                                      exchange_statistics(x, partner, "frequency"))
            exchanged = coin_flips(batch, self.p, generator, x.device)
            out[self.key] = torch.where(exchanged.view(shape), exchanged_x, x)
        else:
            exchanged = coin_flips(batch, self.p, generator, x.device)
            out[self.key] = exchange_statistics(x, partner, self.axis, exchanged)
        return out, exchange_labels(labels, partner, exchanged)
