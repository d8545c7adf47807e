"""The WAV a take is streamed into: readable by libsndfile at every step, exact after a full disk."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.audio.wavstream import HEADER_BYTES, WavStream
from tests.diskfull import full_disk


def test_same_file_as_libsndfile_writes(tmp_path):
    samples = (np.sin(np.arange(4800) / 7.0) * 12000).astype(np.int16)
    stream = WavStream(tmp_path / "ours.wav", 48000)
    stream.write(samples[:1000])
    stream.flush()                       # mid-take the header already counts what is written
    assert sf.info(str(tmp_path / "ours.wav")).frames == 1000
    stream.write(samples[1000:])
    stream.close()
    sf.write(str(tmp_path / "theirs.wav"), samples, 48000, subtype="PCM_16")
    assert (tmp_path / "ours.wav").read_bytes() == (tmp_path / "theirs.wav").read_bytes()


def test_a_full_disk_keeps_exactly_what_was_written(tmp_path, monkeypatch):
    stream = WavStream(tmp_path / "take.wav", 48000)
    block = (np.arange(1024) % 200 - 100).astype(np.int16)
    stream.write(block)
    room = full_disk(monkeypatch, room=1001)          # half a block, and half a sample, fit
    with pytest.raises(OSError):
        stream.write(block)
    assert stream.closed and room.refused == 1
    assert stream.frames == 1024 + 500                # the odd byte is cut back off
    monkeypatch.undo()
    data, rate = sf.read(str(tmp_path / "take.wav"), dtype="int16")
    assert rate == 48000 and len(data) == 1524
    assert (tmp_path / "take.wav").stat().st_size == HEADER_BYTES + 2 * 1524
    assert np.array_equal(data[:1024], block) and np.array_equal(data[1024:], block[:500])
