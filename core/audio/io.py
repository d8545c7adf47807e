"""Audio files in and out: reading anything soundfile can open, resampling, atomic WAV writes.

Every failure a user can cause (a corrupt file, a renamed text file, an empty recording, a
two-hour file given where a take is expected) becomes an `AudioFileError` whose message says
what happened and what to do; callers show it and carry on.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

BANK_SAMPLE_RATE = 48_000   # raw takes: 48 kHz mono PCM16 (RNNoise's native rate)
MAX_TAKE_SECONDS = 600.0    # longer files are not takes; analysing them would take minutes


class AudioFileError(Exception):
    """A problem with an audio file, worded for the person who chose the file."""


@dataclass
class AudioClip:
    samples: np.ndarray        # float32, mono, nominally in [-1, 1]
    sample_rate: int
    channels: int              # channels in the file before the mix-down
    subtype: str               # e.g. PCM_16, PCM_24, FLOAT, VORBIS
    format: str                # e.g. WAV, FLAC, OGG
    path: Path | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


def describe_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {s:02d} s"
    return f"{s} s"


def probe(path: str | os.PathLike) -> sf._SoundFileInfo:
    """soundfile's header info, with every failure turned into an AudioFileError."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path} does not exist. Check the name and the folder.")
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not an audio file.")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path.name} is empty (0 bytes): nothing was recorded into it.")
    try:
        return sf.info(str(path))
    except Exception as exc:  # libsndfile raises several types; all mean "cannot read"
        raise AudioFileError(
            f"{path.name} is not an audio file this app can read ({_short(exc)}). "
            "Use WAV, FLAC or OGG; if it came from another program, export it again as WAV."
        ) from exc


def read_audio(path: str | os.PathLike, *, max_seconds: float | None = MAX_TAKE_SECONDS) -> AudioClip:
    """Read a file as float32 mono at its own sample rate (stereo is averaged)."""
    path = Path(path)
    info = probe(path)
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFileError(f"{path.name} holds no audio (0 samples).")
    duration = info.frames / info.samplerate
    if max_seconds is not None and duration > max_seconds:
        raise AudioFileError(
            f"{path.name} is {describe_duration(duration)} long; a take is at most "
            f"{describe_duration(max_seconds)}. Cut it into single sentences first."
        )
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioFileError(
            f"{path.name} is damaged: its header reads but the audio does not ({_short(exc)})."
        ) from exc
    if data.size == 0:
        raise AudioFileError(f"{path.name} holds no audio (0 samples).")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(mono)):
        # float WAVs can carry NaN/inf; treat them as silence rather than poisoning every figure
        mono = np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0)
    return AudioClip(
        samples=np.ascontiguousarray(mono, dtype=np.float32),
        sample_rate=int(rate),
        channels=info.channels,
        subtype=info.subtype,
        format=info.format,
        path=path,
    )


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling by the exact rational ratio (48k<->16k, 44.1k->48k, ...)."""
    samples = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate or samples.size == 0:
        return samples.copy()
    from scipy.signal import resample_poly  # imported here: scipy.signal costs app start-up time

    ratio = Fraction(to_rate, from_rate)
    out = resample_poly(samples, ratio.numerator, ratio.denominator)
    return out.astype(np.float32, copy=False)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> int16 with clipping (the way a sound card would)."""
    x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return np.round(x * 32767.0).astype(np.int16)


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int,
              subtype: str = "PCM_16") -> Path:
    """Write a mono WAV atomically: a crash leaves either the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
    os.close(fd)
    try:
        sf.write(tmp, np.asarray(samples), sample_rate, subtype=subtype, format="WAV")
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _fsync(path: str | os.PathLike) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
