"""The paper's leaderboard rows as named systems (Wilkinghoff, ICASSP 2024, Tables 1 and 2).

Each entry is a zero-argument factory returning a fresh :class:`SystemSpec`. Mixup's
probability is left to :meth:`Mixup.bind` (1.0 in the baseline, 0.5 whenever composed), as in
the paper. "X variant" / "FeatEx" alone means the SSL head only; "regular and X" adds the
regular head with frozen centres (reference-system.md 4.2).

The proposed approach ``combined`` spans three stages (waveform, features, embedding), so it
is a system (a pipeline of three augmenters), not a single augmenter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asdbench import SystemSpec

_COMBINED = ("mixup", "statex", "featex")

# name -> (augmenters, heads, extra SystemSpec fields, description)
_TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, Any], str]] = {
    "baseline": (("mixup",), ("regular",), {},
                 "Table 1 'baseline': mixup (p 1.0), regular sub-cluster AdaCos loss with frozen centres"),
    "statex": (("mixup", "statex"), ("ssl",), {},
               "Table 1 'StatEx variant': mixup (p 0.5) -> temporal StatEx, SSL loss only (3C classes)"),
    "featex": (("mixup", "featex"), ("ssl",), {},
               "Table 1 'FeatEx': mixup (p 0.5) -> FeatEx, SSL loss only (3C classes)"),
    "regular+statex": (("mixup", "statex"), ("regular", "ssl"), {},
                       "Table 1 'regular and StatEx variant': regular loss + StatEx SSL loss (3C)"),
    "regular+featex": (("mixup", "featex"), ("regular", "ssl"), {},
                       "Table 1 'regular and FeatEx': regular loss + FeatEx SSL loss (3C)"),
    "combined": (_COMBINED, ("regular", "ssl"), {},
                 "Table 1 'proposed approach': mixup -> StatEx -> FeatEx, regular + SSL loss (9C)"),
    "combined-no-class-labels": (_COMBINED, ("regular", "ssl"), {"ssl_class_labels": False},
                                 "Table 2 'SSL loss without class labels': proposed approach, SSL head predicts only the 9 pseudo-classes"),
    "combined-frozen-ssl-centres": (_COMBINED, ("regular", "ssl"), {"ssl_trainable_centres": False},
                                    "Table 2 'non-trainable class centers': proposed approach with frozen SSL centres"),
    "combined-no-tmn-full-statex": (_COMBINED, ("regular", "ssl"),
                                    {"options": {"statex": {"axis": "both"}, "embedder": {"tmn": False}}},
                                    "Table 2 'no TMN and full StatEx': proposed approach, StatEx over time or frequency, no TMN"),
    # Paper-era variants of the published code (docs/fidelity.md has their sources and effects).
    "baseline-no-se": (("mixup",), ("regular",), {"options": {"embedder": {"se": False}}},
                       "paper-era baseline: as 'baseline' without squeeze-and-excitation blocks (the cited DCASE2023 system)"),
    "combined-pre-fix": (_COMBINED, ("regular", "ssl"), {"options": {"embedder": {"stage2_first_unit_bn": "input"}}},
                         "proposed approach with stage 2's first unit as before ssl4asd a9066f6 (its middle BN reads the unit's input)"),
    "combined-train-test-classes": (_COMBINED, ("regular", "ssl"), {"training_classes": "train+test"},
                                    "proposed approach with classes from the train and dev test file names, as the published label encoder"),
}


def _factory(name: str) -> Callable[[], SystemSpec]:
    augmenters, heads, extra, description = _TABLE[name]

    def make() -> SystemSpec:
        fields = {k: v for k, v in extra.items() if k != "options"}
        options = {component: dict(opts) for component, opts in extra.get("options", {}).items()}
        return SystemSpec(augmenters=augmenters, heads=heads, options=options, description=description, **fields)

    make.__name__ = f"system_{name.replace('+', '_').replace('-', '_')}"
    make.__doc__ = description
    return make


SYSTEMS: dict[str, Callable[[], SystemSpec]] = {name: _factory(name) for name in _TABLE}
