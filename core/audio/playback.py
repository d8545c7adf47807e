"""Playing a take back through PortAudio; failures become AudioDeviceError with advice."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core.audio.capture import AudioDeviceError, _sounddevice
from core.audio.io import read_audio

log = logging.getLogger(__name__)


def play(samples: np.ndarray, sample_rate: int, device: int | None = None) -> None:
    """Start playing and return at once; `stop()` ends it early."""
    sd = _sounddevice()
    try:
        sd.play(np.asarray(samples, dtype=np.float32), sample_rate, device=device)
    except Exception as exc:
        # PortAudio's own words ("Error querying device -1") mean nothing to the person: logged only
        log.warning("playback failed: %s", exc)
        raise AudioDeviceError(
            "The take could not be played: no speaker or headphones were found. "
            "Plug some in, or check the computer's sound settings."
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
