"""Label bookkeeping shared by the exchange strategies (StatEx, FeatEx).

An exchange strategy triples the label space: a kept sample gets ``[y, 0, 0]``, an exchanged one
``[0, y_i / 2, y_partner / 2]`` (the network must tell that it was exchanged, and from which two
classes). Applying two of them in sequence gives the proposed approach's 9C layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asdbench import ConfigError, PluginError

if TYPE_CHECKING:
    import torch

PARTNER_MODES = ("reversed", "random")


def exchange_labels(labels: torch.Tensor, partner: torch.Tensor, exchanged: torch.Tensor) -> torch.Tensor:
    """``B x K`` soft labels -> ``B x 3K``: ``[y, 0, 0]`` kept, ``[0, y/2, y_partner/2]`` exchanged."""
    import torch
    zeros = torch.zeros_like(labels)
    kept = torch.cat([labels, zeros, zeros], dim=1)
    swapped = torch.cat([zeros, 0.5 * labels, 0.5 * labels[partner]], dim=1)
    return torch.where(exchanged.to(labels.device).unsqueeze(1), swapped, kept)


def check_labels(name: str, labels: Any, batch_size: int) -> None:
    """Labels must be a ``B x K`` tensor matching the batch."""
    import torch
    if not isinstance(labels, torch.Tensor) or labels.ndim != 2 or labels.shape[0] != batch_size:
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise PluginError(f"augmenter {name!r} needs labels of shape (batch={batch_size}, classes), got {shape}")


def check_probability(name: str, value: Any, option: str = "p") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"augmenter {name!r} option {option} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_choice(name: str, option: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"augmenter {name!r} option {option} must be one of {', '.join(choices)}, got {value!r}")
    return value


def reject_unknown(name: str, unknown: dict[str, Any], accepted: tuple[str, ...]) -> None:
    """Unknown options (from a config file or the command line) are a one-line ConfigError."""
    if unknown:
        first = sorted(unknown)[0]
        raise ConfigError(f"unknown option {first!r} for augmenter {name!r} (options: {', '.join(accepted)})")


def batch_size_of(name: str, data: Any, key: str | None = None) -> int:
    """Batch size of a tensor, or of ``data[key]`` for dict-shaped stages."""
    import torch
    tensor = data if key is None else data[key]
    if not isinstance(tensor, torch.Tensor) or tensor.ndim < 2:
        where = "data" if key is None else f"data[{key!r}]"
        got = f"shape {tuple(tensor.shape)}" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise PluginError(f"augmenter {name!r} needs {where} as a batched tensor (batch first), got {got}")
    return int(tensor.shape[0])


def spectrogram_batch(name: str, data: Any, key: str, labels: Any) -> tuple[torch.Tensor, int]:
    """``data[key]`` of a features-stage dict as ``B x ... x T x F`` and its batch size; labels checked."""
    if not isinstance(data, dict) or key not in data:
        keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise PluginError(f"augmenter {name!r} needs features[{key!r}]; the embedder provides: {keys}")
    x = data[key]
    batch = batch_size_of(name, data, key)
    if x.ndim < 3:
        raise PluginError(f"augmenter {name!r} needs features[{key!r}] as batch x time x frequency, got shape {tuple(x.shape)}")
    check_labels(name, labels, batch)
    return x, batch
