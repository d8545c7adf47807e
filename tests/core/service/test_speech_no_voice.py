"""Before any voice is built the service does what the Speak page does: the person's own recorded
messages are said, and anything else is answered 404 naming the voice (found by trying it: the
first version answered every request 404, own messages too)."""
from __future__ import annotations

import pytest

from core.bank.store import Bank
from core.service.speech import NO_VOICE, RequestError, decide, find_voice
from tests.testsignals import speech_like


def test_own_messages_are_said_before_there_is_a_voice(tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Ada", ["en"])
    message = speaker.add_message("I love you, Tom.")
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(speech_like(1.5, 48000, seed=2).astype("float32"))
    writer.finish()
    voice = find_voice(speaker, None, None)
    assert voice is None
    plan = decide(speaker, "i love you, tom", voice, 1.0, tmp_path / "scratch")
    assert plan.kind == "own" and plan.audio.exists()
    with pytest.raises(RequestError) as refused:
        decide(speaker, "Hello there.", voice, 1.0, tmp_path / "scratch", "ref_audio_path")
    assert refused.value.status == 404 and refused.value.field == "ref_audio_path"
    assert refused.value.message == NO_VOICE


def test_a_named_voice_that_does_not_exist_is_still_refused(tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Ada", ["en"])
    with pytest.raises(RequestError) as refused:
        find_voice(speaker, "/etc/passwd", None)
    assert refused.value.status == 404 and "never read" in refused.value.message
