"""A Keras-style summary of an embedder: layers, output shapes, weights and MACs per clip.

One forward pass of a single clip (eval mode, no grad) with forward hooks on every leaf module.
MACs are counted analytically from the output shapes: a convolution costs
``out_elements * in_channels/groups * prod(kernel)`` and a dense layer ``out_elements *
in_features`` multiply-accumulates; everything else (FFT front-end, BN, pooling, SE gating,
activations) counts as 0. "Kernel" weights are conv/dense weight tensors (SE layers included);
"BN" are the other trainable parameters (batch-norm scale and offset, any bias); "stats" are the
non-trainable batch-norm moving averages (as Keras' "non-trainable params").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from tabulate import tabulate
from torch import nn

from ..components import Embedder


@dataclass
class LayerRow:
    name: str
    kind: str
    shape: tuple[int, ...]
    kernel: int = 0
    other: int = 0
    stats: int = 0
    macs: int = 0

    @property
    def branch(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass
class ModelSummary:
    clip_samples: int
    rows: list[LayerRow] = field(default_factory=list)

    def total(self, attr: str, branch: str | None = None) -> int:
        return sum(getattr(r, attr) for r in self.rows if branch is None or r.branch == branch)

    def branches(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rows:
            if r.kernel or r.other or r.macs:
                seen.setdefault(r.branch, None)
        return list(seen)


def _macs(module: nn.Module, out: torch.Tensor) -> int:
    per_clip = out.numel() // max(out.shape[0], 1)
    if isinstance(module, nn.modules.conv._ConvNd):
        return per_clip * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return per_clip * module.in_features
    return 0


def _counts(module: nn.Module) -> tuple[int, int, int]:
    kernel = other = 0
    for pname, p in module.named_parameters(recurse=False):
        if pname == "weight" and isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            kernel += p.numel()
        else:
            other += p.numel()
    stats = sum(b.numel() for bname, b in module.named_buffers(recurse=False) if bname.startswith("running_"))
    return kernel, other, stats


@torch.no_grad()
def summarize(embedder: Embedder, clip_samples: int, seed: int = 0) -> ModelSummary:
    """Run one clip through ``embedder`` and record every leaf module's output and cost."""
    summary = ModelSummary(clip_samples)
    names = {m: n for n, m in embedder.named_modules()}
    seen: set[int] = set()

    def hook(module: nn.Module, _inputs: object, out: object) -> None:
        if not isinstance(out, torch.Tensor):
            return
        kernel, other, stats = (0, 0, 0) if id(module) in seen else _counts(module)
        seen.add(id(module))
        summary.rows.append(LayerRow(names[module], type(module).__name__, tuple(out.shape[1:]),
                                     kernel, other, stats, _macs(module, out)))

    handles = [m.register_forward_hook(hook) for m in embedder.modules() if not any(True for _ in m.children())]
    was_training = embedder.training
    embedder.eval()
    try:
        device = next((p.device for p in embedder.parameters()), torch.device("cpu"))
        wave = torch.randn(1, clip_samples, generator=torch.Generator().manual_seed(seed)).to(device)
        feats = embedder.features(wave)
        for key, value in feats.items():
            summary.rows.append(LayerRow(f"features.{key}", "front-end", tuple(value.shape[1:])))
        sub = embedder.encode(feats)
        emb = embedder.combine(sub)
        summary.rows.append(LayerRow("embedding", "concat", tuple(emb.shape[1:])))
    finally:
        for h in handles:
            h.remove()
        embedder.train(was_training)
    # Parameters of modules that never ran (should not happen) still belong in the totals.
    for module in embedder.modules():
        if id(module) not in seen and any(True for _ in module.parameters(recurse=False)):
            kernel, other, stats = _counts(module)
            summary.rows.append(LayerRow(names[module], type(module).__name__ + " (unused)", (), kernel, other, stats))
    return summary


def _fmt(n: int) -> str:
    return f"{n:,}" if n else ""


def format_summary(summary: ModelSummary, title: str = "") -> str:
    """The table plus per-branch and overall totals, as plain text."""
    table = [[f"{r.name} ({r.kind})", str(r.shape), _fmt(r.kernel), _fmt(r.other), _fmt(r.stats), _fmt(r.macs)]
             for r in summary.rows]
    lines = []
    if title:
        lines.append(title)
    lines.append(tabulate(table, headers=["Layer (type)", "Output shape", "Kernel", "BN/other", "BN stats", "MACs"],
                          tablefmt="simple", disable_numparse=True, colalign=("left", "left", "right", "right", "right", "right")))
    lines.append("")
    totals = []
    for branch in summary.branches():
        totals.append([branch, f"{summary.total('kernel', branch):,}", f"{summary.total('other', branch):,}",
                       f"{summary.total('stats', branch):,}", f"{summary.total('macs', branch) / 1e9:.3f}"])
    totals.append(["total", f"{summary.total('kernel'):,}", f"{summary.total('other'):,}",
                   f"{summary.total('stats'):,}", f"{summary.total('macs') / 1e9:.3f}"])
    lines.append(tabulate(totals, headers=["Branch", "Kernel weights", "BN/other params", "BN stats", "GMAC/clip"],
                          tablefmt="simple", disable_numparse=True, colalign=("left", "right", "right", "right", "right")))
    lines.append("")
    lines.append(f"Kernel weights: {summary.total('kernel'):,}")
    lines.append(f"Trainable BN/other params: {summary.total('other'):,}")
    lines.append(f"Non-trainable BN statistics: {summary.total('stats'):,}")
    lines.append(f"MACs per clip ({summary.clip_samples} samples, forward): {summary.total('macs'):,} "
                 f"({summary.total('macs') / 1e9:.3f} G)")
    return "\n".join(lines)
