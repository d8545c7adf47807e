"""Playing a take back through PortAudio; failures become AudioDeviceError with advice."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.audio.capture import AudioDeviceError, _sounddevice
from core.audio.io import read_audio


def play(samples: np.ndarray, sample_rate: int, device: int | None = None) -> None:
    """Start playing and return at once; `stop()` ends it early."""
    sd = _sounddevice()
    try:
        sd.play(np.asarray(samples, dtype=np.float32), sample_rate, device=device)
    except Exception as exc:
        raise AudioDeviceError(
            "The take could not be played: no speaker or headphones were found "
            f"({exc}). Plug some in, or check the system's sound settings."
        ) from exc


def play_file(path: Path, device: int | None = None) -> float:
    """Play a file; returns its duration in seconds."""
    clip = read_audio(path)
    play(clip.samples, clip.sample_rate, device)
    return clip.duration


def stop() -> None:
    try:
        _sounddevice().stop()
    except AudioDeviceError:
        pass
