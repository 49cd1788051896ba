"""asdbench: benchmark self-supervised learning strategies for anomalous sound detection."""

from __future__ import annotations

__version__ = "0.1.0"
