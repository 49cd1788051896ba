"""Turn a folder of challenge-format CSVs into a labelled clip table for :func:`score_clips`.

Labels come from official ground truth (eval) or, without ground truth, from dev-style clip
names (``section_00_target_test_anomaly_0001_<attr>.wav``). Every ground-truth section must have
a score file holding exactly its clips; a submission that uses the full dev-style names instead
of the hidden eval names is mapped back through ``ground_truth_attributes`` as the official
evaluator does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.ground_truth import ground_truth_table
from ..data.names import challenge_file_name, labels_from_clip_name
from ..errors import DataError
from .challenge import read_challenge_files

__all__ = ["LabelledSubmission", "label_submission"]

PathLike = str | os.PathLike[str]
CLIP_COLUMNS = ["file", "machine", "section", "split", "domain", "label", "score", "decision"]


@dataclass
class LabelledSubmission:
    clips: pd.DataFrame  # columns CLIP_COLUMNS
    notes: list[str] = field(default_factory=list)


def _with_ground_truth(
    sub: pd.DataFrame, folder: Path, gt: pd.DataFrame, split: str
) -> LabelledSubmission:
    notes: list[str] = []
    parts = []
    gt_groups = set(zip(gt["machine"], gt["section"], strict=True))
    for machine, section in sorted(
        set(zip(sub["machine"], sub["section"], strict=True)) - gt_groups
    ):
        notes.append(
            f"ignored {challenge_file_name('anomaly_score', machine, section)}: "
            "not in the ground truth"
        )
    for (machine, section), truth in gt.groupby(["machine", "section"], sort=True):
        score_file = folder / challenge_file_name("anomaly_score", machine, section)
        mine = sub[(sub["machine"] == machine) & (sub["section"] == section)].copy()
        if mine.empty:
            raise DataError(
                f"{score_file}: missing (the ground truth has {len(truth)} clips for it)"
            )
        originals = {
            o: f
            for f, o in zip(truth["file"], truth["original"], strict=True)
            if isinstance(o, str)
        }
        if originals:
            mine["file"] = [originals.get(n, n) for n in mine["file"]]
            dup = mine["file"][mine["file"].duplicated()]
            if len(dup):
                raise DataError(
                    f"{score_file}: clip {dup.iloc[0]!r} appears twice (hidden and full name)"
                )
        missing = sorted(set(truth["file"]) - set(mine["file"]))
        extra = sorted(set(mine["file"]) - set(truth["file"]))
        if missing:
            raise DataError(
                f"{score_file}: {len(missing)} clip(s) of the ground truth have no score, e.g. {missing[0]}"
            )
        if extra:
            raise DataError(
                f"{score_file}: {len(extra)} row(s) not in the ground truth, e.g. {extra[0]}"
            )
        merged = truth.drop(columns=["original"]).merge(
            mine[["file", "score", "decision"]], on="file", how="left", validate="one_to_one"
        )
        parts.append(merged)
    clips = pd.concat(parts, ignore_index=True)
    _check_decisions(clips, folder)
    clips["split"] = split
    return LabelledSubmission(clips[CLIP_COLUMNS], notes)


def _check_decisions(clips: pd.DataFrame, folder: Path) -> None:
    """Decisions are all-or-nothing: a partial set would make precision/recall incomparable."""
    has = clips.groupby(["machine", "section"])["decision"].apply(lambda d: bool(d.notna().all()))
    if has.any() and not has.all():
        machine, section = has[~has].index[0]
        raise DataError(
            f"{folder / challenge_file_name('decision_result', machine, section)}: missing "
            "(other sections have decision files)"
        )


def _from_names(sub: pd.DataFrame, folder: Path, split: str) -> LabelledSubmission:
    """Labels from dev-style names. A file whose names all hide the labels (an eval file next to
    dev files, as in a run's back-end folder) is skipped with a note; if every file hides them,
    or one file mixes both kinds, that is an error."""
    parsed = pd.Series([labels_from_clip_name(f) for f in sub["file"]], index=sub.index)
    notes: list[str] = []
    keep = pd.Series(True, index=sub.index)
    first_hidden = None
    for (machine, section), idx in sub.groupby(["machine", "section"], sort=True).groups.items():
        path = folder / challenge_file_name("anomaly_score", machine, section)
        known = parsed.loc[idx].notna()
        if not known.any():
            keep.loc[idx] = False
            first_hidden = first_hidden or (path, sub.loc[idx[0], "file"])
            notes.append(
                f"skipped {path.name}: clip names carry no labels; pass --ground-truth DIR"
            )
            continue
        if not known.all():
            name = sub.loc[known[~known].index[0], "file"]
            raise DataError(f"{path}: clip {name} carries no label while others do")
        for i in idx:
            if parsed[i].section != section:
                raise DataError(
                    f"{path}: clip {sub.loc[i, 'file']} belongs to section "
                    f"{parsed[i].section}, not {section}"
                )
    if not keep.any():
        path, name = first_hidden  # type: ignore[misc]
        raise DataError(
            f"{path}: clip names carry no labels (e.g. {name}); pass --ground-truth DIR"
        )
    clips = sub[keep].copy()
    clips["domain"] = [p.domain for p in parsed[keep]]
    clips["label"] = np.array([p.label for p in parsed[keep]], dtype=int)
    _check_decisions(clips, folder)
    clips["split"] = split
    return LabelledSubmission(clips[CLIP_COLUMNS], notes)


def label_submission(
    submission_dir: PathLike, ground_truth: PathLike | None = None, split: str | None = None
) -> LabelledSubmission:
    """Read a submission folder and attach labels and domains to every clip.

    ``split`` labels the rows (default ``eval`` with ground truth, ``dev`` without).
    """
    folder = Path(submission_dir)
    sub = read_challenge_files(folder)
    if ground_truth is not None:
        gt = ground_truth_table(ground_truth)
        if sub["domain"].notna().any():  # DCASE2021 per-domain files: domain from the file name
            sub = sub.drop(columns=["domain"])
        return _with_ground_truth(sub, folder, gt, split or "eval")
    return _from_names(sub.drop(columns=["domain"]), folder, split or "dev")
