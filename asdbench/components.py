"""The interfaces every plugin implements: datasets, embedders, augmenters, loss heads, back-ends.

Plain data crosses the boundaries: numpy arrays, torch tensors and the small dataclasses below.
``Embedder`` and ``LossHead`` are ``torch.nn.Module`` subclasses: they live in
:mod:`asdbench.nn_components` and are imported from here on first use, so that importing this
module (every plugin's registration does) does not import torch: commands that only list or
compare stay fast.
"""

from __future__ import annotations

import abc
import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

    from .nn_components import Embedder as Embedder
    from .nn_components import LossHead as LossHead

# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

Domain = Literal["source", "target"]
Label = Literal["normal", "anomaly"]


@dataclass(frozen=True, order=True)
class Clip:
    """One audio file of a dataset, with every field parsed from its file name (or ground truth).

    ``label`` / ``domain`` are ``None`` where the data hides them and no ground truth was found.
    """

    path: Path
    machine: str
    section: str  # two digits, e.g. "00"
    split: str  # "dev" or "eval"
    subset: str  # "train" or "test"
    domain: str | None
    label: str | None
    attribute: str  # the attribute string from the name ("" when absent)
    name: str = ""  # the clip's name in scores and challenge files when the file name is not unique

    @property
    def file(self) -> str:
        """The clip's name in result tables: ``name``, else the file name (unique per group)."""
        return self.name or self.path.name

    @property
    def group(self) -> str:
        """The unit a back-end fits and the metrics score: machine type and section."""
        return f"{self.machine}/section_{self.section}"


@dataclass(frozen=True)
class LengthPolicy:
    """How every clip is brought to one length.

    ``tile_crop``: tile to at least ``samples`` and crop at a seeded random offset (DCASE2023);
    ``head``: keep the first ``samples`` (DCASE2022; shorter clips are tiled);
    """

    mode: Literal["tile_crop", "head"]
    samples: int
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "samples": self.samples, "seed": self.seed}


@dataclass
class Dataset:
    """A DCASE-style dataset: sorted clips plus what is needed to read them consistently."""

    name: str
    version: str  # "2020" ... "2025", or "synthetic"
    root: Path
    sample_rate: int
    length_policy: LengthPolicy
    clips: list[Clip]
    problems: list[str] = field(default_factory=list)  # files skipped, with the reason
    resample: bool = False
    scoring: str | None = None
    """The DCASE edition whose official score applies (``"2023"``, ...); None: ``version`` when it
    is an edition. A dataset that is not a DCASE edition must name one: asdbench checks it before
    training (:func:`asdbench.data.editions.scoring_edition_of`)."""

    def select(self, **criteria: Any) -> list[Clip]:
        """Clips whose attributes equal the given values, e.g. ``select(subset="train")``."""
        return [c for c in self.clips if all(getattr(c, k) == v for k, v in criteria.items())]

    def train_classes(self, class_set: str = "train") -> list[str]:
        """Training classes: machine x section x attribute x domain, sorted, of the training files
        (``class_set="train"``) or, as the published code fits its label encoder, of the training
        files and the development split's test files (``"train+test"``: classes seen only in test
        add logits and negative centres, and change C and AdaCos' initial scale)."""
        if class_set not in CLASS_SETS:
            raise ValueError(f"class_set must be one of {', '.join(CLASS_SETS)}, got {class_set!r}")
        return sorted({class_key(c) for c in self.clips
                       if c.subset == "train" or (class_set == "train+test" and c.split == "dev" and c.domain is not None)})

    def groups(self) -> list[str]:
        return sorted({c.group for c in self.clips})


CLASS_SETS = ("train", "train+test")


def class_key(clip: Clip) -> str:
    return f"{clip.machine}|{clip.section}|{clip.attribute}|{clip.domain}"


# --------------------------------------------------------------------------------------------
# Augmenters (SSL strategies)
# --------------------------------------------------------------------------------------------

Stage = Literal["waveform", "features", "embedding"]
STAGES: tuple[str, ...] = ("waveform", "features", "embedding")


class Augmenter(abc.ABC):
    """An SSL strategy acting on one stage of the forward pass during training.

    ``__call__(data, labels, generator)`` returns the transformed data and labels. ``data`` is a
    ``B x L`` waveform tensor (stage ``waveform``) or a dict of tensors (``features`` /
    ``embedding`` stage, keys defined by the embedder, e.g. ``spectrum`` / ``spectrogram``).
    ``labels`` is ``B x K`` (soft, rows sum to 1); the result must be ``B x (factor*K)`` with rows
    summing to 1. Factor-1 augmenters (mixup) also transform the regular head's labels, so they
    must act on every column alike. ``generator`` is the trainer's seeded torch generator: draw
    all randomness from it.
    """

    name: ClassVar[str] = ""
    stage: ClassVar[Stage]
    factor: int = 1  # may be set per instance when it depends on options

    def bind(self, pipeline: Sequence[Augmenter]) -> None:  # noqa: B027 - optional hook
        """Called once with the whole pipeline (e.g. mixup lowers its probability when composed)."""

    def options(self) -> dict[str, Any]:
        """The effective options, recorded in run.json."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @abc.abstractmethod
    def __call__(self, data: Any, labels: torch.Tensor, generator: torch.Generator) -> tuple[Any, torch.Tensor]: ...


def partner_indices(batch_size: int, mode: str, generator: torch.Generator, device: torch.device | None = None) -> torch.Tensor:
    """Partner of every sample: the batch reversed (reference) or a random permutation."""
    import torch

    if mode == "reversed":
        return torch.arange(batch_size - 1, -1, -1, device=device)
    if mode == "random":
        return torch.randperm(batch_size, generator=generator).to(device)
    raise ValueError(f"partner must be 'reversed' or 'random', got {mode!r}")


_SCRIPTED_UNIFORMS: contextvars.ContextVar[Callable[[int], torch.Tensor] | None] = contextvars.ContextVar(
    "asdbench_scripted_uniforms", default=None)


def uniform(n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` draws from U[0, 1) on ``generator``: the source of augmenters' per-sample decisions
    (mixup's lambda, every coin flip). Equivalence tests replay another implementation's recorded
    draws through :func:`asdbench.testing.scripted_uniforms`; otherwise this is ``torch.rand``."""
    scripted = _SCRIPTED_UNIFORMS.get()
    if scripted is not None:
        return scripted(n)
    import torch

    return torch.rand(n, generator=generator, device=generator.device)


def coin_flips(batch_size: int, p: float, generator: torch.Generator, device: torch.device | None = None) -> torch.Tensor:
    """Per-sample Bernoulli(p) decisions as a bool tensor: ``uniform < p``."""
    return (uniform(batch_size, generator) < p).to(device)


# --------------------------------------------------------------------------------------------
# Back-ends
# --------------------------------------------------------------------------------------------


class Backend(abc.ABC):
    """Anomaly scoring from embeddings, in scikit-learn style: no work in ``__init__``.

    ``fit`` sees the training embeddings with their group (machine/section) and domain;
    ``score_samples`` returns one anomaly score per test embedding (higher = more anomalous).

    What the runner reads besides: ``training_scores_`` (set by ``fit``, optional) and
    ``percentile``. The decision files, the saved thresholds and the ensembles all decide with
    :func:`asdbench.scoring.decision.threshold` on the training scores.
    """

    #: After ``fit``: the training clips' own scores in input order, where they are not simply
    #: ``score_samples`` of the training embeddings (k-NN leaves each clip's own match out).
    #: None: the runner calls ``score_samples`` on the training embeddings.
    training_scores_: np.ndarray | None = None
    #: A clip is decided anomalous above this percentile of its group's training scores (the
    #: reference: 90). Back-ends expose it as an option.
    percentile: float = 90.0

    @abc.abstractmethod
    def fit(self, embeddings: np.ndarray, groups: np.ndarray, domains: np.ndarray) -> Backend: ...

    @abc.abstractmethod
    def score_samples(self, embeddings: np.ndarray, groups: np.ndarray) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted back-end as JSON-ready metadata plus named numeric arrays.

        A trial saves this beside its scores (``backend.json`` + ``backend.npz``, never pickle) so
        that ``asdbench score`` can score new clips without refitting. Array names are free-form
        strings; values must be numeric or bool arrays. Implement together with
        :meth:`set_state`; a back-end without them still trains and scores, but cannot be saved.
        """
        raise NotImplementedError(f"back-end {type(self).__name__} does not implement get_state()/set_state(), so it cannot be saved")

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Backend:
        """Restore what :meth:`get_state` returned, on an instance built with the same options;
        afterwards ``score_samples`` gives the scores the fitted original gave. Returns ``self``."""
        raise NotImplementedError(f"back-end {type(self).__name__} does not implement get_state()/set_state(), so it cannot be loaded")


# --------------------------------------------------------------------------------------------
# Systems (leaderboard rows)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemSpec:
    """What one leaderboard row trains: augmenters in order, which heads, and their options.

    ``heads``: subset of ``("regular", "ssl")``. The SSL head has ``C * prod(factors)`` classes.
    ``ssl_class_labels=False``: the SSL head predicts only the pseudo-classes (paper Table 2).
    ``options``: per-component options, e.g. ``{"statex": {"axis": "both"}, "embedder": {"tmn": False}}``.
    ``training_classes``: which files define the classes (:meth:`Dataset.train_classes`).
    ``losses``: the loss plugin of a head (``{"ssl": "adaproj"}``); a head not named uses the
    run's ``--loss``. Lets one run compare losses as leaderboard rows.
    """

    augmenters: tuple[str, ...] = ()
    heads: tuple[str, ...] = ("regular",)
    ssl_class_labels: bool = True
    ssl_trainable_centres: bool = True
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    losses: dict[str, str] = field(default_factory=dict)
    description: str = ""
    training_classes: str = "train"  # or "train+test": see Dataset.train_classes


_NN = ("Embedder", "LossHead")


def __getattr__(name: str) -> Any:
    if name in _NN:
        from . import nn_components

        return getattr(nn_components, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
