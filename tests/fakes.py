"""A stand-in for sounddevice.InputStream: feeds numpy blocks to the recorder's callback from a thread.

It takes the same keyword arguments the Recorder passes to sounddevice.InputStream, so the
recorder code under test is the code users run; only the sound card is replaced.
"""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np


class FakeInputStream:
    def __init__(self, *, samplerate, channels, dtype, blocksize, device, callback,
                 finished_callback=None, source: np.ndarray | None = None,
                 pace: float = 0.0, unplug_after_s: float | None = None, loop: bool = False):
        assert dtype == "int16" and channels == 1
        self.samplerate = int(samplerate)
        self.blocksize = int(blocksize)
        self.callback = callback
        self.finished_callback = finished_callback
        src = np.zeros(0, np.float32) if source is None else np.asarray(source, np.float32)
        self.source = np.round(np.clip(src, -1, 1) * 32767).astype(np.int16)
        self.pace = pace                    # 1.0 = real time, 0 = as fast as possible (but never busy-spinning)
        self.unplug_after_s = unplug_after_s
        self.loop = loop
        self.active = False
        self.fed_frames = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self):
        self.active = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _next_block(self) -> np.ndarray:
        n, pos = self.blocksize, self.fed_frames
        if self.loop and len(self.source):
            idx = (np.arange(pos, pos + n) % len(self.source))
            return self.source[idx]
        block = self.source[pos:pos + n]
        if len(block) < n:  # after the source runs out the "room" is silent
            block = np.concatenate([block, np.zeros(n - len(block), np.int16)])
        return block

    def _run(self):
        block_s = self.blocksize / self.samplerate
        while not self._stop.is_set():
            if self.unplug_after_s is not None and self.fed_frames / self.samplerate >= self.unplug_after_s:
                self.active = False
                if self.finished_callback:
                    self.finished_callback()
                return
            block = self._next_block()
            self.callback(block.reshape(-1, 1), self.blocksize, None, SimpleNamespace(input_overflow=False))
            self.fed_frames += self.blocksize
            time.sleep(block_s * self.pace if self.pace else 0.0005)

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.active = False

    def close(self):
        self.stop()


def fake_stream_factory(source=None, **options):
    """A Recorder stream_factory whose streams play `source` (float32 at 48 kHz) as the microphone."""
    created: list[FakeInputStream] = []

    def factory(**kwargs):
        stream = FakeInputStream(**kwargs, source=source, **options)
        created.append(stream)
        return stream

    factory.created = created
    return factory
