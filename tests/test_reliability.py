"""A run is exactly the experiment asked for, or it does not start (docs/reliability.md).

Every case is a real command on real files: it must end with the documented exit code, an error
line naming the option or file at fault, no traceback, and no run directory left behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from asdbench.cli import main

QUICK = ["--epochs", "1", "--batch-size", "8", "--quiet", "--device", "cpu"]


def _invoke(args: list[str]):
    return CliRunner().invoke(main, args)


def assert_clean_failure(result, needle: str, out: Path | None = None, code: int = 2) -> None:
    """Exit code, an ``Error:`` line containing ``needle``, no traceback, nothing under ``out``."""
    text = result.output
    assert result.exit_code == code, text
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    errors = [line for line in text.splitlines() if line.startswith("Error: ")]
    assert any(needle in line for line in errors), text
    if out is not None:
        assert not out.exists() or not any(out.iterdir()), f"left behind: {list(out.rglob('*'))}"


# (arguments after `asdbench run`, text the error line must contain)
PREFLIGHT_CASES = [
    (["--ssl", "statex:statx.axis=both"], "is for 'statx', which is not a component of this system"),
    (["--ssl", "combined:ssl_class_labels=banana"], "ssl_class_labels must be true or false, got 'banana'"),
    (["--ssl", "combined:embedder.tmn=maybe"], "option tmn must be true or false, got 'maybe'"),
    (["--ssl", "combined:loss.sub_clusters=many"], "loss sub-cluster-adacos"),
    (["--ssl", "featex:featex.p=2"], "featex"),
    (["--ssl", "nosuchthing"], "unknown system or augmenter 'nosuchthing'"),
    (["--ssl", "baseline:bogus=1"], "unknown option 'bogus'"),
    (["--ssl", "featex:=1"], "featex"),
    (["--ssl", "baseline", "baseline"], "listed twice"),
    (["--ssl", "featex(p)", "featex_p_"], "would share the folder"),
    (["--backend", "bogus"], "--backend bogus: unknown backend 'bogus'"),
    (["--backend", "kmeans", "kmeans"], "listed twice"),
    (["--device", "cuda:7"], "--device cuda:7"),
    (["--device", "tpu"], "--device must be auto, cpu or cuda"),
    (["--precision", "fp16"], "--precision fp16 needs a CUDA device"),
    (["--seeds", "0,-2"], "seeds must be >= 0"),
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["--seeds", "a"], "--seeds: expected a count"),
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--batch-size", "1"], "--batch-size must be >= 2"),
    (["--lr", "-0.1"], "--lr must be a positive number"),
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--train-from-test", "1.5"], "--train-from-test must be between 0 and 1"),
    (["--embedder", "nope"], "--embedder: unknown embedder 'nope'"),
    (["--loss", "nope"], "--loss: unknown loss 'nope'"),
    (["--dataset", "nope"], "--dataset: unknown dataset 'nope'"),
    (["--name", "../../x"], "--name '../../x'"),
    (["--name", "/abs"], "--name '/abs'"),
    (["--name", "a/b"], "--name 'a/b'"),
    (["--name", ".."], "--name '..'"),
]


@pytest.mark.parametrize(("args", "needle"), PREFLIGHT_CASES, ids=[" ".join(a) for a, _ in PREFLIGHT_CASES])
def test_bad_option_fails_before_anything_is_written(args, needle, tiny_synthetic, tmp_path, isolated_home):
    out = tmp_path / "runs"
    device = [] if "--device" in args else ["--device", "cpu"]
    result = _invoke(["run", "--data", str(tiny_synthetic), "--out", str(out), "--quiet", *device, *args])
    assert_clean_failure(result, needle, out)
    assert not isolated_home.exists() or not list(isolated_home.rglob("*.npy")), "no cache was built"


def test_every_problem_is_reported_together(tiny_synthetic, tmp_path, isolated_home):
    out = tmp_path / "runs"
    result = _invoke(["run", "--data", str(tiny_synthetic), "--out", str(out), "--ssl", "nosuch", "featex:featex.p=2",
                      "--backend", "bogus", "--device", "cuda:9"])
    assert_clean_failure(result, "nosuch", out)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 4, result.output
    assert any("featex" in e for e in errors) and any("bogus" in e for e in errors) and any("cuda:9" in e for e in errors)


# (TOML text, text the error line must contain)
TOML_CASES = [
    ("epochs = 1.5\n", "epochs: expected an integer, got 1.5"),
    ('systems = "baseline"\n', "systems: expected a list of strings"),
    ('seeds = ["a"]\n', "seeds: expected a list of integers"),
    ("seeds = -3\n", "seeds must be >= 1"),
    ("seeds = [0, -1]\n", "seeds must be >= 0"),
    ('low_memory = "yes"\n', "low_memory: expected true or false"),
    ('lr = "fast"\n', "lr: expected a number"),
    ("epochs = true\n", "epochs: expected an integer, got True"),
    ('backend_options = {kmeans = {n_clusters = "many"}}\n', "n_clusters must be a positive integer, got 'many'"),
    ("[backend_options.knn]\nk = 3\n", "options for back-end 'knn', which is not in --backend"),
    ("dataset_options = {resampel = true}\n", "has no option 'resampel'"),
    ('dataset = "dcase"\ndataset_options = {resample = "maybe"}\n', "option resample must be true or false"),
    ("nonsense_key = 1\n", "unknown key(s) nonsense_key"),
    ("epochs = \n", "invalid TOML"),
    ("[[system]]\nname = 'x'\n", "every [[system]] needs a 'spec'"),
]


@pytest.mark.parametrize(("text", "needle"), TOML_CASES, ids=[t.strip().splitlines()[0] for t, _ in TOML_CASES])
def test_bad_config_file_fails_before_anything_is_written(text, needle, tiny_synthetic, tmp_path, isolated_home):
    config = tmp_path / "exp.toml"
    config.write_text(text)
    out = tmp_path / "runs"
    result = _invoke(["run", "--config", str(config), "--data", str(tiny_synthetic), "--out", str(out), "--quiet",
                      "--device", "cpu"])
    assert_clean_failure(result, needle, out)


@pytest.mark.parametrize("kind", ["not-utf8", "folder", "missing"])
def test_unreadable_config_file_is_one_line(kind, tmp_path, isolated_home):
    config = tmp_path / "exp.toml"
    if kind == "not-utf8":
        config.write_bytes(b"epochs = 1\n\xff\xfe\n")
    elif kind == "folder":
        config.mkdir()
    out = tmp_path / "runs"
    result = _invoke(["run", "--config", str(config), "--out", str(out)])
    needle = {"not-utf8": "not UTF-8", "folder": "is a folder", "missing": "file not found"}[kind]
    assert_clean_failure(result, needle, out)
    assert str(config) in result.output


def test_out_that_is_a_file_is_one_line(tiny_synthetic, tmp_path, isolated_home):
    out = tmp_path / "afile"
    out.write_text("not a folder")
    result = _invoke(["run", "--data", str(tiny_synthetic), "--out", str(out), "--device", "cpu"])
    assert_clean_failure(result, f"{out} is a file")
    assert out.read_text() == "not a folder"


def test_dry_run_prints_the_resolved_experiment_and_writes_nothing(tiny_synthetic, tmp_path, isolated_home):
    out = tmp_path / "runs"
    result = _invoke(["run", "--data", str(tiny_synthetic), "--out", str(out), "--dry-run", "--device", "cpu",
                      "--ssl", "baseline", "regular+featex:featex.p=0.3", "--seeds", "2", "--backend", "kmeans", "knn"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "regular+featex:featex.p=0.3: heads regular, ssl; SSL label factor 3" in text
    assert "'p': 0.3" in text
    assert "Trials: 4 = 2 system(s) x seeds [0, 1]" in text
    assert "Back-ends: kmeans, knn" in text
    assert "32 training clips, 32 test clips" in text
    assert not out.exists()
    assert not isolated_home.exists() or not list(isolated_home.rglob("*.npy"))


def test_stale_cache_temp_files_are_removed_by_the_next_build(tiny_synthetic, tmp_path):
    from asdbench.builtin.datasets import synthetic
    from asdbench.data.cache import _slot, open_clip_cache

    dataset = synthetic(tiny_synthetic)
    folder = tmp_path / "cache"
    folder.mkdir()
    stale = folder / f".{_slot(dataset, dataset.clips, 'int16')}.killed123.npy.tmp"
    stale.write_bytes(b"\0" * 1024)
    other = folder / ".someone-else.x.npy.tmp"
    other.write_bytes(b"kept")
    cache = open_clip_cache(dataset, cache_dir=folder)
    assert cache.built and not stale.exists() and other.exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp") and p != other]


def test_a_full_disk_is_one_line_naming_the_file(tiny_synthetic, tmp_path, isolated_home, monkeypatch):
    import errno

    from asdbench import atomic

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "atomic_write_bytes", full)
    out = tmp_path / "runs"
    result = _invoke(["run", "--data", str(tiny_synthetic), "--out", str(out), "--name", "d", *QUICK])
    assert result.exit_code == 1, result.output
    assert f"Error: {out / 'd' / 'run.json'}: No space left on device" in result.output
    assert "Traceback" not in result.output
