"""Microphone capture through PortAudio (sounddevice), with no Qt in sight.

The audio callback only copies blocks into a queue and updates the level; a writer thread drains
the queue into a sink (a take on disk, or a buffer for the room-tone check). A sink that cannot
write (the disk is full) stops the queue at once, so unwritten audio never piles up in memory, and
its worded error is `RecorderStatus.write_error`. The GUI polls
`Recorder.status()` from a timer. Tests pass a `stream_factory` that feeds numpy blocks from a
thread, so everything but PortAudio itself is exercised without a sound card.

Test hook: with VOICEBANK_FAKE_INPUT=<file.wav> set, the microphone is that file, played in real
time and looped (one input device named "Test input"). The installer's smoke test uses it to record
with a built bundle on a machine without a sound card; nothing else sets it.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from core.audio.io import BANK_SAMPLE_RATE

BLOCK_FRAMES = 1024
SILENCE_FLOOR_DBFS = -100.0


class AudioDeviceError(Exception):
    """No microphone, PortAudio missing, a device that vanished: worded for the user."""


PORTAUDIO_MISSING = (
    "The sound library PortAudio is not installed, so no microphone can be used. "
    "On Debian/Ubuntu run: sudo apt-get install libportaudio2 — then start the app again."
)


def _sounddevice():
    try:
        import sounddevice
    except OSError as exc:  # "PortAudio library not found"
        raise AudioDeviceError(PORTAUDIO_MISSING) from exc
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hostapi})" + (" — default" if self.is_default else "")


FAKE_INPUT_ENV = "VOICEBANK_FAKE_INPUT"


def fake_input_path() -> str | None:
    """The WAV file the test hook plays as the microphone, or None (the normal case)."""
    return os.environ.get(FAKE_INPUT_ENV) or None


class FileInputStream:
    """The test hook's input stream: the sounddevice.InputStream arguments the Recorder passes,
    fed from a WAV file (converted to the stream's rate, looped) by a thread at real-time pace."""

    def __init__(self, path: str, *, samplerate, channels, dtype, blocksize, device, callback,
                 finished_callback=None):
        from core.audio.io import AudioFileError, read_audio, resample, to_int16
        try:
            clip = read_audio(path)
        except AudioFileError as exc:
            raise AudioDeviceError(f"The test input {path} cannot be read ({exc}).") from exc
        samples = resample(clip.samples, clip.sample_rate, int(samplerate))
        self.source = to_int16(samples) if len(samples) else np.zeros(int(samplerate), np.int16)
        self.samplerate, self.blocksize = int(samplerate), int(blocksize)
        self.callback, self.finished_callback = callback, finished_callback
        self.active = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.active = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pos, n, start = 0, self.blocksize, time.monotonic()
        while not self._stop.is_set():
            block = self.source[np.arange(pos, pos + n) % len(self.source)]
            self.callback(block.reshape(-1, 1), n, None, None)
            pos += n
            self._stop.wait(max(0.0, start + pos / self.samplerate - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.active = False

    def close(self) -> None:
        self.stop()


def list_input_devices() -> list[InputDevice]:
    """Every device with at least one input channel. Raises AudioDeviceError without PortAudio."""
    fake = fake_input_path()
    if fake:
        return [InputDevice(0, f"Test input ({os.path.basename(fake)})", "file", 1,
                            float(BANK_SAMPLE_RATE), True)]
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except Exception as exc:
        raise AudioDeviceError(f"The sound system could not list microphones ({exc}).") from exc
    out = []
    for index, dev in enumerate(devices):
        if dev.get("max_input_channels", 0) < 1:
            continue
        api = apis[dev["hostapi"]]["name"] if dev.get("hostapi", -1) < len(apis) else "?"
        out.append(InputDevice(index, dev["name"], api, int(dev["max_input_channels"]),
                               float(dev["default_samplerate"]), index == default_in))
    return out


NO_MICROPHONE = ("No microphone was found. Plug one in (a USB headset works well), "
                 "then choose it under Microphone and try again.")


def level_dbfs(block: np.ndarray) -> float:
    """RMS level of a block in dBFS (int16 or float)."""
    x = np.asarray(block, dtype=np.float32)
    if block.dtype == np.int16:
        x = x / 32768.0
    if x.size == 0:
        return SILENCE_FLOOR_DBFS
    rms = float(np.sqrt(np.mean(x * x)))
    return max(20.0 * np.log10(rms), SILENCE_FLOOR_DBFS) if rms > 0 else SILENCE_FLOOR_DBFS


class Sink(Protocol):
    def append(self, block: np.ndarray) -> None: ...


class BufferSink:
    """Collects a fixed amount of audio in memory (the room-tone measurement)."""

    def __init__(self, frames: int):
        self.wanted = int(frames)
        self.blocks: list[np.ndarray] = []
        self.frames = 0

    @property
    def full(self) -> bool:
        return self.frames >= self.wanted

    def append(self, block: np.ndarray) -> None:
        if self.full:
            return
        self.blocks.append(np.asarray(block, dtype=np.int16).reshape(-1))
        self.frames += len(self.blocks[-1])

    def samples(self) -> np.ndarray:
        """float32 in [-1, 1], exactly `wanted` frames (or fewer if capture stopped early)."""
        if not self.blocks:
            return np.zeros(0, np.float32)
        return (np.concatenate(self.blocks)[: self.wanted].astype(np.float32) / 32768.0)


@dataclass
class AutoStop:
    """Ends a take after this much silence once speech has been heard (continuous mode)."""
    silence_s: float = 1.0
    speech_margin_db: float = 12.0   # speech = this far above the noise floor
    min_speech_s: float = 0.3


@dataclass
class RecorderStatus:
    monitoring: bool
    capturing: bool
    level_dbfs: float
    peak_dbfs: float
    captured_s: float
    auto_stop: bool       # silence after speech was heard: the GUI should stop the take
    sink_full: bool       # a BufferSink got all it wanted
    error: str | None     # the device failed; shown to the user
    overflows: int
    write_error: str | None = None   # the sink could not write (disk full): the take has stopped


StreamFactory = Callable[..., Any]


class Recorder:
    """One open input stream (monitoring feeds the level meter); captures go to a sink."""

    def __init__(self, stream_factory: StreamFactory | None = None,
                 sample_rate: int = BANK_SAMPLE_RATE, block_frames: int = BLOCK_FRAMES,
                 stall_timeout_s: float = 1.5):
        self._factory = stream_factory
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.stall_timeout_s = stall_timeout_s
        self.device: int | None = None
        self._stream = None
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._sink: Sink | None = None
        self._writer: threading.Thread | None = None
        self._level = SILENCE_FLOOR_DBFS
        self._peak = SILENCE_FLOOR_DBFS
        self._captured = 0
        self._error: str | None = None
        self._write_error: str | None = None
        self._overflows = 0
        self._last_block = 0.0
        self._stopping = False
        self._auto: AutoStop | None = None
        self._noise_floor = -60.0
        self._heard_speech_frames = 0
        self._silent_frames = 0
        self._auto_stop = False

    # stream ------------------------------------------------------------------
    def _make_stream(self, rate: int):
        kwargs = dict(samplerate=rate, channels=1, dtype="int16", blocksize=self.block_frames,
                      device=self.device, callback=self._callback,
                      finished_callback=self._finished)
        if self._factory is not None:
            return self._factory(**kwargs)
        if fake_input_path():
            return FileInputStream(fake_input_path(), **kwargs)
        sd = _sounddevice()
        return sd.InputStream(**kwargs)

    def open(self, device: int | None = None) -> None:
        """Start monitoring the chosen device (None = the system default)."""
        self.close()
        self.device = device
        self._error = None
        if self._factory is None:
            self._check_device(device)
        try:
            self._stream = self._make_stream(self.sample_rate)
        except AudioDeviceError:
            raise
        except Exception as exc:
            # Some devices cannot do 48 kHz; take their own rate and let the take writer convert.
            rate = self._device_rate(device)
            if rate and rate != self.sample_rate:
                try:
                    self._stream = self._make_stream(rate)
                    self.sample_rate = rate
                except Exception as exc2:
                    raise AudioDeviceError(self._explain(exc2)) from exc2
            else:
                raise AudioDeviceError(self._explain(exc)) from exc
        self._stopping = False
        self._last_block = time.monotonic()
        try:
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise AudioDeviceError(self._explain(exc)) from exc

    def _check_device(self, device: int | None) -> None:
        devices = list_input_devices()
        if not devices:
            raise AudioDeviceError(NO_MICROPHONE)
        if device is not None and device not in {d.index for d in devices}:
            raise AudioDeviceError("The chosen microphone is no longer there (unplugged?). "
                                   "Plug it back in or choose another one under Microphone.")

    def _device_rate(self, device: int | None) -> int | None:
        if self._factory is not None:
            return None
        try:
            info = _sounddevice().query_devices(device, kind="input")
            return int(info["default_samplerate"])
        except Exception:
            return None

    @staticmethod
    def _explain(exc: Exception) -> str:
        text = str(exc)
        if "-1" in text or "Invalid device" in text or "querying device" in text:
            return NO_MICROPHONE
        if "busy" in text.lower() or "unavailable" in text.lower():
            return ("The microphone is busy: another program is using it. "
                    "Close that program (a call or another recorder) and try again.")
        return f"The microphone could not be opened ({text}). Check it is plugged in, or choose another."

    def close(self) -> None:
        if self._sink is not None:
            self.stop_capture()
        stream, self._stream = self._stream, None
        if stream is not None:
            self._stopping = True
            for method in ("stop", "close"):
                try:
                    getattr(stream, method)()
                except Exception:
                    pass

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    # callbacks (audio thread: copy and return, nothing slow) -------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        self._last_block = time.monotonic()
        if status and getattr(status, "input_overflow", False):
            self._overflows += 1
        block = np.array(indata, dtype=np.int16, copy=True).reshape(-1)
        self._level = level_dbfs(block)
        self._peak = max(self._peak - 1.5, self._level)  # a falling peak hold for the meter
        if self._sink is not None and self._write_error is None:
            self._queue.put(block)

    def _finished(self) -> None:
        if not self._stopping:
            self._error = ("The microphone stopped sending sound (unplugged?). "
                           "What was recorded so far is kept. Plug it back in and try again.")

    # capture -------------------------------------------------------------------
    def start_capture(self, sink: Sink, *, auto_stop: AutoStop | None = None,
                      noise_floor_dbfs: float | None = None) -> None:
        if self._stream is None:
            raise AudioDeviceError("The microphone is not open. Choose a microphone first.")
        if self._sink is not None:
            raise RuntimeError("already capturing")
        self._queue = queue.Queue()
        self._captured = 0
        self._auto = auto_stop
        self._noise_floor = noise_floor_dbfs if noise_floor_dbfs is not None else -60.0
        self._heard_speech_frames = 0
        self._silent_frames = 0
        self._auto_stop = False
        self._write_error = None
        self._sink = sink
        self._writer = threading.Thread(target=self._drain, args=(sink, self._queue), daemon=True)
        self._writer.start()

    def _drain(self, sink: Sink, q: queue.Queue) -> None:
        while True:
            block = q.get()
            if block is None:
                return
            try:
                sink.append(block)
            except Exception as exc:
                self._sink_failed(sink, exc, q)
                return
            with self._lock:
                self._captured += len(block)
            self._track_silence(block)

    def _sink_failed(self, sink: Sink, exc: Exception, q: queue.Queue) -> None:
        """The sink cannot take more (disk full, ...): stop queueing and free what is queued, so
        audio never piles up in memory; the GUI sees `write_error` and stops the take."""
        self._write_error = str(exc) or f"The recording could not be written ({type(exc).__name__})."
        written = getattr(sink, "frames", None)
        if isinstance(written, int):
            with self._lock:
                self._captured = written      # what is on disk, not what was heard
        while True:
            try:
                q.get_nowait()
            except queue.Empty:
                return

    def _track_silence(self, block: np.ndarray) -> None:
        auto = self._auto
        if auto is None:
            return
        if level_dbfs(block) > self._noise_floor + auto.speech_margin_db:
            self._heard_speech_frames += len(block)
            self._silent_frames = 0
        else:
            self._silent_frames += len(block)
        heard = self._heard_speech_frames >= auto.min_speech_s * self.sample_rate
        if heard and self._silent_frames >= auto.silence_s * self.sample_rate:
            self._auto_stop = True

    def stop_capture(self) -> Sink | None:
        """Stop sending blocks to the sink; every block captured so far is written before returning."""
        sink, self._sink = self._sink, None
        if sink is None:
            return None
        self._queue.put(None)
        if self._writer is not None:
            self._writer.join(timeout=10)
            self._writer = None
        return sink

    @property
    def capturing(self) -> bool:
        return self._sink is not None

    def status(self) -> RecorderStatus:
        stalled = (self._stream is not None and self._error is None and
                   time.monotonic() - self._last_block > self.stall_timeout_s)
        if stalled:
            self._error = ("The microphone stopped sending sound (unplugged?). "
                           "What was recorded so far is kept. Plug it back in and try again.")
        active = getattr(self._stream, "active", True) if self._stream is not None else False
        if self._stream is not None and not active and not self._stopping and self._error is None:
            self._finished()
        sink = self._sink
        with self._lock:
            captured = self._captured
        return RecorderStatus(
            monitoring=self._stream is not None,
            capturing=sink is not None,
            level_dbfs=self._level,
            peak_dbfs=self._peak,
            captured_s=captured / self.sample_rate,
            auto_stop=self._auto_stop,
            sink_full=bool(getattr(sink, "full", False)),
            error=self._error,
            overflows=self._overflows,
            write_error=self._write_error,
        )
