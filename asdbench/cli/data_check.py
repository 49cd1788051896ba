"""``asdbench data check PATH``: what a dataset folder holds and what is wrong with it.

Exit code 0 when every file is usable, 1 when there are problems (each listed on one line:
unreadable / truncated / empty files, unparseable names, wrong sample rates, machine folders
without clips), 2 for a user error such as a missing folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tabulate import tabulate

from ..data.editions import VERSIONS

VERSION_CHOICES = ["auto", *VERSIONS]


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _render(summary: dict) -> str:
    lines = [
        f"Dataset: {summary['root']}" + (f" ({summary['layout']} layout)" if summary.get("layout", "dcase") != "dcase" else ""),
        f"Version: DCASE{summary['version']}, expected sample rate {summary['sample_rate']} Hz",
        f"Clips: {summary['clips']} usable, {len(summary['machines'])} machine types, "
        f"{summary['train_classes']} training classes (machine x section x attribute x domain)",
        "",
    ]
    if summary["counts"]:
        rows = [[r["split"], r["machine"], r["section"], r["subset"], r["domain"] or "?", r["label"] or "?", r["clips"]]
                for r in summary["counts"]]
        lines.append(tabulate(rows, headers=["split", "machine", "section", "subset", "domain", "label", "clips"]))
        lines.append("")
    rates = ", ".join(f"{rate} Hz: {n}" for rate, n in summary["sample_rates"].items()) or "-"
    channels = ", ".join(f"{ch}: {n}" for ch, n in summary["channels"].items()) or "-"
    durations = summary["durations_s"]
    lines += [
        f"Sample rates (files read): {rates}",
        f"Channels (usable clips): {channels}",
        f"Durations: min {_fmt_seconds(durations['min'])}, median {_fmt_seconds(durations['median'])}, "
        f"max {_fmt_seconds(durations['max'])}",
    ]
    if summary["attribute_tables"]:
        lines.append(f"Attribute tables: {', '.join(summary['attribute_tables'])}")
    if summary["ground_truth_files"]:
        lines.append(f"Ground-truth files: {len(summary['ground_truth_files'])}")
    if summary["warnings"]:
        lines += ["", f"Warnings ({len(summary['warnings'])}):"] + [f"  {w}" for w in summary["warnings"]]
    if summary.get("notes"):
        lines += ["", f"Notes ({len(summary['notes'])}), usable but changed when read:"] + [f"  {n}" for n in summary["notes"]]
    problems = summary["problems"]
    lines.append("")
    if problems:
        lines += [f"Problems ({len(problems)}), these files are skipped:"] + [f"  {p}" for p in problems]
    else:
        lines.append("No problems found.")
    return "\n".join(lines)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--version", "version", type=click.Choice(VERSION_CHOICES), default="auto", show_default=True,
              help="DCASE version of the folder; auto reads it from the file names.")
@click.option("--sample-rate", type=int, default=16000, show_default=True, help="Sample rate the clips must have.")
@click.option("--resample", is_flag=True, help="Accept other sample rates (they would be resampled).")
@click.option("--ground-truth", type=click.Path(path_type=Path), default=None,
              help="Folder of the official evaluator's ground_truth_* folders (default: looked for under PATH).")
@click.option("--dataset", type=click.Choice(["auto", "dcase", "folder", "manifest"]), default="auto", show_default=True,
              help="How to read PATH: auto recognises a DCASE folder, your own folder (MIMII, machine folders of "
                   "DCASE-named clips, normal/ + anomaly/) or a CSV manifest.")
@click.option("--quick", is_flag=True, help="Read only the file headers (faster; misses corrupt bodies and NaN samples).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(path: Path, version: str, sample_rate: int, resample: bool, ground_truth: Path | None, dataset: str,
          quick: bool, as_json: bool) -> None:
    """Count the clips of a dataset folder and list every problem (exit code 1 if any).

    Every file is decoded, as ``asdbench run`` would, unless ``--quick``."""
    from ..data.dcase import decode_clips, scan
    from ..data.folder import dataset_kind, read_manifest, scan_folder

    kind = dataset if dataset != "auto" else dataset_kind(path)
    if kind == "manifest":
        result = read_manifest(path, sample_rate=sample_rate, resample=resample)
    elif kind == "folder":
        result = scan_folder(path, sample_rate=sample_rate, resample=resample)
    else:
        result = scan(path, version, sample_rate=sample_rate, resample=resample, ground_truth=ground_truth)
    if not quick:
        decode_clips(result, resample)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(_render(summary))
    sys.exit(1 if result.problems else 0)
