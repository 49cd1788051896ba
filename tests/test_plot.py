"""`asdbench plot`: PNG figures from a run directory built with the runner's file helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.results.layout import backend_dir
from asdbench.results.tables import write_results_table, write_scored
from asdbench.scoring import score_clips

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def clip_scores(system_shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for split, machine in (("dev", "fan"), ("eval", "valve")):
        for i in range(40):
            label = int(i % 4 == 0)
            rows.append(
                dict(
                    file=f"section_00_{i:04d}.wav",
                    machine=machine,
                    section="00",
                    split=split,
                    domain="source" if i < 30 else "target",
                    label=label,
                    score=float(rng.normal() + system_shift * label),
                    decision=int(rng.random() < 0.2),
                )
            )
    return pd.DataFrame(rows)


def make_run(root: Path, with_ensemble: bool = True, name: str = "run") -> Path:
    run = root / name
    results = []
    for system, shift in (("baseline", 1.0), ("statex+featex", 2.0)):
        tables = []
        for seed in (0, 1):
            clips = clip_scores(shift, seed)
            tables.append(clips)
            write_scored(backend_dir(run, system, seed, "kmeans"), clips)
            results.append(
                score_clips(clips, dataset_version="2023").assign(
                    system=system, seed=str(seed), backend="kmeans"
                )
            )
        if with_ensemble:
            ens = tables[0].assign(score=(tables[0].score + tables[1].score) / 2)
            write_scored(backend_dir(run, system, "ensemble", "kmeans"), ens)
            results.append(
                score_clips(ens, dataset_version="2023").assign(
                    system=system, seed="ensemble", backend="kmeans"
                )
            )
    write_results_table(run / "results.csv", pd.concat(results))
    return run


def add_history_and_embeddings(run: Path, rng_seed: int = 0) -> None:
    """What a trained trial also leaves: history.csv and embeddings.npz + embeddings.csv."""
    rng = np.random.default_rng(rng_seed)
    for system in ("baseline", "statex+featex"):
        for seed in (0, 1):
            folder = run / system / f"seed-{seed}"
            history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [3.0, 2.5, 2.2 + 0.1 * seed],
                                    "loss_regular": [2.9, 2.4, 2.1], "l2": [0.02, 0.019, 0.018],
                                    "scale_regular": [7.3, 7.4, 7.5], "lr": 1e-3, "seconds": 1.0,
                                    "clips_per_s": 50.0})
            if system != "baseline":
                history["loss_ssl"] = [4.5, 4.4, 4.3]
                history["scale_ssl"] = [10.5, 10.4, 10.4]
            history.to_csv(folder / "history.csv", index=False)
            clips = clip_scores(0.0, seed)
            index = pd.concat([
                clips.assign(matrix="train", label="normal").iloc[:20],
                clips.assign(matrix="test", label=np.where(clips.label == 1, "anomaly", "normal")),
            ])
            index["row"] = index.groupby("matrix").cumcount()
            index["attribute"] = np.where(np.arange(len(index)) % 2, "speed_1", "speed_2")
            index["subset"] = np.where(index.matrix == "train", "train", "test")
            index["path"] = index.file
            index[["matrix", "row", "file", "path", "machine", "section", "split", "subset", "domain", "label",
                   "attribute"]].to_csv(folder / "embeddings.csv", index=False)
            np.savez(folder / "embeddings.npz", train=rng.normal(size=(20, 16)), test=rng.normal(size=(80, 16)))


def axes_in_svg(path: Path) -> int:
    return path.read_text().count('id="axes_')


def test_plot_writes_every_figure_as_valid_png(tmp_path: Path):
    run = make_run(tmp_path)
    add_history_and_embeddings(run)
    result = CliRunner().invoke(main, ["plot", str(run), "--out", str(tmp_path / "figs"), "--embedding", "tsne"])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert files == ["curves.png", "embeddings.png", "hist_dev_fan.png", "hist_eval_valve.png",
                     "leaderboard.png", "roc_dev_fan.png", "roc_eval_valve.png"]  # one file per machine type
    for name in files:
        data = (tmp_path / "figs" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
    assert f"wrote {len(files)} figures" in result.stdout and "Note" not in result.stderr


def test_pdf_and_svg_with_the_expected_panels(tmp_path: Path):
    run = make_run(tmp_path)
    add_history_and_embeddings(run)
    pdf = CliRunner().invoke(main, ["plot", str(run), "--format", "pdf", "--out", str(tmp_path / "pdf"),
                                    "--embedding", "none"])
    assert pdf.exit_code == 0, pdf.output
    pdfs = sorted((tmp_path / "pdf").iterdir())
    assert len(pdfs) == 6 and all(p.suffix == ".pdf" and p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
    svg = CliRunner().invoke(main, ["plot", str(run), "--format", "svg", "--out", str(tmp_path / "svg"),
                                    "--embedding", "tsne"])
    assert svg.exit_code == 0, svg.output
    out = tmp_path / "svg"
    assert axes_in_svg(out / "leaderboard.svg") == 1
    assert axes_in_svg(out / "curves.svg") == 6  # loss, 2 heads, L2, 2 AdaCos scales
    assert axes_in_svg(out / "embeddings.svg") == 2 * 3  # systems x (domain, label, attribute)
    assert axes_in_svg(out / "hist_eval_valve.svg") == 2 * 2  # systems x (section 00 source, target)
    assert axes_in_svg(out / "roc_dev_fan.svg") == 1  # one section
    again = CliRunner().invoke(main, ["plot", str(run), "--format", "svg", "--out", str(tmp_path / "svg2"),
                                      "--embedding", "none"])
    assert again.exit_code == 0
    for name in ("curves.svg", "hist_eval_valve.svg"):  # no dates, fixed ids: the same bytes
        assert (tmp_path / "svg2" / name).read_bytes() == (out / name).read_bytes()


def test_dpi_sets_the_png_resolution(tmp_path: Path):
    run = make_run(tmp_path)
    sizes = {}
    for dpi in (50, 100):
        out = tmp_path / f"d{dpi}"
        assert CliRunner().invoke(main, ["plot", str(run), "--dpi", str(dpi), "--out", str(out)]).exit_code == 0
        header = (out / "leaderboard.png").read_bytes()[16:24]
        sizes[dpi] = int.from_bytes(header[:4], "big")
    assert 1.9 < sizes[100] / sizes[50] < 2.1


def test_several_runs_share_one_figure_and_differences_are_noted(tmp_path: Path):
    from asdbench.reports.plots import representatives
    from asdbench.results.runs import load_runs

    a, b = make_run(tmp_path, name="a"), make_run(tmp_path, with_ensemble=False, name="b")
    (a / "run.json").write_text('{"config": {"epochs": 10}}')
    (b / "run.json").write_text('{"config": {"epochs": 3}}')
    result = CliRunner().invoke(main, ["plot", str(a), str(b), "--out", str(tmp_path / "figs"), "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert "Note: these runs differ in epochs (a: 10, b: 3)" in result.stderr
    assert axes_in_svg(tmp_path / "figs" / "hist_dev_fan.svg") == 4 * 2  # 2 runs x 2 systems, 2 domains
    reps, _ = representatives(load_runs([a, b]), None)
    assert [r.label for r in reps] == ["a/baseline (ensemble)", "a/statex+featex (ensemble)",
                                       "b/baseline (seed 0)", "b/statex+featex (seed 0)"]


def test_missing_history_and_embeddings_are_noted(tmp_path: Path):
    run = make_run(tmp_path, with_ensemble=False)
    for path in run.glob("baseline/*/kmeans/scores.csv"):
        path.unlink()
    result = CliRunner().invoke(main, ["plot", str(run), "--embedding", "tsne"])
    assert result.exit_code == 0
    assert "Note: no scores.csv for baseline" in result.stderr
    assert "no history.csv for baseline: no training curves" in result.stderr
    assert "no embeddings.npz + embeddings.csv for baseline" in result.stderr
    assert sorted(p.name for p in (run / "plots").iterdir()) == [
        "hist_dev_fan.png", "hist_eval_valve.png", "leaderboard.png", "roc_dev_fan.png", "roc_eval_valve.png"]


def test_missing_matplotlib_gives_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run = make_run(tmp_path, with_ensemble=False)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    result = CliRunner().invoke(main, ["plot", str(run)])
    assert result.exit_code == 2
    assert result.stderr == "Error: plotting needs matplotlib: install asdbench[plot]\n"


def test_not_a_run_directory(tmp_path: Path):
    result = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 2 and "no results.csv" in result.stderr
