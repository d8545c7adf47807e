"""Save what was said as one audio file: WAV, FLAC or OGG (Vorbis), chosen by the file name.

Several utterances are joined in order with a short pause; clips at other sample rates are
resampled to the first one's. The file is written beside the target and renamed, so a full disk
or a cancelled write never leaves half a file under the chosen name.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import soundfile as sf

from core.audio.io import AudioFileError, read_audio, resample
from core.diskspace import DiskFullError, write_bytes_atomic

FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
GAP_S = 0.4


class ExportError(Exception):
    """The file could not be saved; the message says why and what to do."""


def suggested_name(text: str) -> str:
    """The file name offered for saving `text`: its first words (Chinese kept as it is), with
    everything but letters and digits turned into "-" so it is safe on any disk, as WAV."""
    words = "".join(c if c.isalnum() else "-" for c in text[:40])
    name = re.sub(r"-+", "-", words).strip("-")
    return (name or "speech") + ".wav"


def with_default_suffix(path: Path) -> Path:
    """A chosen name without a file type is saved as WAV."""
    path = Path(path)
    return path if path.suffix else path.with_suffix(".wav")


def export_audio(sources: list[Path], out: Path, gap_s: float = GAP_S) -> Path:
    out = Path(out)
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise ExportError(f"“{out.name}” does not end in .wav, .flac or .ogg. Choose one of those "
                          "file types.")
    if not sources:
        raise ExportError("Nothing has been said yet, so there is nothing to save. Speak first.")
    if not out.parent.is_dir():
        raise ExportError(f"The folder {out.parent} does not exist. Choose another folder.")
    pieces, rate = [], None
    for source in sources:
        try:
            clip = read_audio(source, max_seconds=None)
        except AudioFileError as exc:
            raise ExportError(f"The audio of what was said could not be read ({exc}).") from exc
        samples = clip.samples if clip.samples.ndim == 1 else clip.samples.mean(axis=1)
        if rate is None:
            rate = clip.sample_rate
        elif clip.sample_rate != rate:
            samples = resample(samples, clip.sample_rate, rate)
        if pieces and gap_s > 0:
            pieces.append(np.zeros(int(gap_s * rate), np.float32))
        pieces.append(np.asarray(samples, np.float32))
    audio = np.clip(np.concatenate(pieces), -1.0, 1.0)
    fmt, subtype = kind
    # Encoded in memory, then written with plain file writes via a hidden temp file and renamed:
    # a full disk raises an error with its errno (libsndfile only says "System error") and never
    # leaves half a file under the chosen name.
    buffer = io.BytesIO()
    try:
        # Vorbis at libsndfile's default is ~33 kbit/s; 0.1 gives ~64 kbit/s, which keeps speech
        # clear and the watermark readable in any 3 s excerpt.
        extra = {"compression_level": 0.1} if fmt == "OGG" else {}
        sf.write(buffer, audio, rate, format=fmt, subtype=subtype, **extra)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ExportError(f"{out.name} could not be made ({exc}). Try WAV instead.") from exc
    try:
        write_bytes_atomic(out, buffer.getbuffer(), failed=f"{out.name} was not saved",
                           needed_bytes=buffer.getbuffer().nbytes)
    except DiskFullError as exc:
        raise ExportError(str(exc)) from exc
    except PermissionError as exc:
        raise ExportError(f"You may not write to {out.parent}. Choose another folder.") from exc
    except OSError as exc:
        raise ExportError(f"{out.name} could not be saved ({exc.strerror or exc}). Choose another "
                          "folder.") from exc
    return out
