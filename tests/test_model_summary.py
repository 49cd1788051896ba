"""Layer table, weight and MAC totals, and the ``asdbench describe`` command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.model.summary import summarize
from asdbench.model.two_branch import TwoBranchEmbedder


def test_summary_totals_paper_size() -> None:
    summary = summarize(TwoBranchEmbedder(288000), 288000)
    assert summary.total("kernel") == 2_675_792
    assert summary.total("kernel", "spectrum") == 1_710_080
    assert summary.total("kernel", "spectrogram") == 965_712
    assert summary.total("other") == 7842 and summary.total("stats") == 7842
    # MACs from the output shapes: e.g. spectrum conv 1 is 2250 x 128 outputs x 256 taps
    rows = {r.name: r for r in summary.rows}
    assert rows["spectrum.convs.0"].macs == 2250 * 128 * 256
    assert rows["spectrogram.stem_conv"].macs == 281 * 257 * 16 * 49
    assert rows["spectrogram.units.6.shortcut.1"].macs == 18 * 16 * 128 * 64
    assert summary.total("macs") == 819_894_736
    assert summary.total("macs", "spectrum") / 1e9 == pytest.approx(0.15, abs=0.005)
    assert summary.total("macs", "spectrogram") / 1e9 == pytest.approx(0.67, abs=0.005)
    assert summary.branches() == ["spectrum", "spectrogram"]


def test_describe_embedder_paper_preset() -> None:
    result = CliRunner().invoke(main, ["describe", "embedder", "two-branch"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Kernel weights: 2,675,792" in out
    assert "1,710,080" in out and "965,712" in out
    assert "(0.820 G)" in out and "288000 samples" in out
    assert "spectrogram.units.7.conv2 (Conv2dSame)" in out and "(128, 18, 16)" in out


def test_describe_quick_preset_and_options() -> None:
    result = CliRunner().invoke(main, ["describe", "embedder", "two-branch", "--preset", "quick", "-o", "tmn=false"])
    assert result.exit_code == 0, result.output
    assert "(61, 513)" in result.output and "(16000,)" in result.output
    assert "Kernel weights: 2,413,648" in result.output  # the spectrum flatten shrinks to 2 x 128


def test_describe_samples_overrides_preset() -> None:
    result = CliRunner().invoke(main, ["describe", "embedder", "two-branch", "--samples", "160000"])
    assert result.exit_code == 0, result.output
    assert "(311, 513)" in result.output and "(128, 10, 16)" in result.output


def test_describe_loss_lists_options() -> None:
    result = CliRunner().invoke(main, ["describe", "loss", "sub-cluster-adacos"])
    assert result.exit_code == 0, result.output
    assert "sub_clusters: int = 16" in result.output and "faithful_scale: bool = True" in result.output
    assert "trainable: bool (required)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["describe", "embedder", "two-branch", "--samples", "1000"], "Error: embedder two-branch: clip_samples=1000 is too short"),
        (["describe", "embedder", "nope"], "Error: unknown embedder 'nope'"),
        (["describe", "embedder", "two-branch", "-o", "depth=3"], "Error: embedder two-branch: unknown option(s) depth"),
        (["describe", "embedder", "two-branch", "-o", "tmn"], "Error: --option 'tmn': expected KEY=VALUE"),
    ],
)
def test_describe_errors_are_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_describe_shows_the_order_of_every_unit_and_the_variants() -> None:
    result = CliRunner().invoke(main, ["describe", "embedder", "two-branch", "--preset", "quick"])
    assert result.exit_code == 0, result.output
    assert "unit 1 (stage 2): x = BN(x); [ReLU -> conv3x3 -> ReLU -> BN -> conv3x3 -> SE] + x" in result.output
    assert "unit 0 (stage 2): [ReLU -> conv3x3 -> BN -> ReLU -> conv3x3 -> SE] + x" in result.output
    textbook = CliRunner().invoke(main, ["describe", "embedder", "two-branch", "--preset", "quick",
                                         "-o", "stage2_second_unit_order=conv-bn-relu"])
    assert "unit 1 (stage 2): x = BN(x); [ReLU -> conv3x3 -> BN -> ReLU -> conv3x3 -> SE] + x" in textbook.output
