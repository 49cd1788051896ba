"""The DCASE Task 2 editions in one table: what differs between 2020 and 2025 and where it is
used (clip length and length policy when reading, the official score's rule when scoring, the
evaluation set's machine types when detecting a version from file names).

Scoring rules (defined in :mod:`asdbench.scoring.metrics`): ``2020`` arithmetic mean of AUC and
pAUC over sections (no domains); ``2021`` harmonic mean of per-domain AUCs and pAUCs; ``2022``
harmonic mean of AUC(source), AUC(target) and pAUC over both domains, used from 2022 to 2025.
A dataset that is not a DCASE edition declares the edition it is scored as
(``Dataset.scoring``); the synthetic benchmark is scored like 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class Edition:
    version: str  # "2020" ... "2025"
    clip_seconds: int  # the length every clip is read at (length policy)
    length_mode: str  # "head": the first clip_seconds; "tile_crop": tile + seeded random crop
    scoring_rule: str  # "2020", "2021" or "2022" (see the module docstring)
    eval_machines: frozenset[str] = frozenset()  # machine types only its evaluation set has


_2023_EVAL = frozenset({"bandsaw", "grinder", "shaker", "toydrone", "toynscale", "toytank", "vacuum"})
EDITIONS: dict[str, Edition] = {
    "2020": Edition("2020", 10, "head", "2020"),
    "2021": Edition("2021", 10, "head", "2021"),
    "2022": Edition("2022", 10, "head", "2022"),
    "2023": Edition("2023", 18, "tile_crop", "2022", _2023_EVAL),
    "2024": Edition("2024", 18, "tile_crop", "2022", frozenset({
        "3dprinter", "aircompressor", "brushlessmotor", "hairdryer", "hoveringdrone", "roboticarm", "scanner",
        "toothbrush", "toycircuit"})),
    "2025": Edition("2025", 18, "tile_crop", "2022", frozenset({
        "autotrash", "bandsealer", "coffeegrinder", "homecamera", "polisher", "screwfeeder", "toypet", "toyrccar"})),
}
VERSIONS: tuple[str, ...] = tuple(EDITIONS)
SCORED_AS = {"synthetic": "2023"}
"""Dataset versions that are not editions but have a fixed scoring edition."""


def edition(version: str | int) -> Edition:
    """The edition ``version``; a ConfigError naming the known ones otherwise."""
    key = str(version).strip()
    if key not in EDITIONS:
        raise ConfigError(f"unknown DCASE edition {version!r} (known: {', '.join(VERSIONS)})")
    return EDITIONS[key]


def scoring_edition_of(dataset: Any) -> str:
    """The edition a dataset is scored as (its ``scoring``, else its ``version``); a ConfigError
    naming the dataset when neither is a known edition (checked before training)."""
    declared = getattr(dataset, "scoring", None) or dataset.version
    try:
        return scoring_edition(declared)
    except ConfigError:
        raise ConfigError(
            f"dataset {dataset.name!r}: version {dataset.version!r} is not a DCASE edition and the dataset declares "
            f"no scoring edition (set Dataset.scoring to one of {', '.join(VERSIONS)})") from None


def scoring_edition(version: str | int) -> str:
    """The edition whose official-score rule scores data of ``version`` (an edition itself, or an
    alias of :data:`SCORED_AS`)."""
    key = str(version).strip().lower()
    key = SCORED_AS.get(key, key)
    if key not in EDITIONS:
        raise ConfigError(f"--dataset-version: unknown DCASE edition {version!r} "
                          f"(use one of {', '.join(VERSIONS)} or {', '.join(SCORED_AS)})")
    return key
