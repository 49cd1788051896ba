"""Saving a fitted back-end next to a trial's scores, and loading it again, without pickle.

Two files per trial and back-end (``<run>/<system>/seed-<k>/<backend>/``):

* ``backend.json``: the format tag, the registered back-end name and its options, the decision
  rule (``score > threshold`` of the clip's group, the thresholds being the ``percentile``-th
  percentile of that group's training scores: the thresholds the trial's decision files used),
  and the back-end's own metadata from :meth:`Backend.get_state`;
* ``backend.npz``: the back-end's named arrays, read back with ``allow_pickle=False``, so a
  downloaded run directory cannot execute code when it is loaded.

Loading rebuilds the back-end through its registered factory with the saved options, then calls
:meth:`Backend.set_state`: the same plugin must be installed.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes, atomic_write_json
from ..components import Backend
from ..errors import AsdbenchError, DataError
from ..results.layout import BACKEND_ARRAYS_FILE as ARRAYS_FILE
from ..results.layout import BACKEND_STATE_FILE as STATE_FILE

FORMAT = "asdbench-backend/1"


@dataclass
class SavedBackend:
    """A fitted back-end loaded from a trial, with the decision thresholds of that trial."""

    name: str
    options: dict[str, Any]
    backend: Backend
    percentile: float
    thresholds: dict[str, float]  # group -> threshold

    def score_samples(self, embeddings: np.ndarray, groups: np.ndarray) -> np.ndarray:
        return self.backend.score_samples(embeddings, groups)

    def decide(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """1 where a score exceeds its group's saved threshold, else 0."""
        unknown = sorted(set(np.asarray(groups, dtype=str).tolist()) - set(self.thresholds))
        if unknown:
            raise DataError(f"no decision threshold for group {unknown[0]!r} (saved groups: {', '.join(sorted(self.thresholds))})")
        limits = np.array([self.thresholds[g] for g in np.asarray(groups, dtype=str)], dtype=np.float64)
        return (np.asarray(scores, dtype=np.float64) > limits).astype(np.int64)


def _check_arrays(name: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    checked = {}
    for key, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise DataError(f"back-end {name!r}: state array {key!r} has dtype {arr.dtype}; only numeric arrays can be saved")
        checked[str(key)] = arr
    return checked


def save_backend(directory: Path, name: str, options: dict[str, Any], backend: Backend,
                 thresholds: dict[str, float], percentile: float) -> None:
    """Write ``backend.npz`` then ``backend.json`` (the JSON last: its presence means complete)."""
    meta, arrays = backend.get_state()
    buffer = io.BytesIO()
    np.savez(buffer, **_check_arrays(name, arrays))
    directory = Path(directory)
    atomic_write_bytes(directory / ARRAYS_FILE, buffer.getvalue())
    atomic_write_json(directory / STATE_FILE, {
        "format": FORMAT,
        "name": name,
        "options": options,
        "decision": {"rule": "score > threshold[group]", "percentile": float(percentile),
                     "thresholds": {str(g): float(t) for g, t in sorted(thresholds.items())}},
        "state": meta,
    })


def load_backend(directory: Path) -> SavedBackend:
    """The fitted back-end saved in ``directory``; a clear :class:`DataError` when it is not there."""
    from ..plugins import resolve

    directory = Path(directory)
    path = directory / STATE_FILE
    if not path.is_file():
        raise DataError(f"{directory}: no saved back-end ({STATE_FILE} missing: the trial predates saved back-ends, "
                        "or its back-end does not implement get_state; re-run the trial)")
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise DataError(f"{path}: not a saved back-end of format {FORMAT}")
    try:
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{directory / ARRAYS_FILE}: unreadable ({exc})") from exc
    try:
        backend = resolve("backend", record["name"]).factory(**record["options"])
        decision = record["decision"]
        saved = SavedBackend(record["name"], dict(record["options"]), backend, float(decision["percentile"]),
                             {str(g): float(t) for g, t in decision["thresholds"].items()})
    except AsdbenchError as exc:
        raise DataError(f"{path}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: malformed ({type(exc).__name__}: {exc})") from exc
    backend.set_state(record["state"], arrays)
    return saved
