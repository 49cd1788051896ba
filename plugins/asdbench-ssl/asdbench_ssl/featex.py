"""Feature exchange (FeatEx, paper 3.3): swap one branch's sub-embedding with the partner's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from asdbench import Augmenter, PluginError, coin_flips, partner_indices

from .labels import (
    PARTNER_MODES,
    batch_size_of,
    check_choice,
    check_labels,
    check_probability,
    exchange_labels,
    reject_unknown,
)

if TYPE_CHECKING:
    import torch


class FeatEx(Augmenter):
    """Feature exchange: with p 0.5 take the partner's spectrogram sub-embedding, labels x3.

    ``data`` is the embedder's dict of sub-embeddings (``spectrum`` / ``spectrogram``, each
    ``B x D``). For every sample with a successful coin flip, ``data[swap][i]`` is replaced by
    ``data[swap][partner]`` while the other sub-embeddings stay the sample's own, so the network
    must learn whether its two halves belong together. The swap is done by indexing (no in-place
    writes), so the loss of an exchanged sample trains both the sample's and the partner's
    network paths. Options: ``p`` (0.5), ``swap`` (``"spectrogram"``), ``partner``
    (``"reversed"`` or ``"random"``). Random draws, in order: partner (``random`` only), coins.
    """

    name: ClassVar[str] = "featex"
    stage: ClassVar[str] = "embedding"
    factor: ClassVar[int] = 3

    def __init__(self, p: float = 0.5, swap: str = "spectrogram", partner: str = "reversed", **unknown: Any) -> None:
        reject_unknown(self.name, unknown, ("p", "swap", "partner"))
        self.p = check_probability(self.name, p)
        self.swap = swap
        self.partner = check_choice(self.name, "partner", partner, PARTNER_MODES)

    def __call__(self, data: dict[str, torch.Tensor], labels: torch.Tensor,
                 generator: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        import torch
        if not isinstance(data, dict) or self.swap not in data or len(data) < 2:
            keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise PluginError(
                f"augmenter 'featex' needs at least two sub-embeddings including {self.swap!r}; "
                f"the embedder provides: {keys}"
            )
        emb = data[self.swap]
        batch = batch_size_of(self.name, data, self.swap)
        check_labels(self.name, labels, batch)
        partner = partner_indices(batch, self.partner, generator, emb.device)
        exchanged = coin_flips(batch, self.p, generator, emb.device)
        out = dict(data)
        out[self.swap] = torch.where(exchanged.view((-1,) + (1,) * (emb.ndim - 1)), emb[partner], emb)
        return out, exchange_labels(labels, partner, exchanged)
