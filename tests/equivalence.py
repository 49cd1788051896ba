"""Checks that a faster layer computes what the plain one does, values and both gradients."""

from __future__ import annotations

import torch
from torch import nn


def run_both_with_gradients(plain: nn.Module, fast: nn.Module, x: torch.Tensor,
                            tol: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
    """Copy ``plain``'s weights into ``fast``, run both on ``x``, back-propagate one random output
    gradient through both, and assert equal outputs, input gradients and weight gradients within
    ``tol``. Returns the two outputs for further checks (shape, memory layout)."""
    fast.load_state_dict(plain.state_dict())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = plain(xa), fast(xb)
    assert yb.shape == ya.shape
    torch.testing.assert_close(yb, ya, rtol=tol, atol=tol)
    grad = torch.randn_like(ya)
    ya.backward(grad)
    yb.backward(grad)
    torch.testing.assert_close(xb.grad, xa.grad, rtol=tol, atol=tol)
    torch.testing.assert_close(fast.weight.grad, plain.weight.grad, rtol=tol, atol=tol)
    return ya, yb
