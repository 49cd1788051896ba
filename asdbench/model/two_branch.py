"""The two-branch embedder of the reference system (reference-system.md §2 and §3).

``features(wave)`` computes the raw linear magnitudes ``{"spectrum": (B, n//2),
"spectrogram": (B, T, 513)}`` (the ``features`` augmenter stage, e.g. StatEx, acts on this dict);
``encode`` runs the two sub-networks and returns ``{"spectrum": emb_fft, "spectrogram": emb_mel}``
(the ``embedding`` stage, e.g. FeatEx); ``combine`` concatenates them, fft first (256-d).

Layout: the spectrogram sub-network works on ``(B, C, T, F)`` tensors (time is the height axis),
the spectrum sub-network on ``(B, C, L)``. Both Flatten steps use Keras' order (position major,
channel minor) so that weights exported from the reference map one to one.

Very short clips: the stem's valid 3x3 max-pool needs at least 3 rows after the stride-2 stem
convolution, i.e. at least 5 STFT frames = 1024 + 4 * 512 = 3072 samples. Shorter clips are
rejected when the embedder is built (a clear ``ConfigError``) instead of being padded silently;
the quick synthetic preset (2-s clips, 32000 samples, 61 frames) is well above that.
The head takes the max over *all* remaining frames (the reference hard-codes the pool size:
18 for DCASE2023, 10 for DCASE2022, which is the same thing at those lengths).

The default is the graph of the author's published code (ssl4asd, ``main_statex+featex.py``),
proven against its own outputs by ``tests/test_keras_reference.py``; it differs from
reference-system.md in one unit: the second unit of stage 2 computes ``conv -> ReLU -> BN``
(``stage2_second_unit_order="conv-bn-relu"`` gives the textbook order of every other unit).
Paper-era variants of the published code are options too (``stage2_first_unit_bn``, ``se``);
docs/fidelity.md lists them with their sources and every remaining difference, e.g.:

* Batch-norm moving variances use PyTorch's unbiased batch variance; Keras' non-fused BN (the
  1-D layers) uses the biased one. Training-mode outputs are identical; only inference-time
  statistics differ by a factor (N-1)/N (N = 64 for the dense layers).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..components import Embedder
from ..errors import ConfigError
from .frontend import MagnitudeSTFT, magnitude_spectrum, stft_frames
from .inference import folded_copy
from .layers import SqueezeExcitation, batch_norm_1d, batch_norm_2d, glorot_uniform_
from .stem import batch_norm_max_pool
from .tf_same import Conv1dSame, Conv2dSame, MaxPool2dSame

FRAME_LENGTH = 1024
HOP_LENGTH = 512
MIN_FRAMES = 5  # stem: ceil(T/2) >= 3 rows for the valid 3x3 max-pool
MIN_CLIP_SAMPLES = FRAME_LENGTH + (MIN_FRAMES - 1) * HOP_LENGTH  # 3072

# Spectrum sub-network: (filters, kernel, stride) of the three Conv1D layers.
SPECTRUM_CONVS: tuple[tuple[int, int, int], ...] = ((128, 256, 64), (128, 64, 32), (128, 16, 4))
SPECTRUM_DENSE = 4
SPECTRUM_HIDDEN = 128
# Spectrogram sub-network: channels of the stem and of stages 2-5.
STEM_CHANNELS = 16
STAGE_CHANNELS: tuple[int, ...] = (16, 32, 64, 128)


def spectrum_conv_lengths(n_bins: int) -> list[int]:
    """Output lengths of the three stride-s 'same' Conv1D layers (2250, 71, 18 for 144000 bins)."""
    lengths = []
    for _, _, stride in SPECTRUM_CONVS:
        n_bins = math.ceil(n_bins / stride)
        lengths.append(n_bins)
    return lengths


def spectrogram_sizes(frames: int, bins: int) -> list[tuple[int, int]]:
    """(time, frequency) after the stem and after stages 2..5 (140x128 ... 18x16 for 561x513)."""
    t, f = math.ceil(frames / 2), math.ceil(bins / 2)  # stem conv, stride 2, same
    t, f = (t - 3) // 2 + 1, (f - 3) // 2 + 1  # max-pool 3x3, stride 2, valid
    sizes = [(t, f), (t, f)]  # after stem, after stage 2
    for _ in STAGE_CHANNELS[1:]:
        t, f = math.ceil(t / 2), math.ceil(f / 2)
        sizes.append((t, f))
    return sizes


class SpectrumNet(nn.Module):
    """Conv1D sub-network on the full-length magnitude spectrum: ``(B, F) -> (B, D)``."""

    def __init__(self, n_bins: int, embedding_dim: int = 128, se: bool = True) -> None:
        super().__init__()
        convs, ses = [], []
        in_ch = 1
        for filters, kernel, stride in SPECTRUM_CONVS:
            convs.append(Conv1dSame(in_ch, filters, kernel, stride, framed=True))  # see framed_conv.py
            ses.append(SqueezeExcitation(filters) if se else nn.Identity())
            in_ch = filters
        self.convs = nn.ModuleList(convs)
        self.se = nn.ModuleList(ses)
        self.flat_dim = spectrum_conv_lengths(n_bins)[-1] * in_ch
        widths = [self.flat_dim] + [SPECTRUM_HIDDEN] * SPECTRUM_DENSE
        self.dense = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.bn = nn.ModuleList(batch_norm_1d(SPECTRUM_HIDDEN) for _ in range(SPECTRUM_DENSE))
        self.out = nn.Linear(SPECTRUM_HIDDEN, embedding_dim, bias=False)

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        x = spectrum.unsqueeze(1)  # (B, 1, F)
        for conv, se in zip(self.convs, self.se, strict=True):
            x = se(F.relu(conv(x), inplace=True))  # in place: nothing else reads the conv output
        x = x.transpose(1, 2).flatten(1)  # Keras Flatten order: (length, channel)
        for dense, bn in zip(self.dense, self.bn, strict=True):
            x = F.relu(bn(dense(x)), inplace=True)  # BN's backward needs its input, not its output
        return self.out(x)


SECOND_UNIT_ORDERS = ("conv-relu-bn", "conv-bn-relu")
"""Middle of stage 2's second residual unit: the published code's ``conv -> ReLU -> BN`` (default)
or the textbook ``conv -> BN -> ReLU`` that every other unit computes."""
FIRST_UNIT_BN = ("middle", "input")
"""What the middle batch norm of stage 2's first unit reads: the first convolution's output (the
published code since ssl4asd commit a9066f6, 2024-01-17, default) or the unit's input (the code
before that fix, ``xr = BatchNormalization()(x)``: the first convolution's output is then unused
and the branch is ``BN(x) -> ReLU -> conv3x3 -> SE``)."""


class ResidualUnit(nn.Module):
    """Pre-activation residual unit with SE on the branch.

    ``x = BN(x)`` first when ``pre_bn`` (the shortcut sees it too); branch ``ReLU -> Conv3x3(stride)
    -> BN -> ReLU -> Conv3x3 -> SE``; shortcut identity, or ``MaxPool(2x2, same) -> Conv1x1`` when
    the unit downsamples. ``relu_before_bn`` computes the middle as ``ReLU -> BN`` (what the
    published code does in the second unit of stage 2); ``bn_reads_input`` feeds the middle BN the
    unit's input instead of the first convolution's output (stage 2's first unit before the
    upstream fix; conv1 keeps its weights and L2 penalty, but its output is unused, so it is not
    computed); ``se=False`` drops the SE block.
    ``input_is_nonnegative`` (the first unit, fed by the stem's ReLU) skips the branch's leading
    ReLU, which is then the identity, values and gradients alike (its mask is the stem ReLU's):
    one pass and one saved activation fewer (73 MB in fp32 at the paper preset).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int, pre_bn: bool, relu_before_bn: bool = False,
                 input_is_nonnegative: bool = False, bn_reads_input: bool = False, se: bool = True) -> None:
        super().__init__()
        self.input_is_nonnegative = input_is_nonnegative and not pre_bn
        self.pre_bn = batch_norm_2d(in_ch) if pre_bn else None
        self.conv1 = Conv2dSame(in_ch, out_ch, 3, stride)
        if bn_reads_input and (in_ch != out_ch or stride != 1 or pre_bn or relu_before_bn):
            raise ValueError("bn_reads_input: only for a unit that keeps its shape, without pre_bn or relu_before_bn")
        self.bn_reads_input = bn_reads_input
        self.bn = batch_norm_2d(out_ch)
        self.conv2 = Conv2dSame(out_ch, out_ch, 3, 1)
        self.se = SqueezeExcitation(out_ch) if se else None
        self.relu_before_bn = relu_before_bn
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(MaxPool2dSame(stride), nn.Conv2d(in_ch, out_ch, 1, bias=False))

    def layout(self) -> str:
        """The unit's computation in words, e.g. ``BN -> [ReLU -> conv3x3 -> BN -> ReLU -> conv3x3 -> SE] + x``."""
        stride = self.conv1.stride[0]
        se = ["SE"] if self.se else []
        if self.bn_reads_input:
            return f"[BN(x) -> ReLU -> conv3x3{' -> SE' if se else ''}] + x (conv1's output unused)"
        middle = ["ReLU", "BN"] if self.relu_before_bn else ["BN", "ReLU"]
        branch = ["ReLU", f"conv3x3/{stride}" if stride > 1 else "conv3x3", *middle, "conv3x3", *se]
        shortcut = "x" if self.shortcut is None else "conv1x1(maxpool2x2(x))"
        return ("x = BN(x); " if self.pre_bn is not None else "") + f"[{' -> '.join(branch)}] + {shortcut}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_bn is not None:
            x = self.pre_bn(x)
        if self.bn_reads_input:  # the pre-fix wiring: BN(x) replaces conv1's output
            r = F.relu(self.bn(x))
        else:
            r = self.conv1(x if self.input_is_nonnegative else F.relu(x))  # not in place: x is also the shortcut's input
            r = self.bn(F.relu(r, inplace=True)) if self.relu_before_bn else F.relu(self.bn(r), inplace=True)
        shortcut = x if self.shortcut is None else self.shortcut(x)
        r = self.conv2(r)
        return shortcut + r if self.se is None else self.se.add_to(shortcut, r)


class SpectrogramNet(nn.Module):
    """ResNet-like sub-network on the magnitude spectrogram: ``(B, T, 513) -> (B, D)``.

    Includes the input normalisation: temporal mean normalisation (optional) and batch norm with
    one feature per frequency bin, statistics over batch and time. ``stage2_second_unit_order`` and
    ``stage2_first_unit_bn``: see :data:`SECOND_UNIT_ORDERS` and :data:`FIRST_UNIT_BN`.
    """

    def __init__(self, frames: int, bins: int, embedding_dim: int = 128, tmn: bool = True,
                 stage2_second_unit_order: str = "conv-relu-bn", stage2_first_unit_bn: str = "middle",
                 se: bool = True, channels_last: bool = True) -> None:
        super().__init__()
        self.tmn = tmn
        self.channels_last = channels_last
        self.input_bn = batch_norm_1d(bins)
        self.stem_conv = Conv2dSame(1, STEM_CHANNELS, 7, 2, space_to_depth=True)  # see space_to_depth.py
        self.stem_bn = batch_norm_2d(STEM_CHANNELS)
        self.stem_pool = nn.MaxPool2d(3, 2)  # valid
        pre_fix = stage2_first_unit_bn == "input"
        units = []
        in_ch = STEM_CHANNELS
        for stage, out_ch in enumerate(STAGE_CHANNELS):
            stride = 1 if stage == 0 else 2
            # Stage 2's first unit has no leading BN; every other unit starts with x = BN(x).
            units.append(ResidualUnit(in_ch, out_ch, stride, pre_bn=stage > 0, input_is_nonnegative=stage == 0,
                                      bn_reads_input=stage == 0 and pre_fix, se=se))
            units.append(ResidualUnit(out_ch, out_ch, 1, pre_bn=True, se=se,
                                      relu_before_bn=stage == 0 and stage2_second_unit_order == "conv-relu-bn"))
            in_ch = out_ch
        self.units = nn.Sequential(*units)
        self.out_freq = spectrogram_sizes(frames, bins)[-1][1]
        self.head_bn = batch_norm_1d(self.out_freq * in_ch)
        self.out = nn.Linear(self.out_freq * in_ch, embedding_dim, bias=False)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        x = spectrogram
        if self.tmn:
            x = x - x.mean(dim=1, keepdim=True)
        b, t, f = x.shape
        # One BN feature per frequency bin, statistics over batch and time: (B*T, F) rows.
        x = self.input_bn(x.reshape(b * t, f)).reshape(b, 1, t, f)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        # ReLU after the max-pool: max and ReLU commute exactly (ReLU is monotonic), values and
        # gradients included, and the ReLU then touches a 4x smaller tensor (the stem output is
        # the largest activation of the network: 64 x 16 x 281 x 257 at the paper preset).
        # BN + max-pool run as one autograd node that keeps less for backward (see stem.py).
        x = F.relu(batch_norm_max_pool(self.stem_conv(x), self.stem_bn, self.stem_pool), inplace=True)
        x = self.units(x)
        x = x.amax(dim=2)  # max over time -> (B, C, F)
        x = x.transpose(1, 2).flatten(1)  # Keras Flatten order: (frequency, channel)
        return self.out(self.head_bn(x))


def _check_choice(option: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"embedder two-branch: {option} must be one of {', '.join(choices)}, got {value!r}")


class TwoBranchEmbedder(Embedder):
    """Two-branch embedder: |FFT| Conv1D network + |STFT| ResNet, 2 x 128-d (reference system).

    ``embedding_dim`` is the size of *each* branch; ``self.embedding_dim`` is the combined size
    (2 x 128 = 256), which is what loss heads see. ``l2`` is the kernel weight penalty.
    ``channels_last`` runs the spectrogram convolutions in NHWC (about 2x faster on CPU with
    oneDNN, and the layout tensor cores want); it changes no number beyond float rounding.
    ``stage2_second_unit_order`` ("conv-relu-bn", the published code, or the textbook
    "conv-bn-relu"), ``stage2_first_unit_bn`` ("middle", or "input": the published code before
    2024-01-17) and ``se`` (False: no squeeze-and-excitation blocks, as the DCASE2023 system the
    paper's baseline cites) select paper-era variants of the published graph (docs/fidelity.md).
    """

    def __init__(self, clip_samples: int, *, tmn: bool = True, embedding_dim: int = 128,
                 l2: float = 1e-5, stage2_second_unit_order: str = "conv-relu-bn",
                 stage2_first_unit_bn: str = "middle", se: bool = True, channels_last: bool = True) -> None:
        super().__init__()
        clip_samples = int(clip_samples)
        if clip_samples < MIN_CLIP_SAMPLES:
            raise ConfigError(
                f"embedder two-branch: clip_samples={clip_samples} is too short; the spectrogram "
                f"branch needs at least {MIN_CLIP_SAMPLES} samples ({MIN_FRAMES} STFT frames)"
            )
        if embedding_dim < 1:
            raise ConfigError(f"embedder two-branch: embedding_dim must be positive, got {embedding_dim}")
        _check_choice("stage2_second_unit_order", stage2_second_unit_order, SECOND_UNIT_ORDERS)
        _check_choice("stage2_first_unit_bn", stage2_first_unit_bn, FIRST_UNIT_BN)
        for option, value in (("tmn", tmn), ("se", se), ("channels_last", channels_last)):
            if not isinstance(value, bool):
                raise ConfigError(f"embedder two-branch: {option} must be true or false, got {value!r}")
        self.clip_samples = clip_samples
        self.branch_dim = int(embedding_dim)
        self.embedding_dim = 2 * self.branch_dim
        self.l2 = float(l2)
        self.n_bins = clip_samples // 2
        self.n_frames = stft_frames(clip_samples, FRAME_LENGTH, HOP_LENGTH)
        self.stft = MagnitudeSTFT(FRAME_LENGTH, HOP_LENGTH)
        self.spectrum = SpectrumNet(self.n_bins, self.branch_dim, se=se)
        self.spectrogram = SpectrogramNet(self.n_frames, FRAME_LENGTH // 2 + 1, self.branch_dim, tmn=tmn,
                                          stage2_second_unit_order=stage2_second_unit_order,
                                          stage2_first_unit_bn=stage2_first_unit_bn, se=se,
                                          channels_last=channels_last)
        glorot_uniform_(self)
        if channels_last:
            # After init, so the random values do not depend on the memory layout.
            self.spectrogram.to(memory_format=torch.channels_last)
        self._l2_names = tuple(self._backbone_kernel_names())

    def _backbone_kernel_names(self) -> list[str]:
        """Conv/dense kernels that carry the L2 penalty: everything except SE layers."""
        se_prefixes = [name + "." for name, m in self.named_modules() if isinstance(m, SqueezeExcitation)]
        names = []
        for name, m in self.named_modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)) and not any(name.startswith(p) for p in se_prefixes):
                names.append(f"{name}.weight")
        return names

    def backbone_kernels(self) -> list[torch.Tensor]:
        params = dict(self.named_parameters())
        return [params[n] for n in self._l2_names]

    def features(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        if wave.dim() != 2 or wave.shape[-1] != self.clip_samples:
            raise ConfigError(
                f"embedder two-branch was built for waveforms of shape (batch, {self.clip_samples}); "
                f"got {tuple(wave.shape)}"
            )
        return {"spectrum": magnitude_spectrum(wave), "spectrogram": self.stft(wave)}

    def encode(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"spectrum": self.spectrum(features["spectrum"]),
                "spectrogram": self.spectrogram(features["spectrogram"])}

    def combine(self, sub: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([sub["spectrum"], sub["spectrogram"]], dim=-1)

    def layout(self) -> list[str]:
        """The computation order of every residual unit, one line each (``asdbench describe``)."""
        se = "SE after each ReLU" if not isinstance(self.spectrum.se[0], nn.Identity) else "no SE"
        head = [f"spectrum: 3 x [conv1d -> ReLU{' -> SE' if se != 'no SE' else ''}] -> 4 x [dense -> BN -> ReLU] -> dense",
                f"spectrogram input: {'TMN -> ' if self.spectrogram.tmn else ''}BN per frequency bin; "
                "stem: conv7x7/2 -> BN -> ReLU -> maxpool3x3/2"]
        units = [f"unit {i} (stage {i // 2 + 2}): {unit.layout()}" for i, unit in enumerate(self.spectrogram.units)]
        return head + units + ["head: max over time -> flatten -> BN -> dense"]

    def for_inference(self) -> TwoBranchEmbedder:
        """A copy with the batch norms that follow a layer folded into it (see :mod:`.inference`)."""
        return folded_copy(self)

    def regularization(self) -> torch.Tensor:
        """``l2 * sum(w**2)`` over the backbone conv/dense kernels (Keras ``l2(1e-5)`` regulariser)."""
        kernels = self.backbone_kernels()
        return self.l2 * torch.stack([w.square().sum() for w in kernels]).sum()
