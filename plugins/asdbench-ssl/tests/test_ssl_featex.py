"""FeatEx: exactly the chosen rows are swapped, labels follow, gradients reach both partners."""

from __future__ import annotations

import pytest
import torch
from asdbench import ConfigError, PluginError, coin_flips

from asdbench_ssl import FeatEx


def sub_embeddings(batch: int = 16, dim: int = 128, seed: int = 0, grad: bool = False) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "spectrum": torch.randn(batch, dim, generator=g).requires_grad_(grad),
        "spectrogram": torch.randn(batch, dim, generator=g).requires_grad_(grad),
    }


def test_swaps_exactly_the_rows_of_the_coin_flips():
    data = sub_embeddings()
    labels = torch.eye(8)[(torch.arange(16) * 3) % 8]
    out, y = FeatEx()(data, labels, torch.Generator().manual_seed(7))
    expected_flips = coin_flips(16, 0.5, torch.Generator().manual_seed(7))  # reversed partner draws nothing
    assert 0 < expected_flips.sum() < 16
    for i in range(16):
        j = 15 - i
        assert torch.equal(out["spectrum"][i], data["spectrum"][i])
        if expected_flips[i]:
            assert torch.equal(out["spectrogram"][i], data["spectrogram"][j])
            assert torch.equal(y[i], torch.cat([torch.zeros(8), 0.5 * labels[i], 0.5 * labels[j]]))
        else:
            assert torch.equal(out["spectrogram"][i], data["spectrogram"][i])
            assert torch.equal(y[i], torch.cat([labels[i], torch.zeros(16)]))
    assert list(out) == ["spectrum", "spectrogram"]  # order kept: the embedder concatenates in order
    torch.testing.assert_close(y.sum(dim=1), torch.ones(16))


def test_gradients_flow_to_the_sample_and_its_partner():
    data = sub_embeddings(batch=8, grad=True)
    out, y = FeatEx(p=1.0)(data, torch.eye(8), torch.Generator().manual_seed(0))
    i, partner = 2, 5
    (out["spectrum"][i].sum() + (out["spectrogram"][i] ** 2).sum()).backward()
    spectrum_grad, spectrogram_grad = data["spectrum"].grad, data["spectrogram"].grad
    assert spectrum_grad[i].abs().sum() > 0  # the sample's own spectrum branch
    assert spectrogram_grad[partner].abs().sum() > 0  # the partner's spectrogram branch
    torch.testing.assert_close(spectrogram_grad[partner], 2 * data["spectrogram"][partner].detach())
    assert spectrogram_grad[i].abs().sum() == 0  # its own spectrogram half was replaced
    assert spectrum_grad[partner].abs().sum() == 0


def test_whole_batch_loss_reaches_exactly_the_rows_in_use_and_leaves_inputs_untouched():
    data = sub_embeddings(batch=8, grad=True)
    before = {k: v.detach().clone() for k, v in data.items()}
    out, y = FeatEx(p=0.5)(data, torch.eye(8), torch.Generator().manual_seed(1))
    torch.cat([out["spectrum"], out["spectrogram"]], dim=1).pow(2).sum().backward()
    exchanged = y[:, :8].sum(dim=1) == 0
    assert 0 < exchanged.sum() < 8
    used = {i for i in range(8) if not exchanged[i]} | {7 - i for i in range(8) if exchanged[i]}
    has_grad = {i for i in range(8) if data["spectrogram"].grad[i].abs().sum() > 0}
    assert has_grad == used
    assert (data["spectrum"].grad.abs().sum(dim=1) > 0).all()
    assert all(torch.equal(data[k].detach(), before[k]) for k in data)


def test_swap_option_and_errors():
    data = sub_embeddings(batch=4)
    out, _ = FeatEx(p=1.0, swap="spectrum")(data, torch.eye(4), torch.Generator().manual_seed(0))
    assert torch.equal(out["spectrum"], data["spectrum"].flip(0))
    assert torch.equal(out["spectrogram"], data["spectrogram"])
    with pytest.raises(PluginError, match="including 'mel'; the embedder provides: spectrum, spectrogram"):
        FeatEx(swap="mel")(data, torch.eye(4), torch.Generator())
    with pytest.raises(PluginError, match="at least two sub-embeddings"):
        FeatEx()({"spectrogram": data["spectrogram"]}, torch.eye(4), torch.Generator())
    with pytest.raises(ConfigError, match="partner must be one of reversed, random"):
        FeatEx(partner="shuffled")
