"""Deciding how to say a text: the user's own recording first, then a saved phrase's cached audio,
then a `speak` job; a missing voice, a voice with files gone or a damaged dictionary is a problem
whose words say what to do."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.bank.store import Bank
from core.speak.dictionary import dictionary_path, dictionary_stamp, save_dictionary
from core.speak.history import History
from core.speak.phrases import PhraseBook, cache_key
from core.speak.utterance import OWN_RECORDING, is_saved_phrase, keep_said, plan_utterance
from core.speak.voices import speak_voices
from core.text.userdict import UserDict
from tests.core.speak import make_voice
from tests.testsignals import speech_like

MODEL_FILES = ("gpt.ckpt", "sovits.pth", "reference.wav")


def add_voice(speaker, files=MODEL_FILES):
    make_voice(speaker, files=files)
    return speak_voices(speaker)[0]


@pytest.fixture
def ada(tmp_path):
    """(speaker, phrase book, history) of a fresh speaker with no voice yet."""
    speaker = Bank(tmp_path / "bank").create_speaker("Ada", ["en"])
    return speaker, PhraseBook(Path(speaker.folder)), History(Path(speaker.folder))


def plan(ada, text, voice, speed=1.0, is_phrase=False):
    speaker, book, history = ada
    return plan_utterance(speaker, text, voice, speed, is_phrase, book, history)


def test_own_recording_comes_before_any_voice_or_dictionary(ada):
    speaker, book, history = ada
    message = speaker.add_message("Please call my wife.")
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(speech_like(1.0, 48000, seed=1).astype("float32"))
    take = writer.finish()
    dictionary_path(speaker.folder).write_text('{"entries": {"Alice": "XX1"}}', encoding="utf-8")
    for voice in (None, add_voice(speaker)):
        said = plan(ada, "please call my wife", voice)
        assert (said.kind, said.audio, said.voice_id) == ("own", take.best_audio_path(), OWN_RECORDING)
        assert said.status == "● Your own recording: “please call my wife”"
    keep_said(said, said.audio, history, book)
    kept = history.entries()[-1]
    assert kept.own and kept.audio_path == take.best_audio_path()      # referred to, never copied


def test_new_text_becomes_a_speak_job(ada, make_wav):
    speaker, book, history = ada
    voice = add_voice(speaker)
    said = plan(ada, "Hello there.", voice, speed=1.234)
    assert said.kind == "job" and said.key is None and said.status == "Making the speech…"
    assert said.audio.parent == history.audio_dir and said.voice_id == "v-1"
    assert said.params == {**voice.job_params(), "text": "Hello there.", "options": {"speed": 1.23},
                           "out": str(said.audio)}
    assert said.params["gpt"] == str(Path(speaker.folder) / "voices" / "v-1" / "gpt.ckpt")
    path = save_dictionary(speaker.folder, UserDict({"Alice": "AE1 L IH0 S"}))
    with_dictionary = plan(ada, "Hello Alice.", voice)
    assert with_dictionary.params["userdict"] == str(path) and with_dictionary.audio != said.audio
    keep_said(said, make_wav(said.audio), history, book)
    assert [s.text for s in history.entries()] == ["Hello there."] and not book.cache_dir.exists()


def test_a_saved_phrase_is_made_once_then_played_from_its_cache(ada, make_wav):
    speaker, book, history = ada
    voice = add_voice(speaker)
    book.add("Yes")
    first = plan(ada, "Yes", voice, is_phrase=True)
    assert first.kind == "job" and first.key == cache_key(voice.cache_key, "Yes", 1.0, "none")
    keep_said(first, make_wav(first.audio), history, book)
    again = plan(ada, "Yes", voice, is_phrase=True)
    assert (again.kind, again.audio, again.key) == ("cached", book.cached(first.key), first.key)
    assert again.status == f"Saved phrase, in {voice.label}: “Yes”" and voice.label.startswith("Ada")
    keep_said(again, again.audio, history, book)
    kept = history.entries()[-1]
    assert kept.audio_path.parent == history.audio_dir and kept.audio_path.read_bytes() == again.audio.read_bytes()
    assert plan(ada, "Yes", voice, speed=1.2, is_phrase=True).kind == "job"      # another speed
    ud = UserDict({"Yes": "Y EH1 S"})
    save_dictionary(speaker.folder, ud)
    changed = plan(ada, "Yes", voice, is_phrase=True)                             # another dictionary
    assert changed.kind == "job" and changed.key == cache_key(voice.cache_key, "Yes", 1.0, dictionary_stamp(ud))


def test_problems_say_what_to_do_and_reserve_nothing(ada):
    speaker, _book, history = ada
    none = plan(ada, "Hello", None)
    assert (none.kind, none.severity, none.status) == ("problem", "warning", "")
    assert none.message == ("There is no voice to speak with yet. Build one on the Build page (Ctrl+5). "
                            "Messages you recorded yourself play already.")
    broken = plan(ada, "Hello", add_voice(speaker, files=("gpt.ckpt", "reference.wav")))
    assert broken.kind == "problem" and broken.severity == "error"
    assert broken.message.endswith("is missing sovits.pth. Build it again (Ctrl+5) or choose another voice.")
    voice = speak_voices(speaker)[0]
    (voice.folder / "sovits.pth").write_bytes(b"x")
    dictionary_path(speaker.folder).write_text('{"entries": {"Alice": "XX1"}}', encoding="utf-8")
    bad = plan(ada, "Hello", voice)
    assert bad.kind == "problem" and bad.severity == "error" and "XX1" in bad.message
    assert bad.message.startswith("The pronunciation dictionary cannot be used: ")
    assert bad.message.endswith(" Open it with Ctrl+D and fix or remove that word.")
    assert not history.audio_dir.exists()


def test_saved_phrase_match_ignores_spacing_only(ada):
    _speaker, book, _history = ada
    book.add("Please call   my wife")
    assert is_saved_phrase("  Please call my\nwife ", book.phrases())
    assert not is_saved_phrase("please call my wife", book.phrases())
    assert not is_saved_phrase("Please call my son", book.phrases())


def test_a_recording_that_cannot_be_used_is_said_in_the_voice_with_a_notice(ada):
    """A message recorded as silence (graded ✗ no speech) is never played as the person's own
    words: the voice says it, and the notice says why and how to record it again."""
    import numpy as np

    from core.bank.process import process_take
    speaker, book, history = ada
    message = speaker.add_message("I love you")
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(np.zeros(96000, "float32"))
    take = process_take(speaker, writer.finish())
    assert take.grade == "red"
    voice = add_voice(speaker)
    said = plan(ada, "i love you", voice)
    assert said.kind == "job" and said.audio != take.best_audio_path() and said.voice_id == voice.id
    assert said.message_id == message.id and said.status == "Making the speech…"
    assert said.notice == ("Your own recording of “I love you” cannot be used (no speech heard). To record "
                           "it again: Speaker page (Ctrl+1), choose the message, then press “Record "
                           f"again”. Until then it is said in the voice “{voice.label}”.")
    keep_said(said, said.audio, history, book)
    assert not history.entries()[-1].own
    nothing = plan(ada, "I love you!", None)
    assert nothing.kind == "problem" and nothing.severity == "warning"
    assert nothing.message.startswith("Your own recording of “I love you” cannot be used")
    assert nothing.message.endswith("There is no built voice yet to say it instead.")
    assert plan(ada, "Something else", voice).notice == ""
