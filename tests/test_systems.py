"""System specs: the --ssl grammar, compositions, options, errors, describe system."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.errors import ConfigError
from asdbench.systems import parse_value, resolve_system


def test_named_systems_are_the_paper_columns():
    assert resolve_system("baseline").augmenters == ("mixup",)
    assert resolve_system("baseline").heads == ("regular",)
    assert resolve_system("featex").heads == ("ssl",)
    combined = resolve_system("combined")
    assert combined.augmenters == ("mixup", "statex", "featex") and combined.heads == ("regular", "ssl")


def test_compositions_merge_in_order_and_choose_heads():
    spec = resolve_system("statex+featex")
    assert spec.augmenters == ("mixup", "statex", "featex") and spec.heads == ("ssl",)
    assert resolve_system("regular+statex+featex").heads == ("regular", "ssl")
    assert resolve_system("mixup").heads == ("regular",)  # no SSL head without a factor > 1
    raw = resolve_system("regular+featex")
    assert raw.augmenters == ("mixup", "featex")


def test_options_reach_components_and_heads():
    spec = resolve_system("combined:statex.axis=both,embedder.tmn=false,ssl_class_labels=false,mixup.p=0.25")
    assert spec.options["statex"] == {"axis": "both"}
    assert spec.options["embedder"] == {"tmn": False}
    assert spec.options["mixup"] == {"p": 0.25}
    assert spec.ssl_class_labels is False


@pytest.mark.parametrize("spec, message", [
    ("nonsense", "unknown system or augmenter 'nonsense'"),
    ("featex:p", "option 'p' must look like key=value"),
    ("featex:colour=red", "unknown option 'colour'"),
    ("featex:featex.colour=red", "featex"),
    ("", "empty system spec"),
])
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(Exception, match=message) as err:
        resolve_system(spec)
    assert isinstance(err.value, ConfigError) or "featex" in str(err.value)


def test_parse_value():
    assert parse_value("true") is True and parse_value("off") is False
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("both") == "both"


def test_describe_system_shows_the_resolved_pipeline():
    result = CliRunner().invoke(main, ["describe", "system", "regular+featex:featex.p=0.3"])
    assert result.exit_code == 0, result.output
    assert "heads: regular, ssl; SSL label factor 3" in result.output
    assert "embedding featex (factor 3) {'p': 0.3" in result.output
    bad = CliRunner().invoke(main, ["describe", "system", "nope"])
    assert bad.exit_code == 2 and "unknown system or augmenter 'nope'" in bad.output


def test_paper_era_variants_resolve_to_their_options():
    assert resolve_system("baseline-no-se").options["embedder"] == {"se": False}
    assert resolve_system("combined-pre-fix").options["embedder"] == {"stage2_first_unit_bn": "input"}
    assert resolve_system("combined-train-test-classes").training_classes == "train+test"
    assert resolve_system("combined:training_classes=train+test").training_classes == "train+test"
    assert resolve_system("combined-train-test-classes+regular").training_classes == "train+test"
    assert resolve_system("combined").training_classes == "train"
    with pytest.raises(ConfigError, match="training_classes must be one of train, train\\+test"):
        resolve_system("combined:training_classes=all")


def test_train_and_test_classes_add_the_attributes_seen_only_in_dev_test(tmp_path):
    """As the published label encoder: a dev test attribute absent from training is one more class
    (and so one more logit block and AdaCos' initial scale changes); eval test clips without
    attributes add nothing."""
    from pathlib import Path

    from asdbench.components import Clip, Dataset, LengthPolicy
    from asdbench.runner.data import PreparedData

    def clip(name: str, split: str, subset: str, domain, attribute: str) -> Clip:
        return Clip(Path(name), "fan", "00", split, subset, domain, "normal" if subset == "train" else None, attribute)

    clips = [clip("a", "dev", "train", "source", "v_1"), clip("b", "dev", "train", "target", "v_2"),
             clip("c", "dev", "test", "source", "v_1"), clip("d", "dev", "test", "target", "v_9"),
             clip("e", "eval", "test", None, "")]
    dataset = Dataset("t", "2023", tmp_path, 16000, LengthPolicy("tile_crop", 16000), clips)
    assert dataset.train_classes() == ["fan|00|v_1|source", "fan|00|v_2|target"]
    assert dataset.train_classes("train+test") == ["fan|00|v_1|source", "fan|00|v_2|target", "fan|00|v_9|target"]
    prepared = PreparedData(dataset, clips[:2], clips[2:], dataset.train_classes(), cache=None)
    classes, ids = prepared.training_classes("train+test")
    assert len(classes) == 3 and list(ids) == [0, 1]


def test_describe_system_shows_the_rows_losses():
    result = CliRunner().invoke(main, ["describe", "system", "combined:ssl_loss=adaproj"])
    assert result.exit_code == 0, result.output
    assert "losses: ssl adaproj" in result.output
    bad = CliRunner().invoke(main, ["describe", "system", "combined:loss=nope"])
    assert bad.exit_code != 0 and "unknown loss 'nope'" in bad.output
