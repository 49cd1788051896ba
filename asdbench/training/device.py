"""Device and precision of a trial: what runs where, in which float format.

``precision`` changes numbers (bf16/fp16 autocast for the embedder; the loss heads always run in
float32), so it is part of the experiment; ``compile`` (``torch.compile``) changes speed only up to
float rounding. docs/scaling.md has the measurements behind the defaults.
"""

from __future__ import annotations

import contextlib
import functools

import torch

from ..components import Embedder
from ..errors import ConfigError
from . import PRECISIONS

AUTO_CPU_BF16 = True
"""Whether ``precision="auto"`` picks bf16 on CPUs with native bf16 instructions (docs/scaling.md
has the accuracy check behind this choice)."""


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device is available (use --device auto or cpu)")
    return torch.device(name)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX-BF16 in the CPU flags (Linux): bf16 matmuls at about 2x the fp32 rate.
    Elsewhere bf16 is emulated and slower than fp32, so ``auto`` keeps fp32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def resolve_precision(device: torch.device, precision: str) -> str:
    """The concrete precision (fp32, bf16 or fp16) of ``precision`` on ``device``.

    ``auto``: bf16 on CUDA devices that support it (no loss scaling needed), else fp16; on CPU
    bf16 when :data:`AUTO_CPU_BF16` and the CPU has native bf16, else fp32.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if AUTO_CPU_BF16 and device.type == "cpu" and cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("--precision fp16 needs a CUDA device (on CPU use bf16 or fp32)")
    return precision


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed precision where asked for (see :func:`resolve_precision` for 'auto')."""
    precision = resolve_precision(device, precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def compile_embedder(embedder: Embedder) -> Embedder:
    """``torch.compile`` the embedder's ``encode`` (the sub-networks: nearly all the work) in place.

    The front-end FFTs and the augmenters stay eager (the augmenters draw from a CPU generator).
    Parameter names and the state_dict are unchanged. Compiling takes about a minute on a 2-core
    CPU (again when switching to eval mode). On the 2-core development CPU the compiled training
    step was no faster than eager bf16 + channels-last (docs/scaling.md); on GPUs, where kernel
    launches and unfused element-wise passes weigh more, it is the usual win.
    """
    embedder.encode = torch.compile(embedder.encode, dynamic=False)  # type: ignore[method-assign]
    return embedder
