"""Where the real DCASE2023 valve clips are: ``shared/`` beside the repository (as CI lays it out),
or ``ASDBENCH_SHARED_DATA`` when set."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_CANDIDATES = [
    Path(os.environ["ASDBENCH_SHARED_DATA"]) if os.environ.get("ASDBENCH_SHARED_DATA") else None,
    _REPO.parent / "shared" / "data",
    Path("/work/shared/data"),
]
SHARED_DATA = next((p for p in _CANDIDATES if p is not None and p.is_dir()), _REPO.parent / "shared" / "data")
VALVE = SHARED_DATA / "dcase2023-dev-valve-test"
