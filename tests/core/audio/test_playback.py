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
