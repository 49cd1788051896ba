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
