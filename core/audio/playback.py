"""Playing a take back through PortAudio; failures become AudioDeviceError with advice.

`play` starts one clip; `ContinuousOutput` keeps one stream open while pieces are appended, so
the pieces of a sentence (made while it is still being spoken) follow each other without a gap.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
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


class ContinuousOutput:
    """One output stream fed clip by clip; it stops by itself once everything has played."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pieces: deque[np.ndarray] = deque()
        self._stream = None
        self._rate = 0
        self._ended = False

    def append(self, samples: np.ndarray, sample_rate: int, device: int | None = None) -> None:
        """Play `samples` after what is still playing (a new stream if none is running)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            # `_ended`: the callback has seen the end and stopped the stream; it takes no more.
            if self._stream is not None and not self._ended and self._rate == sample_rate:
                self._pieces.append(samples)
                return
        self._close()
        with self._lock:
            self._pieces, self._ended = deque([samples]), False
        sd = _sounddevice()
        try:
            stream = sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32",
                                     device=device, callback=self._callback)
            stream.start()
        except Exception as exc:
            log.warning("playback failed: %s", exc)
            raise AudioDeviceError(
                "The speech could not be played: no speaker or headphones were found. "
                "Plug some in, or check the computer's sound settings.") from exc
        self._stream, self._rate = stream, sample_rate

    def fill(self, out: np.ndarray) -> bool:
        """Fill `out` (frames,) from the pieces waiting; False once nothing is left to play."""
        filled = 0
        with self._lock:
            while filled < len(out) and self._pieces:
                piece = self._pieces[0]
                take = min(len(piece), len(out) - filled)
                out[filled:filled + take] = piece[:take]
                filled += take
                if take == len(piece):
                    self._pieces.popleft()
                else:
                    self._pieces[0] = piece[take:]
            more = bool(self._pieces) or filled == len(out)
            self._ended = not more
        out[filled:] = 0.0
        return more

    def _callback(self, outdata, frames, time_info, status) -> None:
        if not self.fill(outdata[:, 0]):
            raise _sounddevice().CallbackStop   # the rest of this block plays, then the stream ends

    def stop(self) -> None:
        with self._lock:
            self._pieces.clear()
        self._close()

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:     # a device that went away while playing
                log.warning("closing the output stream failed: %s", exc)
