"""Audio files in and out: reading anything soundfile can open, resampling, atomic WAV writes.

Every failure a user can cause (a corrupt file, a renamed text file, an empty recording, a
two-hour file given where a take is expected) becomes an `AudioFileError` whose message says
what happened and what to do; callers show it and carry on.
"""
from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from core.textcheck import printable

BANK_SAMPLE_RATE = 48_000   # raw takes: 48 kHz mono PCM16 (RNNoise's native rate)
MAX_TAKE_SECONDS = 600.0    # longer files are not takes; analysing them would take minutes
CUT_OFF_MIN_S = 0.010       # a file missing less than one 10 ms frame is not called cut off


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
    expected_frames: int | None = None   # set when the header promises more than the file holds
    nonfinite: int = 0         # NaN/inf samples in the file (read as silence / full scale)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0

    @property
    def cut_off(self) -> bool:
        return self.expected_frames is not None

    def cut_off_message(self) -> str:
        """"X is cut off: it should last 12 s but only 4 s are in the file." ('' when it is whole)."""
        if self.expected_frames is None:
            return ""
        expected = self.expected_frames / self.sample_rate
        def secs(x: float) -> str:     # tenths under 2 s: "0.5 s", not "0 s"
            return f"{x:.1f} s" if x < 2 else describe_duration(x)

        whole, there = secs(expected), secs(self.duration)
        if whole == there:          # a small loss: show tenths so the two figures differ
            whole, there = f"{expected:.1f} s", f"{self.duration:.1f} s"
        verb = "is" if there in ("1 s", "1.0 s") else "are"
        return (f"{display_name(self.path) if self.path else 'The file'} is cut off: it should last "
                f"{whole} but only {there} {verb} in the file.")

    def damaged_message(self) -> str:
        """Says how many samples were not numbers ('' when none)."""
        if not self.nonfinite:
            return ""
        return (f"{display_name(self.path) if self.path else 'The file'} has {self.nonfinite} damaged "
                "sample(s) that are not numbers (NaN or infinity).")


def describe_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {s:02d} s"
    return f"{s} s"


def display_name(path: str | os.PathLike) -> str:
    """A file's name for a message: never raises, even for names that are not UTF-8."""
    return printable(Path(path).name or str(path))


def sf_path(path: str | os.PathLike) -> str | bytes:
    """The path to hand to soundfile. soundfile encodes str paths as UTF-8, which fails for a
    name that is not UTF-8 (a file from another computer); as bytes it opens any name."""
    return os.fspath(path) if os.name == "nt" else os.fsencode(path)


def probe(path: str | os.PathLike) -> sf._SoundFileInfo:
    """soundfile's header info, with every failure turned into an AudioFileError."""
    path = Path(path)
    name, shown = display_name(path), printable(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioFileError(f"{shown} does not exist. Check the name and the folder.") from None
    except PermissionError:
        raise AudioFileError(f"You do not have permission to open {shown}. Copy the file to a folder "
                             "of yours (for example your home folder) and choose it there.") from None
    except OSError as exc:
        raise AudioFileError(f"{shown} cannot be opened ({exc.strerror or exc}). Check the disk or "
                             "the USB stick it is on, then try again.") from exc
    if stat.S_ISDIR(st.st_mode):
        raise AudioFileError(f"{shown} is a folder, not an audio file. Choose one of the files inside it.")
    if not stat.S_ISREG(st.st_mode):     # a pipe or a device would block or never end
        raise AudioFileError(f"{shown} is not an ordinary file (it is a device or a pipe). "
                             "Choose an audio file saved on the disk.")
    if st.st_size == 0:
        raise AudioFileError(f"{name} is empty (0 bytes): nothing was recorded into it.")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise AudioFileError(f"You do not have permission to read {name}. Copy the file to a folder "
                             "of yours (for example your home folder) and choose it there, or ask the "
                             "person who owns this computer for access.") from None
    except OSError as exc:
        raise AudioFileError(f"{name} cannot be read ({exc.strerror or exc}). Check the disk or the "
                             "USB stick it is on, then try again.") from exc
    try:
        return sf.info(sf_path(path))
    except Exception as exc:  # libsndfile raises several types; all mean "cannot read"
        raise AudioFileError(
            f"{name} is not an audio file this app can read ({_short(exc)}). "
            "Use WAV, FLAC or OGG; if it came from another program, export it again as WAV."
        ) from exc


def _wav_declared_frames(path: Path, file_size: int) -> tuple[int, int] | None:
    """(frames the RIFF header's data chunk declares, frames the file holds), or None when the
    file is not a plain RIFF/WAVE or its data size is a streaming placeholder. libsndfile
    silently shortens a truncated WAV to what is there, so the header is read here."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = 0
            pos = 12
            while pos + 8 <= file_size:
                fh.seek(pos)
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"fmt ":
                    fmt = fh.read(min(size, 16))
                    if len(fmt) >= 14:
                        block_align = struct.unpack("<H", fmt[12:14])[0]
                elif cid == b"data":
                    if not block_align or size in (0, 0xFFFFFFFF):
                        return None
                    there = max(0, file_size - (pos + 8))
                    return size // block_align, min(size, there) // block_align
                pos += 8 + size + (size & 1)
    except OSError:
        return None
    return None


def _read_partial(path: Path, info) -> np.ndarray | None:
    """What can be decoded of a compressed file that breaks off (FLAC: "lost sync"), or None."""
    blocks = []
    try:
        with sf.SoundFile(sf_path(path)) as fh:
            step = max(1, info.samplerate // 10)
            while True:
                block = fh.read(step, dtype="float32", always_2d=True)
                if not len(block):
                    break
                blocks.append(block)
    except Exception:
        pass
    return np.concatenate(blocks) if blocks else None


def read_audio(path: str | os.PathLike, *, max_seconds: float | None = MAX_TAKE_SECONDS,
               whole: bool = False) -> AudioClip:
    """Read a file as float32 mono at its own sample rate (stereo is averaged).

    A file that is cut off (its header promises more audio than it holds) is read as far as it
    goes and flagged (`clip.cut_off`, `clip.cut_off_message()`); with `whole=True` it is refused.
    NaN/inf samples are counted in `clip.nonfinite` and read as silence / full scale."""
    path = Path(path)
    info = probe(path)
    name = display_name(path)
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFileError(f"{name} holds no audio (0 samples).")
    duration = info.frames / info.samplerate
    if max_seconds is not None and duration > max_seconds:
        raise AudioFileError(
            f"{name} is {describe_duration(duration)} long; a take is at most "
            f"{describe_duration(max_seconds)}. Cut it into single sentences first."
        )
    expected: int | None = None
    try:
        data, rate = sf.read(sf_path(path), dtype="float32", always_2d=True)
    except Exception as exc:
        data, rate = _read_partial(path, info), info.samplerate
        if data is None:
            raise AudioFileError(
                f"{name} is damaged: its header reads but the audio does not ({_short(exc)})."
            ) from exc
        expected = info.frames
    if info.format == "WAV":
        declared = _wav_declared_frames(path, path.stat().st_size)
        if declared and declared[0] > declared[1]:
            expected = declared[0]
    if expected is not None and (expected - len(data)) / rate < CUT_OFF_MIN_S:
        expected = None
    if data.size == 0:
        raise AudioFileError(f"{name} holds no audio (0 samples).")
    nonfinite = int(np.count_nonzero(~np.isfinite(data)))
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(mono)):
        # float WAVs can carry NaN/inf; treat them as silence rather than poisoning every figure
        mono = np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0)
    clip = AudioClip(
        samples=np.ascontiguousarray(mono, dtype=np.float32),
        sample_rate=int(rate),
        channels=info.channels,
        subtype=info.subtype,
        format=info.format,
        path=path,
        expected_frames=expected,
        nonfinite=nonfinite,
    )
    if whole and clip.cut_off:
        raise AudioFileError(f"{clip.cut_off_message()} It may have been copied or saved only in part: "
                             "export or copy it again in full, then try again.")
    return clip


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
    """Write a mono WAV atomically: a crash leaves either the old file or the new one, never half.
    The WAV is encoded in memory and written with plain file writes, so a full disk raises
    core.diskspace.DiskFullError (libsndfile would only say "System error")."""
    import io

    from core.diskspace import write_bytes_atomic

    path = Path(path)
    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(samples), sample_rate, subtype=subtype, format="WAV")
    return write_bytes_atomic(path, buffer.getbuffer(), failed=f"{path.name} could not be written")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
