"""Builds the awkward audio files users actually have: every format, rate, and kind of damage."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds=1.0, rate=48000, freq=220.0, amp=0.3):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_bad_inputs(folder: Path) -> dict[str, Path]:
    """name -> path of each case the recorder issue lists."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}

    def write(name, data, rate, **kw):
        path = folder / name
        sf.write(str(path), data, rate, **kw)
        out[name] = path

    write("stereo.wav", np.stack([tone(), tone(freq=330)], axis=1), 48000, subtype="PCM_16")
    write("rate8k.wav", tone(rate=8000), 8000, subtype="PCM_16")
    write("rate96k.wav", tone(rate=96000), 96000, subtype="PCM_16")
    write("float.wav", tone() * 1.0, 48000, subtype="FLOAT")
    write("pcm24.wav", tone(), 48000, subtype="PCM_24")
    write("silent.wav", np.zeros(48000, np.float32), 48000, subtype="PCM_16")
    write("take.flac", tone(), 48000, format="FLAC")
    write("take.ogg", tone(), 48000, format="OGG", subtype="VORBIS")
    (folder / "empty.wav").write_bytes(b"")
    out["empty.wav"] = folder / "empty.wav"
    (folder / "notes.wav").write_text("these are my notes, not audio\n" * 20)
    out["notes.wav"] = folder / "notes.wav"
    good = folder / "good.wav"
    sf.write(str(good), tone(), 48000, subtype="PCM_16")
    corrupt = folder / "corrupt.wav"
    raw = bytearray(good.read_bytes())
    raw[:12] = b"RIFF\xff\xff\xff\xffWAVX"     # a damaged RIFF header
    corrupt.write_bytes(bytes(raw))
    out["corrupt.wav"] = corrupt
    truncated = folder / "header-only.wav"
    truncated.write_bytes(good.read_bytes()[:44])
    out["header-only.wav"] = truncated
    return out


def make_two_hour_file(path: Path) -> Path:
    """Two hours of near-silence as FLAC (small on disk, cheap to write in chunks)."""
    rate = 8000
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=1, format="FLAC", subtype="PCM_16") as fh:
        chunk = np.zeros(rate * 60, np.int16)
        for _ in range(120):
            fh.write(chunk)
    return path
