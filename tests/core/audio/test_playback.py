"""Playing back: a missing sound card is said in words, without the sound system's own jargon."""
from __future__ import annotations

import numpy as np
import pytest

from core.audio import playback
from core.audio.capture import AudioDeviceError


class NoSoundCard:
    def play(self, *args, **kwargs):
        raise RuntimeError("Error querying device -1")     # what PortAudio says with no output device

    def stop(self):
        pass


def test_no_speaker_is_said_in_plain_words(monkeypatch):
    monkeypatch.setattr(playback, "_sounddevice", lambda: NoSoundCard())
    with pytest.raises(AudioDeviceError) as caught:
        playback.play(np.zeros(480, np.float32), 48000)
    message = str(caught.value)
    assert "no speaker or headphones were found" in message and "sound settings" in message
    assert "querying" not in message and "-1" not in message


class FakeSoundDevice:
    """Streams whose callback the test drives, block by block, as PortAudio's thread would."""

    class CallbackStop(Exception):
        pass

    def __init__(self, fail: bool = False):
        self.streams, self.fail = [], fail

    def OutputStream(self, samplerate, channels, dtype, device, callback):
        if self.fail:
            raise RuntimeError("Error querying device -1")
        sd = self

        class Stream:
            def __init__(self):
                self.rate, self.callback, self.closed, self.stopped = samplerate, callback, False, False
                sd.streams.append(self)

            def start(self):
                pass

            def block(self, frames=256):
                out = np.full((frames, 1), 9.0, np.float32)
                try:
                    self.callback(out, frames, None, None)
                except sd.CallbackStop:
                    self.stopped = True
                return out[:, 0]

            def abort(self):
                pass

            def close(self):
                self.closed = True

        return Stream()


def test_pieces_handed_over_in_time_play_as_one_stream(monkeypatch):
    sd = FakeSoundDevice()
    monkeypatch.setattr(playback, "_sounddevice", lambda: sd)
    out = playback.ContinuousOutput()
    a, b = np.arange(1, 301, dtype=np.float32), np.arange(301, 501, dtype=np.float32)
    out.append(a, 32000)
    first = sd.streams[0].block()
    out.append(b, 32000)                         # while a is still playing: joins on, no gap
    played = np.concatenate([first, sd.streams[0].block(), sd.streams[0].block()])
    assert len(sd.streams) == 1
    np.testing.assert_array_equal(played[:500], np.concatenate([a, b]))
    assert not played[500:].any() and sd.streams[0].stopped      # then silence, and it ends
    out.append(a, 32000)                         # after the end: a new stream
    assert len(sd.streams) == 2 and sd.streams[0].closed
    np.testing.assert_array_equal(sd.streams[1].block(300), a)
    out.stop()
    assert sd.streams[1].closed


def test_a_new_rate_opens_a_new_stream_and_no_card_is_said_in_words(monkeypatch):
    sd = FakeSoundDevice()
    monkeypatch.setattr(playback, "_sounddevice", lambda: sd)
    out = playback.ContinuousOutput()
    out.append(np.ones(1000, np.float32), 32000)
    out.append(np.ones(1000, np.float32), 48000)
    assert [s.rate for s in sd.streams] == [32000, 48000] and sd.streams[0].closed
    monkeypatch.setattr(playback, "_sounddevice", lambda: FakeSoundDevice(fail=True))
    with pytest.raises(AudioDeviceError, match="no speaker or headphones were found"):
        playback.ContinuousOutput().append(np.ones(10, np.float32), 32000)
