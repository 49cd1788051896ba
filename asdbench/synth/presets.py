"""Sizes of the synthetic benchmark: ``quick`` (minutes on a laptop) and ``paper`` (DCASE2023)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError
from .params import DEV_MACHINES, EVAL_MACHINES, MACHINES

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Preset:
    """Which machine types, how long the clips, how many files.

    ``clip_seconds`` None means each type's DCASE2023 length (10 s; 12 s for ToyCar/ToyTrain).
    Test clips: ``test_per_group`` normal and as many anomalous clips per domain (dev); on the
    eval split, when ``eval_domain_spread`` > 0, the source share of each label is drawn in
    ``test_per_group +- eval_domain_spread`` (the real eval set is not domain-balanced).
    """

    name: str
    machines: tuple[str, ...]
    clip_seconds: float | None
    train_source: int
    train_target: int
    test_per_group: int
    eval_domain_spread: int = 0

    def __post_init__(self) -> None:
        unknown = [m for m in self.machines if m not in MACHINES]
        if unknown:
            raise ConfigError(f"preset {self.name!r}: unknown machine type(s) {', '.join(unknown)}")
        if min(self.train_source, self.train_target, self.test_per_group) < 1:
            raise ConfigError(f"preset {self.name!r}: every file count must be at least 1")
        if not 0 <= self.eval_domain_spread < self.test_per_group:
            raise ConfigError(f"preset {self.name!r}: eval_domain_spread must be in [0, test_per_group)")

    def seconds(self, machine: str) -> float:
        return self.clip_seconds if self.clip_seconds is not None else MACHINES[machine].paper_seconds

    def samples(self, machine: str) -> int:
        return int(round(self.seconds(machine) * SAMPLE_RATE))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["machines"] = list(self.machines)
        return d


PRESETS: dict[str, Preset] = {
    "quick": Preset(
        name="quick",
        machines=("fan", "gearbox", "valve", "ToyDrone", "bandsaw", "shaker"),
        clip_seconds=2.0,
        train_source=100,
        train_target=10,
        test_per_group=25,
    ),
    "paper": Preset(
        name="paper",
        machines=DEV_MACHINES + EVAL_MACHINES,
        clip_seconds=None,
        train_source=990,
        train_target=10,
        test_per_group=50,
        eval_domain_spread=14,
    ),
}


def get_preset(preset: str | Preset) -> Preset:
    """A preset by name (or the given Preset itself); ConfigError names the valid choices."""
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise ConfigError(f"--preset {preset!r}: unknown synthetic preset (choose from {', '.join(PRESETS)})") from None
