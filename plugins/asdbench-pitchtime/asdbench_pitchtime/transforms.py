"""Batched pitch shifting and time stretching in torch, with the output as long as the input.

Both are built from two primitives:

* :func:`phase_vocoder` changes the duration without changing the pitch (STFT, re-sampled frame
  grid, phases advanced by each peak's instantaneous frequency with identity phase locking,
  inverse STFT);
* :func:`fft_resample` changes the number of samples of a band-limited signal exactly (truncate
  or zero-pad the spectrum), which at a fixed sample rate scales every frequency.

A pitch shift by ``s`` semitones (ratio ``f = 2**(s/12)``) stretches the clip to ``f`` times its
length and resamples it back to the original length: duration restored, frequencies times ``f``.
A time stretch by ``rate`` (``> 1``: faster) plays the clip ``rate`` times faster; to keep the
length the input is first extended circularly (tiled, as DCASE clips already are) to the
``rate * L`` samples the stretched output needs, so a faster clip ends in signal, not silence
(the one seam sits where the clip repeats, as in a tiled DCASE clip).
Both happen in one vocoder pass (rate ``rate / f``) followed by one resampling.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch



def tile_to(wave: torch.Tensor, length: int) -> torch.Tensor:
    """``B x L`` -> ``B x length`` by repeating the clip (circular extension) or cropping."""
    current = wave.shape[-1]
    if length <= current:
        return wave[..., :length]
    reps = math.ceil(length / current)
    return wave.repeat(*([1] * (wave.dim() - 1)), reps)[..., :length]


def fft_resample(wave: torch.Tensor, length: int) -> torch.Tensor:
    """Band-limited resampling of ``B x M`` to ``B x length`` samples (spectrum truncated or padded).

    Exact for periodic band-limited signals; when shortening, the truncation is the anti-alias
    filter. Amplitudes are preserved (the spectrum is rescaled by ``length / M``).
    """
    import torch
    current = wave.shape[-1]
    if length == current:
        return wave
    spectrum = torch.fft.rfft(wave, dim=-1)
    n_bins = length // 2 + 1
    if spectrum.shape[-1] >= n_bins:
        spectrum = spectrum[..., :n_bins]
    else:
        spectrum = torch.nn.functional.pad(spectrum, (0, n_bins - spectrum.shape[-1]))
    return torch.fft.irfft(spectrum, n=length, dim=-1) * (length / current)


def phase_vocoder(wave: torch.Tensor, rate: float, length: int, n_fft: int = 1024,
                  hop_length: int = 256) -> torch.Tensor:
    """Play circular ``B x N`` clips ``rate`` times faster, keeping the pitch; returns ``B x length``.

    The clip is treated as periodic (DCASE clips are tiled to length anyway): it is extended
    by tiling to the ``rate * length`` samples the output needs, and the first analysis frame
    sees the clip's end as its left context, as it would in a tiled clip.
    Magnitudes are interpolated linearly between neighbouring analysis frames; the phases of
    spectral peaks advance by their measured instantaneous frequency and the other bins are
    locked to their peak (see :func:`_locked_phases`), which keeps stationary partials (machine
    hum) coherent across frames, seams and transients.
    """
    import torch
    half = n_fft // 2
    total = wave.shape[-1]
    needed = math.ceil(rate * length) + n_fft + hop_length
    # The samples just before the clip's start, circularly: the end of the (repeated) clip.
    context = tile_to(wave, total * math.ceil(half / total))[..., -half:]
    x = torch.cat([context, tile_to(wave, needed)], dim=-1)
    window = torch.hann_window(n_fft, device=wave.device, dtype=wave.dtype)
    # center=False on the left-padded input: frame j is centred on sample j*hop of the clip.
    # Frames first, bins last (T x F per clip): the loop and the peak search then read contiguous rows.
    spec = torch.stft(x, n_fft, hop_length, window=window, center=False, return_complex=True).transpose(-1, -2)
    n_in = spec.shape[-2]
    n_out = length // hop_length + 1
    steps = torch.arange(n_out, device=wave.device, dtype=torch.float64) * rate
    left = steps.floor().long().clamp(max=n_in - 1)
    right = (left + 1).clamp(max=n_in - 1)
    alpha = (steps - steps.floor()).to(wave.dtype)[:, None]

    before = spec[..., left, :]
    after = spec[..., right, :]
    mag = before.abs() * (1 - alpha) + after.abs() * alpha
    in_phase = before.angle()
    # Expected phase advance of bin k over one hop plus the measured deviation from it: the
    # bin's instantaneous frequency, in radians per hop (only needed modulo 2*pi).
    omega = torch.linspace(0, math.pi * hop_length, spec.shape[-1], device=wave.device, dtype=wave.dtype)
    advance = _wrap(omega + _wrap(torch.angle(after * before.conj()) - omega))
    out_phase = _locked_phases(mag, in_phase, advance)
    out = torch.polar(mag, out_phase).transpose(-1, -2)
    return torch.istft(out, n_fft, hop_length, window=window, center=True, length=length)


def _nearest_peak(mag: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """For every bin (last axis) the nearest local magnitude maximum within ``radius`` bins.

    A bin with no peak that close is its own peak (plain phase-vocoder propagation). The
    radius covers a Hann window's main lobe (+-2 bins) with margin; a bounded search is a
    handful of element-wise passes, where an unbounded one needs slow cumulative scans.
    """
    import torch
    n_bins = mag.shape[-1]
    lower = torch.nn.functional.pad(mag[..., :-1], (1, 0), value=-1.0)
    upper = torch.nn.functional.pad(mag[..., 1:], (0, 1), value=-1.0)
    peak = (mag >= lower) & (mag > upper)
    # Offsets are found with int8/bool passes (cheap); the int64 index is built once at the end.
    offset = torch.zeros(mag.shape, dtype=torch.int8, device=mag.device)
    found = peak.clone()
    for distance in range(1, radius + 1):
        # A peak `distance` bins below (then above) each bin not yet matched; ties go to the lower.
        take = peak[..., :-distance] & ~found[..., distance:]
        offset[..., distance:].masked_fill_(take, -distance)
        found[..., distance:] |= take
        take = peak[..., distance:] & ~found[..., :-distance]
        offset[..., :-distance].masked_fill_(take, distance)
        found[..., :-distance] |= take
    return torch.arange(n_bins, device=mag.device) + offset.long()


def _locked_phases(mag: torch.Tensor, in_phase: torch.Tensor, advance: torch.Tensor) -> torch.Tensor:
    """Synthesis phases (``... x T x F``) with identity phase locking (Laroche and Dolson, 1999).

    Each frame's spectral peaks advance by their instantaneous frequency from the previous
    synthesis frame; every other bin keeps its analysis phase offset to the nearest peak. Without
    the locking, one frame with a transient (or a tiling seam) leaves the bins of a stationary
    partial with inconsistent phases for the rest of the clip, which makes them interfere and
    loses up to a third of the level.
    """
    import torch
    peaks = _nearest_peak(mag)
    relative = in_phase - torch.gather(in_phase, -1, peaks)
    # Time first: every step of the (inherently sequential) loop reads one contiguous block.
    advance, peaks, relative = (x.movedim(-2, 0).contiguous() for x in (advance, peaks, relative))
    phases = torch.empty_like(advance)
    current = in_phase[..., 0, :]
    phases[0] = current
    for t in range(1, phases.shape[0]):
        propagated = current + advance[t - 1]
        current = torch.gather(propagated, -1, peaks[t]) + relative[t]
        phases[t] = current
    return phases.movedim(0, -2)


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    """Angles mapped to [-pi, pi]."""
    import torch
    return angle - 2 * math.pi * torch.round(angle / (2 * math.pi))


def pitch_time(wave: torch.Tensor, semitones: float, rate: float, n_fft: int = 1024,
               hop_length: int = 256) -> torch.Tensor:
    """Shift ``B x L`` waveforms by ``semitones`` and speed them up by ``rate``; output ``B x L``.

    ``semitones == 0`` and ``rate == 1`` return the input unchanged (no round trip through the
    STFT). Works on any device and on float16/bfloat16 input (computed in float32).
    """
    import torch
    if semitones == 0 and rate == 1:
        return wave
    length = wave.shape[-1]
    dtype = wave.dtype
    x = wave.float() if dtype in (torch.float16, torch.bfloat16) else wave
    ratio = 2.0 ** (semitones / 12.0)
    stretched_length = max(1, round(length * ratio))
    vocoder_rate = rate / ratio
    if vocoder_rate == 1:  # e.g. one octave up and twice as fast: resampling alone does it
        stretched = tile_to(x, stretched_length)
    else:
        stretched = phase_vocoder(x, vocoder_rate, stretched_length, n_fft, hop_length)
    return fft_resample(stretched, length).to(dtype)
