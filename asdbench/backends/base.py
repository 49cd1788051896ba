"""What every per-group back-end shares: input checks, the per-group loop, thresholds, decisions.

A DCASE back-end is fitted separately for every machine type / section ("group"); the score of a
test clip only depends on the training embeddings of its own group. :class:`GroupedBackend` does
the bookkeeping once, so each concrete back-end only says how to fit one group and how to score
against it. Subclasses keep scikit-learn's conventions: parameters are constructor arguments,
``__init__`` does no work, fitted attributes end with ``_``.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import numpy as np

from ..components import Backend
from ..errors import ConfigError, DataError
from ..scoring.decision import DECISION_PERCENTILE, check_percentile, threshold

DOMAINS = ("source", "target")


class NotFittedError(RuntimeError):
    """``score_samples`` / ``decide`` was called before ``fit``."""


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float64); an all-zero row stays zero instead of becoming NaN."""
    x = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, np.finfo(np.float64).tiny)


def check_int_option(backend: str, option: str, value: Any, minimum: int = 1) -> None:
    """A ``ConfigError`` naming the option unless ``value`` is an integer >= ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{backend} back-end option {option} must be {kind}, got {value!r}")


def check_embeddings(embeddings: Any, n_features: int | None = None, what: str = "embeddings") -> np.ndarray:
    """A finite 2-D float64 array, with ``n_features`` columns when given."""
    x = np.asarray(embeddings)
    if x.ndim != 2:
        raise DataError(f"{what} must be a 2-D array (clips x dimensions), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{what} must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if not np.all(np.isfinite(x)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(x), axis=1))[0])
        raise DataError(f"{what} contain NaN or infinite values (first at row {bad})")
    if n_features is not None and x.shape[1] != n_features:
        raise DataError(
            f"{what} have {x.shape[1]} dimensions but the back-end was fitted on {n_features}"
        )
    return x


def check_labels(values: Any, n: int, what: str) -> np.ndarray:
    """A 1-D array of ``n`` non-empty strings (groups or domains)."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"{what} must be a 1-D array with one entry per embedding ({n}), got shape {arr.shape}")
    arr = arr.astype(str)
    if n and np.any(arr == ""):
        raise DataError(f"{what} contain an empty name (row {int(np.flatnonzero(arr == '')[0])})")
    return arr


class GroupedBackend(Backend, abc.ABC):
    """Fits one model per group and scores each test clip against its own group's model.

    ``training_scores_`` holds the training clips' own scores in input order (leave-one-out where
    a clip would otherwise match itself, as in k-NN); thresholds and ensembles are built from them.

    Provides the decision part every back-end needs for challenge-format decision files:
    ``threshold_[group]`` is the ``percentile``-th percentile (numpy's linear interpolation, as
    in the reference) of the group's training scores, and :meth:`decide` returns
    ``score > threshold``.
    """

    percentile: float
    #: The dataclass of one group's model; its fields are arrays or ``dict[str, array]``, which
    #: is all :meth:`get_state` / :meth:`set_state` need to save and restore it.
    model_type: ClassVar[type]

    # --- to implement ---------------------------------------------------------------------

    def _validate_params(self) -> None:  # noqa: B027 - optional hook
        """Raise :class:`ConfigError` naming the option when a parameter value is invalid."""

    @abc.abstractmethod
    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> Any:
        """Fit on one group's L2-normalised training embeddings; return that group's model."""

    @abc.abstractmethod
    def _score_group(self, model: Any, x: np.ndarray) -> np.ndarray:
        """Anomaly scores of L2-normalised embeddings ``x`` against one group's model."""

    def _training_scores(self, model: Any, x: np.ndarray, domains: np.ndarray) -> np.ndarray:
        """Scores of the group's own training embeddings, for the decision threshold."""
        return self._score_group(model, x)

    # --- shared -------------------------------------------------------------------------------

    def validate(self) -> GroupedBackend:
        """Check the parameters without fitting (factories call it so bad options fail early)."""
        check_percentile(getattr(self, "percentile", DECISION_PERCENTILE))
        self._validate_params()
        return self

    def fit(self, embeddings: np.ndarray, groups: np.ndarray, domains: np.ndarray) -> GroupedBackend:
        """Fit one model per group on L2-normalised embeddings; set ``threshold_`` per group."""
        self.validate()
        x = check_embeddings(embeddings, what="training embeddings")
        if x.shape[0] == 0:
            raise DataError("no training embeddings to fit the back-end on")
        groups = check_labels(groups, x.shape[0], "training groups")
        domains = check_labels(domains, x.shape[0], "training domains")
        unknown = sorted(set(domains.tolist()) - set(DOMAINS))
        if unknown:
            raise DataError(f"training domains must be 'source' or 'target', got {unknown[0]!r}")
        x = l2_normalize(x)
        self.n_features_in_ = x.shape[1]
        self.groups_: list[str] = sorted(set(groups.tolist()))
        self.models_: dict[str, Any] = {}
        self.threshold_: dict[str, float] = {}
        self.training_scores_ = np.empty(x.shape[0], dtype=np.float64)
        for group in self.groups_:
            rows = groups == group
            model = self._fit_group(group, x[rows], domains[rows])
            self.models_[group] = model
            train_scores = self._training_scores(model, x[rows], domains[rows])
            self.training_scores_[rows] = train_scores
            self.threshold_[group] = threshold(train_scores, self.percentile)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _check_groups(self, groups: np.ndarray) -> None:
        unseen = sorted(set(groups.tolist()) - set(self.groups_))
        if unseen:
            raise DataError(
                f"group {unseen[0]!r} has no training embeddings in this back-end "
                f"(fitted groups: {', '.join(self.groups_)})"
            )

    def score_samples(self, embeddings: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """One anomaly score per embedding (higher = more anomalous), each against its own group."""
        self._check_fitted()
        x = check_embeddings(embeddings, self.n_features_in_, what="test embeddings")
        groups = check_labels(groups, x.shape[0], "test groups")
        self._check_groups(groups)
        x = l2_normalize(x)
        scores = np.empty(x.shape[0], dtype=np.float64)
        for group in sorted(set(groups.tolist())):
            rows = groups == group
            scores[rows] = self._score_group(self.models_[group], x[rows])
        return scores

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Groups, thresholds and every group model's arrays (``"<i>/<field>[/<key>]"``)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {"training_scores": self.training_scores_}
        for i, group in enumerate(self.groups_):
            model = self.models_[group]
            for f in dataclasses.fields(model):
                value = getattr(model, f.name)
                if isinstance(value, dict):
                    arrays.update({f"{i}/{f.name}/{key}": np.asarray(v) for key, v in value.items()})
                else:
                    arrays[f"{i}/{f.name}"] = np.asarray(value)
        fields = {f.name: "dict" if isinstance(getattr(self.models_[self.groups_[0]], f.name), dict) else "array"
                  for f in dataclasses.fields(self.model_type)}
        meta = {"n_features_in": int(self.n_features_in_), "groups": list(self.groups_),
                "threshold": {g: float(t) for g, t in self.threshold_.items()}, "fields": fields}
        return meta, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> GroupedBackend:
        """Rebuild the group models saved by :meth:`get_state` (``DataError`` when one is incomplete)."""
        self.validate()
        try:
            self.n_features_in_ = int(meta["n_features_in"])
            self.groups_ = [str(g) for g in meta["groups"]]
            self.threshold_ = {str(g): float(t) for g, t in meta["threshold"].items()}
            fields: dict[str, str] = dict(meta["fields"])
            self.training_scores_ = np.asarray(arrays["training_scores"], dtype=np.float64)
            self.models_ = {}
            for i, group in enumerate(self.groups_):
                values: dict[str, Any] = {}
                for name, kind in fields.items():
                    if kind == "dict":
                        prefix = f"{i}/{name}/"
                        values[name] = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
                    else:
                        values[name] = arrays[f"{i}/{name}"]
                self.models_[group] = self.model_type(**values)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"saved {type(self).__name__} state is incomplete or malformed ({type(exc).__name__}: {exc})") from exc
        return self

    def decide(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """0 (normal) / 1 (anomalous) per score: 1 where the score exceeds its group's threshold."""
        self._check_fitted()
        s = np.asarray(scores, dtype=np.float64)
        if s.ndim != 1:
            raise DataError(f"scores must be a 1-D array, got shape {s.shape}")
        groups = check_labels(groups, s.shape[0], "groups")
        self._check_groups(groups)
        thresholds = np.array([self.threshold_[g] for g in groups.tolist()], dtype=np.float64)
        return (s > thresholds).astype(np.int64)


def cosine_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``1 - x @ centres.T``: cosine distance for unit-norm ``x`` (centres are used as given)."""
    return 1.0 - x @ centres.T
