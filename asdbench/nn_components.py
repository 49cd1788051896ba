"""The two interfaces that are ``torch.nn.Module`` subclasses: embedders and loss heads.

Import them from :mod:`asdbench.components` (which re-exports them on first use); they live here
so that the rest of the interfaces can be imported without torch.
"""

from __future__ import annotations

import abc

import torch
from torch import nn

# --------------------------------------------------------------------------------------------
# Embedders
# --------------------------------------------------------------------------------------------


class Embedder(nn.Module, abc.ABC):
    """A network whose forward pass is split at the points where augmenters act.

    ``features(wave)`` -> dict of front-end representations (``features`` stage);
    ``encode(features)`` -> dict of sub-embeddings (``embedding`` stage);
    ``combine(sub)`` -> one embedding per clip. ``forward`` chains the three.
    """

    embedding_dim: int

    @abc.abstractmethod
    def features(self, wave: torch.Tensor) -> dict[str, torch.Tensor]: ...

    @abc.abstractmethod
    def encode(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]: ...

    def combine(self, sub: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([sub[k] for k in sub], dim=-1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.combine(self.encode(self.features(wave)))

    def regularization(self) -> torch.Tensor:
        """Weight penalty added to the loss (L2 on kernels for the two-branch network)."""
        return torch.zeros(())

    def layout(self) -> list[str]:
        """The order of operations of the network's blocks, one line each (``asdbench describe``
        shows it, so a user sees which variant of an architecture is built). Optional."""
        return []

    def for_inference(self) -> Embedder:
        """The module that embedding extraction runs (eval mode, no gradients): ``self``, or a
        faster copy computing the same embeddings up to float rounding (e.g. batch norms folded
        into the preceding layers). Never trained, never saved."""
        return self


# --------------------------------------------------------------------------------------------
# Loss heads
# --------------------------------------------------------------------------------------------


class LossHead(nn.Module, abc.ABC):
    """Maps embeddings + soft labels to a scalar loss.

    ``embeddings`` are float32 (the heads never run under autocast); ``labels`` are soft class
    labels (mixup makes them fractional), one column per class of the head. A head with an
    adaptive scale keeps it as a one-element ``scale`` buffer: ``history.csv`` records it each
    epoch (AdaCos, AdaProj)."""

    @abc.abstractmethod
    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor: ...

    def probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Class probabilities of ``embeddings`` (diagnostics and tests; training needs only
        :meth:`forward`)."""
        raise NotImplementedError(f"{type(self).__name__} does not provide class probabilities")
