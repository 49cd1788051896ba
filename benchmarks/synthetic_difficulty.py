"""Sanity check of the synthetic benchmark's difficulty with naive, training-free detectors.

A useful benchmark is neither trivial nor hopeless: a naive feature baseline should land
clearly above chance but well below 1.0. Per machine type this script scores the test clips by
the distance of a clip-level feature to the training clips and prints official-style metrics:

* features: ``logmel`` = mean over time of a 64-band log-mel spectrogram (1024/512 STFT);
  ``logspec`` = mean over time of the 513-bin log power spectrum (finer frequency resolution);
* scorers: ``knn`` = Euclidean distance to the nearest training clip (source + target, features
  standardised on the training clips); ``knn-src`` = the same with source training clips only
  (what ignoring the domain problem costs shows up in its AUC on the target domain);
* metrics: AUC(source) = source normals vs all anomalies, AUC(target) = target normals vs all
  anomalies, pAUC (max FPR 0.1, all clips), and per fault kind the AUC of the source-domain
  normals vs the source-domain clips with that fault (detectability without the domain shift).

Usage::

    python benchmarks/synthetic_difficulty.py                  # quick preset (generated if needed)
    python benchmarks/synthetic_difficulty.py --all-types      # all 14 types at quick sizes
    python benchmarks/synthetic_difficulty.py --root DIR       # an existing synthetic tree
    python benchmarks/synthetic_difficulty.py --speed          # generation speed: quick + paper
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from sklearn.metrics import roc_auc_score

from asdbench.synth import MACHINES, PRESETS, ensure_synthetic, generate

N_FFT, HOP, N_MELS, SR = 1024, 512, 64, 16000


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sr: int = SR) -> np.ndarray:
    """Triangular HTK-style mel filters, (n_mels, n_fft // 2 + 1)."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(sr / 2)), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))


FILTERBANK = mel_filterbank()


def power_spectrogram(x: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    return np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2


def clip_features(x: np.ndarray) -> dict[str, np.ndarray]:
    """Both clip-level features of one waveform."""
    p = power_spectrogram(x)
    return {"logmel": np.log(p @ FILTERBANK.T + 1e-10).mean(axis=0), "logspec": np.log(p + 1e-10).mean(axis=0)}


def features(paths: list[Path], name: str) -> np.ndarray:
    return np.array([clip_features(sf.read(path, dtype="float64")[0])[name] for path in paths])


def knn_score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    mu, sd = train.mean(axis=0), train.std(axis=0) + 1e-6
    a, b = (train - mu) / sd, (test - mu) / sd
    d = ((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=-1)
    return np.sqrt(d.min(axis=1))


def official(rows: list[dict[str, str]], score: np.ndarray) -> dict[str, float]:
    y = np.array([r["label"] == "anomaly" for r in rows])
    dom = np.array([r["domain"] for r in rows])
    out = {}
    for d in ("source", "target"):
        keep = y | (dom == d)
        out[f"AUC_{d[0]}"] = roc_auc_score(y[keep], score[keep])
    out["pAUC"] = roc_auc_score(y, score, max_fpr=0.1)
    kinds = sorted({r["anomaly"] for r in rows if r["anomaly"]})
    for k in kinds:  # detectability of one fault without the domain problem: source clips only
        keep = (dom == "source") & (~y | np.array([r["anomaly"] == k for r in rows]))
        out[k] = roc_auc_score(y[keep], score[keep])
    return out


def speed(per_type: int = 6) -> None:
    """Time a full quick generation, and estimate the paper preset's rate from a partial run."""
    from asdbench.synth.plan import plan_machine
    from asdbench.synth.render import render
    from asdbench.synth.writer import _default_workers, _write_wav

    with tempfile.TemporaryDirectory(prefix="asdbench-speed-") as tmp:
        for workers in (1, 2):
            t0, c0 = time.perf_counter(), time.process_time()
            generate(Path(tmp) / f"quick{workers}", "quick", 0, workers=workers)
            quick, cpu = time.perf_counter() - t0, time.process_time() - c0
            n_quick = len(list((Path(tmp) / f"quick{workers}").rglob("*.wav")))
            print(f"quick: {n_quick} clips in {quick:.1f} s with {workers} worker(s) ({n_quick / quick:.0f} clips/s; "
                  f"{cpu:.1f} s CPU in this process)")
        workers = _default_workers()
        paper = PRESETS["paper"]
        total_clips, total_time = 0, 0.0
        for machine in paper.machines:
            specs = plan_machine(paper, machine, 0)[:: max(1, 1200 // per_type)][:per_type]
            t0 = time.perf_counter()
            for spec in specs:
                out = Path(tmp) / "paper" / spec.name
                out.parent.mkdir(parents=True, exist_ok=True)
                _write_wav(out, render(spec, paper, 0))
            dt = time.perf_counter() - t0
            total_clips += len(specs)
            total_time += dt
            print(f"  paper {machine:10s} {len(specs) / dt:5.1f} clips/s per process ({paper.seconds(machine):.0f}-s clips)")
        rate = total_clips / total_time
        n_paper = len(paper.machines) * (paper.train_source + paper.train_target + 4 * paper.test_per_group)
        print(f"paper: {rate:.1f} clips/s per process -> {n_paper} clips take about {n_paper / rate / 60:.1f} min on one core, "
              f"{n_paper / rate / 60 / workers:.1f} min with {workers} worker(s)")


def hmean(values: list[float]) -> float:
    v = np.maximum(np.array(values), np.finfo(float).eps)
    return float(len(v) / np.sum(1.0 / v))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, help="existing synthetic tree (default: generate)")
    ap.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--all-types", action="store_true", help="all 14 machine types at the quick sizes (written to a temp folder)")
    ap.add_argument("--feature", default="logmel", choices=["logmel", "logspec"])
    ap.add_argument("--speed", action="store_true", help="only measure generation speed (quick preset + partial paper)")
    args = ap.parse_args(argv)
    if args.speed:
        speed()
        return 0

    t0 = time.perf_counter()
    tmp = None
    if args.root is not None:
        root = args.root
    elif args.all_types:
        tmp = tempfile.TemporaryDirectory(prefix="asdbench-difficulty-")
        preset = dataclasses.replace(PRESETS["quick"], name="quick-all", machines=tuple(MACHINES))
        root = generate(Path(tmp.name) / "data", preset, args.seed)
    else:
        root = ensure_synthetic(args.preset, args.seed)
    print(f"data: {root} ({time.perf_counter() - t0:.1f} s)")

    with open(root / "synthetic_manifest.csv", newline="") as handle:
        manifest = list(csv.DictReader(handle))
    machines = list(dict.fromkeys(r["machine"] for r in manifest))
    summary: dict[str, list[float]] = {"knn": [], "knn-src": []}
    header = f"{'machine':10s} {'split':5s} {'AUC_s':>6s} {'AUC_t':>6s} {'pAUC':>6s} | {'src-only AUC_t':>14s} | per fault kind (AUC)"
    print(f"feature: {args.feature}\n{header}\n{'-' * len(header)}")
    for machine in machines:
        rows = [r for r in manifest if r["machine"] == machine]
        train = [r for r in rows if r["subset"] == "train"]
        test = [r for r in rows if r["subset"] == "test"]
        feats_train = features([root / r["path"] for r in train], args.feature)
        feats_test = features([root / r["path"] for r in test], args.feature)
        src = np.array([r["domain"] == "source" for r in train])
        m_all = official(test, knn_score(feats_train, feats_test))
        m_src = official(test, knn_score(feats_train[src], feats_test))
        summary["knn"] += [m_all["AUC_s"], m_all["AUC_t"], m_all["pAUC"]]
        summary["knn-src"] += [m_src["AUC_s"], m_src["AUC_t"], m_src["pAUC"]]
        kinds = "  ".join(f"{k}={v:.2f}" for k, v in m_all.items() if k not in ("AUC_s", "AUC_t", "pAUC"))
        print(f"{machine:10s} {rows[0]['split']:5s} {m_all['AUC_s']:6.3f} {m_all['AUC_t']:6.3f} {m_all['pAUC']:6.3f} | {m_src['AUC_t']:14.3f} | {kinds}")
    print(f"\nharmonic mean of all AUC_s, AUC_t, pAUC values: knn {hmean(summary['knn']):.3f}, knn-src {hmean(summary['knn-src']):.3f}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
