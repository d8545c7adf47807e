"""The Speak page's play queue: sentences (or the pieces of one) are played one after another as
they arrive, in order even when the worker announces one late.

The sound card is an edge: `SoundPlayer` plays through core.audio.playback (PortAudio) and
returns at once; the queue waits the clip's length on a Qt timer before the next one. Tests give
the queue a fake player with the same two methods. Volume is applied here, at playback, so the
kept audio (history, phrase cache, exports) is never made quieter.
"""
from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from core.audio.capture import AudioDeviceError
from core.audio.io import AudioFileError

log = logging.getLogger(__name__)

HANDOVER_MS = 80        # the next clip is queued this long before the current one ends
NO_SOUND = ("No speaker or headphones were found, so nothing can be heard. The words are kept: "
            "replay them from “What was said” or save them as a file (Ctrl+S). ")


class Player(Protocol):
    def play(self, path: Path, volume: float) -> float:
        """Start playing and return at once; returns the clip's length in seconds."""

    def stop(self) -> None:
        ...


class SoundPlayer:
    """One continuous output: a clip handed over before the last one ends follows it without a
    gap (the pieces of a sentence made while it is being spoken)."""

    def __init__(self) -> None:
        from core.audio.playback import ContinuousOutput

        self.output = ContinuousOutput()

    def play(self, path: Path, volume: float) -> float:
        from core.audio.io import read_audio

        clip = read_audio(path, max_seconds=None)
        self.output.append(clip.samples * max(0.0, min(1.0, volume)), clip.sample_rate)
        return clip.duration

    def stop(self) -> None:
        self.output.stop()


class PlayQueue(QObject):
    started = Signal(object)    # Path: now playing
    idle = Signal()             # the queue ran dry (or was stopped)
    error = Signal(str)         # words for the banner

    def __init__(self, player: Player | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.player: Player = player or SoundPlayer()
        self.volume = 1.0
        self.current: Path | None = None
        self._queue: deque[Path] = deque()
        self._chunks: dict[int, Path] = {}      # sentences announced early, waiting for their turn
        self._next_chunk = 1
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next)

    @property
    def playing(self) -> bool:
        return self.current is not None

    @property
    def waiting(self) -> list[Path]:
        return list(self._queue)

    @property
    def chunks_queued(self) -> bool:
        """Whether any sentence of the current utterance was queued (if not, play the whole)."""
        return self._next_chunk > 1

    def start_utterance(self) -> None:
        """The next sentences announced are a new utterance's, numbered from 1."""
        self._chunks, self._next_chunk = {}, 1

    def add_chunk(self, step: int, path: Path) -> None:
        """Sentence `step` (from 1) is ready: queue it and those that waited for it, in order."""
        self._chunks[step] = Path(path)
        while self._next_chunk in self._chunks:     # in order, even if one came late
            self.enqueue(self._chunks.pop(self._next_chunk))
            self._next_chunk += 1

    def enqueue(self, path: Path) -> None:
        self._queue.append(Path(path))
        if not self.playing:
            self._next()

    def play_now(self, paths: list[Path]) -> None:
        self.stop(quiet=True)
        for path in paths:
            self._queue.append(Path(path))
        self._next()

    def stop(self, quiet: bool = False) -> None:
        was_playing = self.playing or bool(self._queue)
        self._timer.stop()
        self._queue.clear()
        self.current = None
        if was_playing:
            self.player.stop()
            if not quiet:
                self.idle.emit()

    def _next(self) -> None:
        self.current = None
        if not self._queue:
            self.idle.emit()
            return
        path = self._queue.popleft()
        try:
            seconds = self.player.play(path, self.volume)
        except AudioDeviceError as exc:
            self._queue.clear()
            log.warning("playback failed: %s", exc)     # the sound system's words, for the log
            self.error.emit(NO_SOUND + "Plug in a speaker or headphones, or check the computer's sound settings.")
            self.idle.emit()
            return
        except (AudioFileError, OSError) as exc:
            self.error.emit(f"A piece of the speech could not be played ({exc}); going on with the rest.")
            self._timer.start(0)
            return
        self.current = path
        self.started.emit(path)
        # The next clip is handed over a little before this one ends, so that it joins on.
        self._timer.start(max(0, int(round(seconds * 1000)) - HANDOVER_MS))
