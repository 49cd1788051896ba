"""What the plugin registers, and that asdbench finds it through its entry point."""

from __future__ import annotations

import importlib.metadata as md
import inspect
import math

import pytest
from asdbench import STAGES, Augmenter, SystemSpec, plugins

from asdbench_ssl import ClassMix, FeatEx, Mixup, SpecAugment, StatEx, plugin
from asdbench_ssl.systems import SYSTEMS

TABLE_1 = ["baseline", "statex", "featex", "regular+statex", "regular+featex", "combined"]
TABLE_2 = ["combined-no-class-labels", "combined-frozen-ssl-centres", "combined-no-tmn-full-statex"]
PAPER_ERA = ["baseline-no-se", "combined-pre-fix", "combined-train-test-classes"]  # docs/fidelity.md


def collect(hook) -> dict[str, tuple]:
    seen: dict[str, tuple] = {}

    def register(name, factory, description=None):
        assert name not in seen
        seen[name] = (factory, description)

    hook(register=register)
    return seen


def test_augmenters_declare_stage_and_factor():
    assert inspect.signature(StatEx).parameters["axis"].default == "frequency"
    registered = collect(plugin.register_augmenters)
    assert sorted(registered) == ["classmix", "featex", "mixup", "specaugment", "statex"]
    for name, (factory, description) in registered.items():
        aug = factory()
        assert isinstance(aug, Augmenter) and aug.name == name and aug.stage in STAGES and description
    assert (Mixup.stage, Mixup.factor) == ("waveform", 1)
    assert (StatEx.stage, StatEx.factor) == ("features", 3)
    assert (FeatEx.stage, FeatEx.factor) == ("embedding", 3)
    assert (SpecAugment.stage, SpecAugment.factor) == ("features", 1)
    assert (ClassMix.stage, ClassMix.factor) == ("waveform", 2)


def test_systems_cover_tables_1_and_2():
    registered = collect(plugin.register_systems)
    assert list(registered) == TABLE_1 + TABLE_2 + PAPER_ERA
    specs = {name: factory() for name, (factory, _) in registered.items()}
    assert all(isinstance(s, SystemSpec) and s.description.startswith("Table") for n, s in specs.items() if n not in PAPER_ERA)
    assert all(specs[n].description.startswith("paper-era") or "ssl4asd" in specs[n].description
               or "published" in specs[n].description for n in PAPER_ERA)
    assert (specs["baseline"].augmenters, specs["baseline"].heads) == (("mixup",), ("regular",))
    assert (specs["statex"].augmenters, specs["statex"].heads) == (("mixup", "statex"), ("ssl",))
    assert (specs["featex"].augmenters, specs["featex"].heads) == (("mixup", "featex"), ("ssl",))
    assert specs["regular+featex"].heads == ("regular", "ssl")
    combined = specs["combined"]
    assert (combined.augmenters, combined.heads) == (("mixup", "statex", "featex"), ("regular", "ssl"))
    assert combined.ssl_class_labels and combined.ssl_trainable_centres and combined.options == {}
    assert specs["combined-no-class-labels"].ssl_class_labels is False
    assert specs["combined-frozen-ssl-centres"].ssl_trainable_centres is False
    assert specs["combined-no-tmn-full-statex"].options == {"statex": {"axis": "both"}, "embedder": {"tmn": False}}
    # SSL head sizes: 3C for one exchange strategy, 9C for the proposed approach
    factors = {"mixup": Mixup.factor, "statex": StatEx.factor, "featex": FeatEx.factor}
    assert [math.prod(factors[a] for a in specs[n].augmenters) for n in TABLE_1] == [1, 3, 3, 3, 3, 9]
    # every augmenter option in a system is accepted by that augmenter
    for spec in specs.values():
        for component, options in spec.options.items():
            if component in factors:
                registered_aug = collect(plugin.register_augmenters)[component][0]
                registered_aug(**options)
    # factories return fresh objects: mutating one spec's options cannot leak into another run
    specs["combined-no-tmn-full-statex"].options["statex"]["axis"] = "time"
    assert SYSTEMS["combined-no-tmn-full-statex"]().options["statex"]["axis"] == "both"


def test_mixup_probability_per_system():
    for name in TABLE_1 + TABLE_2:
        spec = SYSTEMS[name]()
        classes = {"mixup": Mixup, "statex": StatEx, "featex": FeatEx}
        pipeline = [classes[a](**spec.options.get(a, {})) for a in spec.augmenters]
        for aug in pipeline:
            aug.bind(pipeline)
        assert pipeline[0].p == (1.0 if name == "baseline" else 0.5)


def test_entry_point_is_found_by_asdbench(monkeypatch):
    try:
        dist = md.distribution("asdbench-ssl")
    except md.PackageNotFoundError:
        pytest.skip("asdbench-ssl is not installed (pip install -e plugins/asdbench-ssl)")
    assert any(ep.group == "asdbench" and ep.value == "asdbench_ssl.plugin" for ep in dist.entry_points)
    monkeypatch.setenv(plugins.ENV_LOAD, "asdbench-ssl")
    plugins.reset()
    try:
        component = plugins.resolve("augmenter", "statex")
        assert component.plugin == "asdbench_ssl.plugin" and component.factory.target is StatEx
        assert plugins.resolve("system", "combined").factory().augmenters == ("mixup", "statex", "featex")
        row = next(r for r in plugins.describe_plugins() if r["name"] == "asdbench_ssl.plugin")
        assert row["distribution"] == "asdbench-ssl" and row["version"] == "0.1.0"
        assert row["hooks"] == ["register_augmenters", "register_systems"]
        assert len(row["components"]) == 5 + len(TABLE_1 + TABLE_2 + PAPER_ERA)
    finally:
        monkeypatch.delenv(plugins.ENV_LOAD)
        plugins.reset()


@pytest.mark.parametrize(
    "augmenter",
    [Mixup(), Mixup(p=0.5, partner="random"), StatEx(), StatEx(axis="time", p=1.0), StatEx(axis="both", partner="random"),
     FeatEx(), FeatEx(p=1.0, swap="spectrum", partner="random"), SpecAugment(), SpecAugment(p=0.5, fill="zero"),
     ClassMix(), ClassMix(p=1.0)],
    ids=lambda a: f"{a.name}-{'-'.join(f'{k}={v}' for k, v in a.options().items())}",
)
def test_augmenters_pass_the_asdbench_contract_check(augmenter):
    from asdbench.testing import check_augmenter

    check_augmenter(augmenter, n_classes=4, seed=3)
