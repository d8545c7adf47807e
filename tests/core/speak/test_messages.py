"""Message banking: typed text that matches a recorded message finds the user's own take."""
from __future__ import annotations

import pytest

from core.bank.store import Bank
from core.speak.messages import find_recording, match_recording, message_recordings, normalize
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


def record(speaker, message, samples, check=True):
    """A take of `message`, graded by the real check (as the Record page does) when `check`."""
    from core.bank.process import process_take
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(samples.astype("float32"))
    take = writer.finish()
    return process_take(speaker, take) if check else take


def test_an_unusable_take_is_never_found_as_the_users_own_words(tmp_path):
    """Silence (no speech), a take whose file is gone: matched, but not playable."""
    import numpy as np
    speaker = Bank(tmp_path).create_speaker("Ada", ["en"])
    silent = speaker.add_message("I love you")
    take = record(speaker, silent, np.zeros(48000 * 2))
    assert take.grade == "red"
    found = match_recording(speaker, "i love you")
    assert (found.state, found.usable, found.audio, found.reason) == ("unusable", False, None, "No speech heard")
    assert find_recording(speaker, "I love you.") is None
    assert found.words == "✗ Redo (No speech heard)"
    assert found.unusable_sentence() == (
        "Your own recording of “I love you” cannot be used (no speech heard). To record it again: "
        "Speaker page (Ctrl+1), choose the message, then press “Record again”.")

    good = speaker.add_message("Thank you")
    take = record(speaker, good, speech_like(1.5, 48000))
    assert take.grade in ("green", "amber") and find_recording(speaker, "thank you") == take.best_audio_path()
    take.clean_path.unlink(missing_ok=True)         # the cleaned copy gone: the raw one plays
    assert find_recording(speaker, "thank you") == take.raw_path
    take.raw_path.unlink()                          # the recording gone: nothing to play
    assert match_recording(speaker, "thank you") is None and find_recording(speaker, "thank you") is None
    assert [r.words for r in message_recordings(speaker) if r.message.id == good.id] == ["○ Not recorded yet"]

    later = speaker.add_message("Not yet")
    assert match_recording(speaker, "not yet") is None
    states = {r.message.id: (r.state, r.words) for r in message_recordings(speaker)}
    assert states[later.id] == ("none", "○ Not recorded yet") and states[silent.id][0] == "unusable"


def test_an_unchecked_take_still_plays(tmp_path):
    """The check runs seconds after recording: until then nothing says the take cannot be used."""
    speaker = Bank(tmp_path).create_speaker("Ada", ["en"])
    message = speaker.add_message("Yes")
    take = record(speaker, message, speech_like(1.0, 48000), check=False)
    found = match_recording(speaker, "yes")
    assert take.grade is None and found.usable and found.words == "… Not checked"
