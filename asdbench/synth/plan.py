"""Which files a (preset, seed) has: names, domains, labels, attributes, fault kinds.

The plan is a pure function of (preset, seed): every file also gets its own random stream,
seeded from (seed, machine, subset, full name), so any file can be rendered on its own, in any
order, in any process, and comes out identical.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .params import MACHINES
from .presets import Preset

SECTION = "00"


@dataclass(frozen=True)
class FileSpec:
    """One clip of the benchmark. ``name`` is what is written; ``full_name`` is the DCASE2023
    development-style name (equal to ``name`` except for hidden evaluation test clips)."""

    machine: str
    split: str  # dev | eval
    subset: str  # train | test
    domain: str  # source | target
    label: str  # normal | anomaly
    index: int  # running number within (subset, domain, label)
    attribute: str
    anomaly: str | None
    name: str
    full_name: str

    @property
    def relpath(self) -> str:
        return f"{self.split}_data/raw/{self.machine}/{self.subset}/{self.name}"

    @property
    def hidden(self) -> bool:
        return self.name != self.full_name


def full_name(subset: str, domain: str, label: str, index: int, attribute: str) -> str:
    return f"section_{SECTION}_{domain}_{subset}_{label}_{index:04d}_{attribute}.wav"


def hidden_name(index: int) -> str:
    return f"section_{SECTION}_{index:04d}.wav"


def _key(text: str) -> int:
    """A stable 128-bit integer for a string (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "little")


def plan_rng(seed: int, machine: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _key(f"plan/{machine}")]))


def file_seed(seed: int, spec: FileSpec) -> np.random.SeedSequence:
    """The seed of one file's random stream, independent of every other file."""
    return np.random.SeedSequence([seed, _key(f"file/{spec.machine}/{spec.subset}/{spec.full_name}")])


def _balanced(rng: np.random.Generator, values: tuple[str, ...] | list[str], count: int) -> list[str]:
    """``count`` values cycling through ``values`` (as equal shares as possible), shuffled."""
    return [str(v) for v in rng.permutation(np.resize(np.array(values, dtype=object), count))]


def plan_machine(preset: Preset, machine: str, seed: int) -> list[FileSpec]:
    """Every file of one machine type, sorted by written path."""
    spec = MACHINES[machine]
    rng = plan_rng(seed, machine)
    attrs = {"source": spec.source, "target": spec.target}
    kinds = [k.name for k in spec.anomalies]
    files: list[FileSpec] = []

    for domain, count in (("source", preset.train_source), ("target", preset.train_target)):
        for i, attr in enumerate(_balanced(rng, attrs[domain], count)):
            name = full_name("train", domain, "normal", i, attr)
            files.append(FileSpec(machine, spec.split, "train", domain, "normal", i, attr, None, name, name))

    n = preset.test_per_group
    counts = {(d, lab): n for d in ("source", "target") for lab in ("normal", "anomaly")}
    if spec.split == "eval" and preset.eval_domain_spread:
        for label in ("normal", "anomaly"):
            n_source = int(rng.integers(n - preset.eval_domain_spread, n + preset.eval_domain_spread + 1))
            counts[("source", label)], counts[("target", label)] = n_source, 2 * n - n_source
    test: list[FileSpec] = []
    for (domain, label), count in counts.items():
        faults: list[str | None] = list(_balanced(rng, kinds, count)) if label == "anomaly" else [None] * count
        for i, (attr, fault) in enumerate(zip(_balanced(rng, attrs[domain], count), faults, strict=True)):
            name = full_name("test", domain, label, i, attr)
            test.append(FileSpec(machine, spec.split, "test", domain, label, i, attr, fault, name, name))
    if spec.split == "eval":  # hide domain and label behind a shuffled running number
        hidden = rng.permutation(len(test))
        test = [
            FileSpec(s.machine, s.split, s.subset, s.domain, s.label, s.index, s.attribute, s.anomaly, hidden_name(int(h)), s.full_name)
            for h, s in zip(hidden, test, strict=True)
        ]
    files += test
    return sorted(files, key=lambda f: f.relpath)


def plan(preset: Preset, seed: int) -> list[FileSpec]:
    """Every file of the preset, machine types in preset order."""
    return [f for m in preset.machines for f in plan_machine(preset, m, seed)]
