"""The recorder driven by a fake input stream (Buzz-style): the callback runs on another thread."""
import subprocess
import sys
import time

import numpy as np
import pytest

import core.audio.capture as capture
from core.audio.capture import (AudioDeviceError, AutoStop, BufferSink, Recorder, level_dbfs)
from tests.fakes import fake_stream_factory


def wait_for(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def burst(seconds_on, seconds_off, rate=48000, amp=0.3):
    on = amp * np.sin(2 * np.pi * 180 * np.arange(int(seconds_on * rate)) / rate)
    return np.concatenate([on, np.zeros(int(seconds_off * rate))]).astype(np.float32)


class ListSink:
    def __init__(self):
        self.blocks = []

    def append(self, block):
        self.blocks.append(block.copy())

    def samples(self):
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.int16)


def test_captures_exactly_what_the_microphone_sent():
    source = burst(0.5, 0.0)
    rec = Recorder(stream_factory=fake_stream_factory(source, pace=0.0))
    rec.open()
    sink = ListSink()
    rec.start_capture(sink)
    assert wait_for(lambda: rec.status().captured_s >= 0.6)
    rec.stop_capture()
    rec.close()
    got = sink.samples().astype(np.float32) / 32767
    # the fake started feeding before capture began, so find the burst inside what was captured
    assert len(got) >= 0.6 * 48000
    assert np.max(np.abs(got)) == pytest.approx(0.3, abs=0.01)


def test_level_meter_follows_the_input():
    rec = Recorder(stream_factory=fake_stream_factory(burst(5, 0), loop=True))
    rec.open()
    assert wait_for(lambda: rec.status().level_dbfs > -20)
    status = rec.status()
    assert status.monitoring and not status.capturing
    # a 0.3-amplitude sine is -13.5 dBFS RMS
    assert status.level_dbfs == pytest.approx(-13.5, abs=0.5)
    rec.close()
    assert level_dbfs(np.zeros(10, np.int16)) == capture.SILENCE_FLOOR_DBFS


def test_auto_stop_after_a_second_of_silence_once_speech_was_heard():
    rec = Recorder(stream_factory=fake_stream_factory(burst(0.8, 3.0)))
    rec.open()
    time.sleep(0)  # capture starts at once; the fake source starts with the speech
    sink = ListSink()
    rec.start_capture(sink, auto_stop=AutoStop(silence_s=1.0), noise_floor_dbfs=-70)
    assert wait_for(lambda: rec.status().auto_stop)
    captured = rec.status().captured_s
    rec.stop_capture()
    rec.close()
    assert 1.0 <= captured <= 3.8


def test_no_auto_stop_on_silence_alone():
    rec = Recorder(stream_factory=fake_stream_factory(np.zeros(48000 * 3, np.float32)))
    rec.open()
    rec.start_capture(ListSink(), auto_stop=AutoStop(silence_s=1.0), noise_floor_dbfs=-70)
    assert wait_for(lambda: rec.status().captured_s > 2.5)
    assert not rec.status().auto_stop
    rec.close()


def test_room_tone_buffer_fills_and_reports_full():
    rec = Recorder(stream_factory=fake_stream_factory(burst(4, 0, amp=0.01)))
    rec.open()
    sink = BufferSink(3 * 48000)
    rec.start_capture(sink)
    assert wait_for(lambda: rec.status().sink_full)
    rec.stop_capture()
    rec.close()
    samples = sink.samples()
    assert len(samples) == 3 * 48000 and samples.dtype == np.float32


def test_unplugged_mid_take_is_reported_and_captured_audio_kept():
    rec = Recorder(stream_factory=fake_stream_factory(burst(5, 0), unplug_after_s=0.5))
    rec.open()
    sink = ListSink()
    rec.start_capture(sink)
    assert wait_for(lambda: rec.status().error is not None)
    assert "unplugged" in rec.status().error
    rec.stop_capture()
    assert len(sink.samples()) > 0
    rec.close()


def test_stalled_stream_counts_as_unplugged():
    rec = Recorder(stream_factory=fake_stream_factory(burst(5, 0), pace=50.0), stall_timeout_s=0.2)
    rec.open()
    assert wait_for(lambda: rec.status().error is not None, timeout=3)
    rec.close()


def test_open_failure_becomes_a_clear_message():
    def broken(**kwargs):
        raise RuntimeError("Error querying device -1")

    rec = Recorder(stream_factory=broken)
    with pytest.raises(AudioDeviceError, match="No microphone"):
        rec.open()
    with pytest.raises(AudioDeviceError, match="not open"):
        rec.start_capture(ListSink())


def test_portaudio_missing_gives_install_advice(monkeypatch):
    def no_portaudio():
        raise AudioDeviceError(capture.PORTAUDIO_MISSING)

    monkeypatch.setattr(capture, "_sounddevice", no_portaudio)
    with pytest.raises(AudioDeviceError, match="libportaudio2"):
        capture.list_input_devices()
    with pytest.raises(AudioDeviceError, match="libportaudio2"):
        Recorder().open()


def test_real_portaudio_without_a_sound_card():
    """Through the real library: no devices is a message, not a crash (run in a fresh process)."""
    code = ("from core.audio.capture import Recorder, list_input_devices, AudioDeviceError\n"
            "try:\n    devs = list_input_devices(); print('devices', len(devs)); Recorder().open(); print('opened')\n"
            "except AudioDeviceError as e:\n    print('message:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "message:" in out.stdout or "opened" in out.stdout


ASOUNDRC = """
pcm.!default {{ type asym; playback.pcm "nullout"; capture.pcm "filein" }}
pcm.nullout {{ type null }}
pcm.filein {{ type file; slave.pcm "null"; file "/dev/null"; infile "{raw}"; format "raw" }}
"""


def test_real_portaudio_records_from_an_alsa_file_device(tmp_path):
    """One integration test through real PortAudio: ALSA's file plugin stands in for a microphone."""
    rate = 48000
    t = np.arange(rate * 4) / rate
    signal_ = (0.25 * np.sin(2 * np.pi * 300 * t) * 32767).astype("<i2")
    raw = tmp_path / "mic.raw"
    raw.write_bytes(signal_.tobytes())
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(raw=raw))
    code = (
        "import time, numpy as np\n"
        "from core.audio.capture import Recorder, BufferSink, list_input_devices\n"
        "names = [d.name for d in list_input_devices()]\n"
        "print('devices', names)\n"
        "rec = Recorder(); rec.open(None)\n"
        "sink = BufferSink(48000); rec.start_capture(sink)\n"
        "end = time.time() + 20\n"
        "while not rec.status().sink_full and time.time() < end: time.sleep(0.01)\n"
        "rec.stop_capture(); rec.close()\n"
        "x = sink.samples(); print('rms', float(np.sqrt(np.mean(x*x))), len(x))\n"
    )
    env = {**__import__("os").environ, "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    if "PortAudio library not found" in out.stderr or "libportaudio2" in out.stdout:
        pytest.skip("PortAudio is not installed here (.ci/run installs libportaudio2)")
    assert out.returncode == 0, out.stderr[-2000:]
    rms_line = [line for line in out.stdout.splitlines() if line.startswith("rms")][0]
    rms, frames = float(rms_line.split()[1]), int(rms_line.split()[2])
    assert frames == 48000
    assert rms == pytest.approx(0.25 / np.sqrt(2), rel=0.05)


class FullDiskSink:
    """A sink whose disk fills after `room` blocks: it raises once, like TakeWriter."""

    def __init__(self, room: int):
        self.room, self.frames, self.calls = room, 0, 0

    def append(self, block):
        self.calls += 1
        if self.room <= 0:
            raise OSError(28, "The disk is full, so recording stopped.")
        self.room -= 1
        self.frames += len(block)


def test_a_sink_that_cannot_write_stops_the_queue_so_memory_does_not_pile_up():
    rec = Recorder(stream_factory=fake_stream_factory(burst(5, 0), loop=True, pace=0.0))
    rec.open()
    sink = FullDiskSink(room=10)
    rec.start_capture(sink)
    assert wait_for(lambda: rec.status().write_error is not None)
    status = rec.status()
    assert "disk is full" in status.write_error and status.error is None   # the microphone is fine
    assert status.captured_s == pytest.approx(10 * 1024 / 48000)            # what is on disk
    time.sleep(0.3)                     # the fake microphone keeps sending, as fast as it can
    assert rec._queue.qsize() <= 2      # ...but nothing more is queued
    assert sink.calls == 11             # and the sink is not asked again
    assert rec.status().captured_s == status.captured_s
    rec.stop_capture()
    rec.start_capture(ListSink())       # the next take starts clean
    assert wait_for(lambda: rec.status().captured_s > 0.1) and rec.status().write_error is None
    rec.close()
