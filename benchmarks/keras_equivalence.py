"""How far asdbench is from the author's Keras model, stage by stage (docs/fidelity.md).

    python benchmarks/keras_equivalence.py [--reference ../shared/reference/keras-two-branch.npz]

Loads the reference's weights into the default embedder and prints max |diff| / max |ref| of
every recorded inference stage on three paths (plain fp32, channels-last, folded inference copy),
the same for the textbook unit order (to show what the default fixes), and the effect on the
embedding of Keras' biased moving variance in its non-fused batch norms.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from asdbench.model.keras_import import REFERENCE_STAGES, load_keras_weights, reference_stages
from asdbench.model.two_branch import TwoBranchEmbedder

DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "keras-two-branch.npz"


def relative(ours: torch.Tensor, ref: np.ndarray) -> float:
    diff = np.abs(ours.double().numpy() - ref.astype(np.float64)).max()
    return float(diff / np.abs(ref).max())


def stages_of(ref: dict[str, np.ndarray], wave: torch.Tensor, folded: bool = False, **options) -> dict[str, torch.Tensor]:
    model = load_keras_weights(TwoBranchEmbedder(288000, **options), ref).eval()
    return reference_stages(model.for_inference() if folded else model, wave)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    args = parser.parse_args()
    with np.load(args.reference, allow_pickle=False) as archive:
        ref = {k: archive[k] for k in archive.files}
    wave = torch.from_numpy(ref["in/wave"][:4])
    paths = {
        "plain fp32": stages_of(ref, wave, channels_last=False),
        "channels-last": stages_of(ref, wave),
        "folded inference": stages_of(ref, wave, folded=True),
        "textbook order": stages_of(ref, wave, stage2_second_unit_order="conv-bn-relu"),
    }
    print(f"{'stage':<18}" + "".join(f"{name:>18}" for name in paths))
    for key in REFERENCE_STAGES:
        print(f"{key:<18}" + "".join(f"{relative(stages[key], ref['eval/' + key]):>18.1e}" for stages in paths.values()))
    cosine = torch.nn.functional.cosine_similarity(paths["textbook order"]["embedding"],
                                                   torch.from_numpy(ref["eval/embedding"]), dim=1)
    print(f"textbook order: cosine of the embedding to the reference's: {', '.join(f'{c:.3f}' for c in cosine)}")

    # Keras' non-fused batch norms (the 1-D ones) keep the biased batch variance as moving
    # variance, PyTorch the unbiased one: after the same training the moving variances differ by
    # (N-1)/N with N = batch x positions. Its effect on the embedding, at batch 64:
    model = load_keras_weights(TwoBranchEmbedder(288000), ref).eval()
    base = reference_stages(model, wave)["embedding"]
    with torch.no_grad():
        for bn in (*model.spectrum.bn, model.spectrogram.head_bn):
            bn.running_var.mul_(63 / 64)
        model.spectrogram.input_bn.running_var.mul_((64 * 561 - 1) / (64 * 561))
    shifted = reference_stages(model, wave)["embedding"]
    change = float((shifted - base).abs().max() / base.abs().max())
    cos = torch.nn.functional.cosine_similarity(shifted, base, dim=1).min()
    print(f"moving variance x (N-1)/N in the 1-D batch norms: embedding max rel. change {change:.1e}, "
          f"min cosine {cos:.6f}")


if __name__ == "__main__":
    main()
