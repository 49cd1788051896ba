"""Sound models of the 14 machine types, registered by name in :data:`MODELS`."""

from __future__ import annotations

from . import geared, impacting, rotating, sequenced  # noqa: F401  (registration)
from .base import MODELS, Ctx

__all__ = ["MODELS", "Ctx"]
