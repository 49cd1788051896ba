"""Reading one audio file as float32 mono, and bringing it to the dataset's clip length.

Every failure is a :class:`DataError` whose message starts with the file, so a loader can record
it as one problem line and carry on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..components import Clip, Dataset, LengthPolicy
from ..errors import ConfigError, DataError

LENGTH_MODES = ("tile_crop", "head")


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says (no samples decoded)."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "error_string", None) or str(exc)
    return text.strip().rstrip(".") or type(exc).__name__


def _wav_truncation(path: Path) -> str | None:
    """A reason when a RIFF/WAVE file is shorter than its ``data`` chunk declares, else None.

    libsndfile silently returns the samples that are there, so a half-copied file would
    otherwise pass as a shorter clip. Streaming writers put 0 or 0xFFFFFFFF in the size field;
    those (and RF64, non-RIFF formats) are not checked.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            handle.seek(pos)
            chunk = handle.read(8)
            chunk_id, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if chunk_id == b"data":
                if length in (0, 0xFFFFFFFF):
                    return None
                available = size - (pos + 8)
                if available < length:
                    return f"truncated file: the data chunk declares {length} bytes but only {available} are present"
                return None
            pos += 8 + length + (length & 1)
    return None


def probe_audio(path: str | Path) -> AudioInfo:
    """Header of one audio file, checked for being readable, non-empty and not truncated."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: not a readable audio file (empty file, 0 bytes)")
        info = sf.info(str(path))
        truncated = _wav_truncation(path)
    except (RuntimeError, OSError, ValueError, TypeError) as exc:  # LibsndfileError is a RuntimeError
        raise DataError(f"{path}: not a readable audio file ({_reason(exc)})") from exc
    if truncated:
        raise DataError(f"{path}: {truncated}")
    if info.frames <= 0:
        raise DataError(f"{path}: contains no audio samples")
    return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype)


def read_audio(path: str | Path, expected_rate: int, resample: bool = False) -> np.ndarray:
    """The file as float32 mono (channels averaged) at ``expected_rate``.

    A different native rate is an error naming the file and both rates, unless ``resample`` is
    true; then the signal is converted with soxr (high quality).
    """
    path = Path(path)
    try:
        with sf.SoundFile(str(path)) as handle:
            rate, declared = int(handle.samplerate), int(handle.frames)
            data = handle.read(dtype="float32", always_2d=True)
        truncated = _wav_truncation(path)
    except (RuntimeError, OSError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: not a readable audio file ({_reason(exc)})") from exc
    if truncated:
        raise DataError(f"{path}: {truncated}")
    if data.shape[0] == 0:
        raise DataError(f"{path}: contains no audio samples")
    if data.shape[0] < declared:
        raise DataError(f"{path}: truncated file: header declares {declared} frames, only {data.shape[0]} could be decoded")
    if not np.isfinite(data).all():
        raise DataError(f"{path}: contains NaN or infinite sample values")
    mono = data[:, 0].copy() if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float64).astype(np.float32)
    if rate != expected_rate:
        if not resample:
            raise DataError(
                f"{path}: sample rate is {rate} Hz but the dataset uses {expected_rate} Hz "
                "(convert the file, or ask for resampling: resample=True / --resample)"
            )
        mono = resample_audio(mono, rate, expected_rate)
    return mono


def decode_notes(path: Path, info: AudioInfo, expected_rate: int, resample: bool = False) -> list[str]:
    """Decode ``path`` as a run would (DataError when it cannot be used) and say what the
    conversion changes: a multichannel mix-down, float samples beyond ±1 that the int16 cache clips."""
    mono = read_audio(path, expected_rate, resample)
    notes = []
    if info.channels > 1:
        notes.append(f"{path}: {info.channels} channels, mixed down to mono (their mean)")
    beyond = int(np.count_nonzero(np.abs(mono) > 1.0))
    if beyond:
        notes.append(f"{path}: {beyond} sample(s) beyond ±1.0 ({info.subtype} input), clipped in the int16 clip cache")
    return notes


def resample_audio(wave: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling with soxr (quality 'HQ'); soxr is an optional dependency."""
    try:
        import soxr
    except ImportError as exc:  # pragma: no cover - soxr is installed in the test environment
        raise ConfigError("resampling needs the 'soxr' package: pip install 'asdbench[resample]'") from exc
    return np.ascontiguousarray(soxr.resample(wave, rate, target_rate, quality="HQ"), dtype=np.float32)


def stable_hash(key: str) -> int:
    """A 64-bit hash of ``key`` that is the same in every process and Python version."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def check_policy(policy: LengthPolicy) -> None:
    if policy.mode not in LENGTH_MODES:
        raise ConfigError(f"length policy mode {policy.mode!r} is not one of {', '.join(LENGTH_MODES)}")
    if policy.samples <= 0:
        raise ConfigError(f"length policy samples must be positive, got {policy.samples}")
    if policy.seed < 0:
        raise ConfigError(f"length policy seed must be >= 0, got {policy.seed}")


def crop_offset(length: int, policy: LengthPolicy, key: str) -> int:
    """Start of the crop in the tiled clip: seeded by ``(policy.seed, stable_hash(key))``.

    Depending only on the seed and the clip's key (not on the order clips are read in) keeps the
    crop reproducible across runs, processes and subsets. ``head`` always starts at 0.
    """
    check_policy(policy)
    if policy.mode == "head":
        return 0
    reps = -(-policy.samples // length)
    slack = reps * length - policy.samples
    if slack == 0:
        return 0
    rng = np.random.default_rng([policy.seed, stable_hash(key)])
    return int(rng.integers(0, slack + 1))


def fit_length(wave: np.ndarray, policy: LengthPolicy, key: str) -> np.ndarray:
    """``wave`` brought to ``policy.samples`` samples.

    ``tile_crop`` (DCASE2023): tile ``ceil(samples/len)`` times, crop at :func:`crop_offset`.
    ``head`` (DCASE2022): the first ``samples`` samples, tiled first when the clip is shorter.
    """
    check_policy(policy)
    length = int(wave.shape[0])
    if length == 0:
        raise DataError(f"{key}: contains no audio samples")
    reps = -(-policy.samples // length)
    offset = crop_offset(length, policy, key)
    tiled = np.tile(wave, reps) if reps > 1 else wave
    return np.ascontiguousarray(tiled[offset : offset + policy.samples], dtype=np.float32)


def clip_key(clip: Clip) -> str:
    """Location-independent identity of a clip: ``<split>/<machine>/<folder>/<file name>``.

    Used to seed its crop and in cache keys, so moving the dataset root does not change either.
    The folder is taken from the path (not ``clip.subset``) so re-labelling a test clip as
    training data keeps its crop.
    """
    return f"{clip.split}/{clip.machine}/{clip.path.parent.name}/{clip.path.name}"


def load_clip(clip: Clip, dataset: Dataset) -> np.ndarray:
    """One clip decoded and fitted exactly as the cache stores it (float32, policy length)."""
    wave = read_audio(clip.path, dataset.sample_rate, dataset.resample)
    return fit_length(wave, dataset.length_policy, clip_key(clip))
