"""Shared fixtures: a tiny synthetic DCASE2023-layout dataset and an isolated ASDBENCH_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_MACHINES = ("fan", "ToyDrone")


@pytest.fixture(scope="session")
def tiny_synthetic(tmp_path_factory) -> Path:
    """2 machine types (1 dev, 1 eval), 0.5-s clips, 12 + 4 training clips, 16 test clips each."""
    from asdbench.synth import Preset, generate

    preset = Preset(name="tiny", machines=TINY_MACHINES, clip_seconds=0.5, train_source=12,
                    train_target=4, test_per_group=4)
    return generate(tmp_path_factory.mktemp("tiny-synth"), preset, seed=0, workers=1)


@pytest.fixture
def isolated_home(tmp_path, monkeypatch) -> Path:
    """Caches go to a per-test folder, never to the user's."""
    home = tmp_path / "home"
    monkeypatch.setenv("ASDBENCH_HOME", str(home))
    return home
