"""Message banking: typed text that matches a recorded message finds the user's own take."""
from __future__ import annotations

import pytest

from core.bank.store import Bank
from core.speak.messages import find_recording, normalize
from tests.testsignals import speech_like


@pytest.mark.parametrize("typed, recorded", [
    ("yes", "Yes."), ("  please   CALL my wife ", "Please call my wife!"), ("我想喝水", "我想喝水。"),
    ("你好，世界", "你好,世界"), ("Ｈｅｌｌｏ！", "hello"), ("“Thank you”", "Thank you."),
    ("wait , please", "Wait, please..."), ("好的！！", "好的"),
])
def test_normalize_matches(typed, recorded):
    assert normalize(typed) == normalize(recorded)


@pytest.mark.parametrize("a, b", [("yes", "yes please"), ("call my wife", "call my life"),
                                  ("你好世界", "你好，世界")])
def test_normalize_keeps_real_differences(a, b):
    assert normalize(a) != normalize(b)


def test_find_recording_plays_the_current_take(tmp_path):
    speaker = Bank(tmp_path).create_speaker("Ada", ["en"])
    message = speaker.add_message("Please call my wife.")
    speaker.add_message("Not recorded yet")
    assert find_recording(speaker, "please call my wife") is None      # no take yet
    session = speaker.start_session("test")
    for seed in (1, 2):
        writer = speaker.begin_take(message, session)
        writer.append(speech_like(1.0, 48000, seed=seed).astype("float32"))
        take = writer.finish()
    assert find_recording(speaker, "Please call my wife") == take.best_audio_path()
    assert find_recording(speaker, "Not recorded yet") is None
    assert find_recording(speaker, "Please call my son") is None
    assert find_recording(speaker, "  ...  ") is None
