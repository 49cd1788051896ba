"""Training: the loop and its checkpoints (:mod:`.trainer`), device and precision (:mod:`.device`),
prefetch and extraction (:mod:`.inference`), the augmenter pipeline (:mod:`.pipeline`).

This package's ``__init__`` imports nothing heavy: the precision names are here so that option
parsing can check them without importing torch.
"""

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
"""fp32; bf16 (CPU/CUDA autocast); fp16 (CUDA autocast + loss scaling); auto (see device.resolve_precision)."""
