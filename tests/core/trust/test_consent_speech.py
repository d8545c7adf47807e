"""A consent recording must hold speech, found by the takes' voice-activity analysis: silence,
a square wave, a tone, noise or NaN are refused at once, with what to do, and leave nothing."""
from __future__ import annotations

import os
from datetime import date

import numpy as np
import pytest

from core.trust import consent as ct
from tests.testsignals import noise

from .voices import voice

pytestmark = pytest.mark.consent
DAY = date(2026, 11, 24)
RATE = 48000


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * RATE)) / RATE


NOT_SPEECH = {
    "silence": lambda: np.zeros(8 * RATE, np.float32),
    "square wave": lambda: (0.5 * np.sign(np.sin(2 * np.pi * 220 * _t(8)))).astype(np.float32),
    "tone": lambda: (0.3 * np.sin(2 * np.pi * 440 * _t(8))).astype(np.float32),
    "hum and hiss": lambda: noise("white", 8.0, RATE) * 0.05,
}


def leftovers(speaker) -> list[str]:
    folder = ct.consent_folder(speaker)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("kind", list(NOT_SPEECH))
def test_no_speech_is_refused_with_what_to_do_and_nothing_is_kept(anna, kind):
    with pytest.raises(ct.NoSpeechError) as caught:
        ct.record_consent(anna, NOT_SPEECH[kind](), RATE, day=DAY)
    message = str(caught.value)
    assert message.startswith("No speech was heard in the recording, so it was not kept.")
    assert "read aloud by Anna" in message and "not muted" in message and "record the statement again" in message
    assert ct.current_consent(anna) is None and leftovers(anna) == []
    assert ct.consent_blockers(anna) == [ct.NEED_CONSENT]     # the build still asks for consent


def test_the_streaming_writer_refuses_a_silent_recording_too(anna):
    writer = ct.ConsentWriter(anna, "text", "en", RATE)
    for _ in range(5):                                  # 5 s of a silent microphone, int16 like a card
        writer.append(np.zeros((RATE, 1), np.int16))
    with pytest.raises(ct.NoSpeechError):
        writer.finish()
    assert leftovers(anna) == []


def test_speech_is_kept_and_measured(anna):
    speech = voice("low", 8.0, seed=3)
    assert ct.MIN_CONSENT_SPEECH_S <= 1.0
    record = ct.record_consent(anna, speech, RATE, day=DAY)
    assert record.wav_path.exists() and ct.current_consent(anna).id == record.id
    assert ct.speech_seconds(record.wav_path) >= ct.MIN_CONSENT_SPEECH_S


def test_speech_seconds_counts_no_voice_in_silence_with_a_cough(anna, tmp_path):
    import soundfile as sf

    quiet = np.zeros(30 * RATE, np.float32)
    quiet[RATE: RATE + RATE // 5] = voice("low", 1.0, seed=9)[RATE // 2: RATE // 2 + RATE // 5]   # 0.2 s
    path = tmp_path / "cough.wav"
    sf.write(path, quiet, RATE)
    assert ct.speech_seconds(path) < ct.MIN_CONSENT_SPEECH_S


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_is_refused_with_its_own_message_before_anything_is_made(anna, bad):
    samples = voice("low", 8.0, seed=3)
    samples[1000:1003] = bad
    with pytest.raises(ct.ConsentError) as caught:
        ct.record_consent(anna, samples, RATE, day=DAY)
    assert not isinstance(caught.value, ct.NoSpeechError)
    assert str(caught.value).startswith("The recording is damaged: 3 of its samples are not numbers")
    assert not ct.consent_folder(anna).exists()


def test_nan_streamed_in_float_blocks_is_refused_at_finish(anna):
    writer = ct.ConsentWriter(anna, "text", "en", RATE)
    block = voice("low", 5.0, seed=3)
    block[10] = np.nan
    writer.append(block)
    with pytest.raises(ct.ConsentError, match="1 of its samples are not numbers"):
        writer.finish()
    assert leftovers(anna) == []


@pytest.mark.parametrize("name", ["Tom\udcff", "Tom\ud800"])      # bytes not UTF-8; a lone surrogate
def test_a_name_that_cannot_be_stored_is_refused_before_anything_is_made(anna, name):
    with pytest.raises(ct.ConsentError, match="has a character the app cannot save"):
        ct.statement("en", name, DAY, role="donor", patient="Anna")
    with pytest.raises(ct.ConsentError, match=r"The name “Tom\ufffd” has a character"):
        ct.record_consent(anna, voice("low", 8.0, seed=3), RATE, role="donor", name=name, day=DAY)
    with pytest.raises(ct.ConsentError):
        ct.ConsentWriter(anna, "text", "en", RATE, role="donor", name=name)
    assert not ct.consent_folder(anna).exists()


def test_consent_in_a_bank_folder_whose_name_is_not_utf8(tmp_path):
    from core.bank.store import Bank

    bank = Bank(tmp_path / os.fsdecode(b"cl\xe9-usb"))             # a USB stick named in Latin-1
    speaker = bank.create_speaker("Anna", ["en"])
    record = ct.record_consent(speaker, voice("low", 8.0, seed=3), RATE, day=DAY)
    assert record.wav_path.exists() and ct.current_consent(speaker).id == record.id
