"""Runs a system's augmenters at their stage and keeps the two label sets consistent.

The regular head sees the labels after the label-preserving (factor 1) augmenters such as mixup;
the SSL head sees the labels after every augmenter (width ``C * prod(factors)``). A factor-1
augmenter transforms both label sets with the same random draw (they are concatenated for the
call), so mixup mixes them with the same lambda.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..components import STAGES, Augmenter


@dataclass
class Labels:
    regular: torch.Tensor  # B x C
    ssl: torch.Tensor  # B x (C or 1) * product of factors applied so far


class AugmenterPipeline:
    """The augmenters of one system, grouped by stage in the order they were given."""

    def __init__(self, augmenters: list[Augmenter]):
        for aug in augmenters:
            if aug.stage not in STAGES:
                raise ValueError(f"augmenter {type(aug).__name__} has unknown stage {aug.stage!r}")
        self.augmenters = augmenters
        self.by_stage = {stage: [a for a in augmenters if a.stage == stage] for stage in STAGES}

    def apply(self, stage: str, data: Any, labels: Labels, generator: torch.Generator) -> tuple[Any, Labels]:
        for aug in self.by_stage[stage]:
            if int(aug.factor) == 1:
                width = labels.regular.shape[1]
                joined = torch.cat([labels.regular, labels.ssl], dim=1)
                data, joined = aug(data, joined, generator)
                labels = Labels(joined[:, :width], joined[:, width:])
            else:
                data, ssl = aug(data, labels.ssl, generator)
                expected = labels.ssl.shape[1] * int(aug.factor)
                if ssl.shape != (labels.ssl.shape[0], expected):
                    raise ValueError(
                        f"augmenter {type(aug).__name__} returned labels of shape {tuple(ssl.shape)}, "
                        f"expected {(labels.ssl.shape[0], expected)} (factor {aug.factor})"
                    )
                labels = Labels(labels.regular, ssl)
        return data, labels
