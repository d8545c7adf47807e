"""The VOICEBANK_FAKE_INPUT test hook: a WAV file stands in for the microphone (smoke tests of
built bundles on machines without a sound card)."""
from __future__ import annotations

import time

import numpy as np
import soundfile as sf

from core.audio.capture import BufferSink, Recorder, list_input_devices


def test_a_file_is_the_microphone_when_the_hook_is_set(tmp_path, monkeypatch):
    t = np.arange(8000) / 16000                       # 0.5 s at another rate: converted to 48 kHz
    source = 0.3 * np.sin(2 * np.pi * 250 * t) * np.hanning(8000)
    sf.write(tmp_path / "mic.wav", source, 16000, subtype="PCM_16")
    monkeypatch.setenv("VOICEBANK_FAKE_INPUT", str(tmp_path / "mic.wav"))
    [device] = list_input_devices()
    assert "Test input" in device.label and device.is_default

    recorder = Recorder(block_frames=480)
    recorder.open(device.index)
    try:
        sink = BufferSink(48000)                      # 1 s: the 0.5 s file plays twice (looped)
        recorder.start_capture(sink)
        deadline = time.monotonic() + 10
        while not sink.full and time.monotonic() < deadline:
            time.sleep(0.05)
        recorder.stop_capture()
        assert recorder.status().error is None
    finally:
        recorder.close()
    got = sink.samples()
    assert len(got) == 48000
    first, second = got[:24000], got[24000:48000]
    assert 0.25 < np.abs(got).max() < 0.35
    np.testing.assert_allclose(first, second, atol=2 / 32768)   # looped, sample for sample

