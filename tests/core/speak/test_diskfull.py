"""Saved phrases, their audio cache and "What was said" on a full disk: worded errors, the lists
unchanged, no half files."""
from __future__ import annotations

import json

import pytest

from core.diskspace import DiskFullError
from core.speak.history import History
from core.speak.phrases import PhraseBook
from core.speak.utterance import Utterance, keep_said
from tests.diskfull import full_disk


def no_temp_files(folder):
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def test_phrases_and_their_cache(tmp_path, make_wav, monkeypatch):
    book = PhraseBook(tmp_path / "ada")
    first = book.add("Yes")
    book.add("Please call my wife")
    audio = make_wav(tmp_path / "said.wav", seconds=1.0)
    full_disk(monkeypatch, room=100)
    with pytest.raises(DiskFullError, match="the list of saved phrases could not be saved") as caught:
        book.add("Thank you")
    assert "disk space" in str(caught.value) and "Nothing was changed" in str(caught.value)
    with pytest.raises(DiskFullError):
        book.move(first.id, 1)
    with pytest.raises(DiskFullError):
        book.remove(first.id)
    assert [p.text for p in book.phrases()] == ["Yes", "Please call my wife"]
    with pytest.raises(DiskFullError, match="the phrase's sound could not be kept") as caught:
        book.store("k" * 24, audio)
    assert "It needs about 1 MB of free disk space" in str(caught.value)
    assert book.cached("k" * 24) is None and not no_temp_files(tmp_path / "ada")


def test_history(tmp_path, make_wav, monkeypatch):
    history = History(tmp_path / "ada")
    said = history.add("Hello", make_wav(tmp_path / "a.wav"), "v1")
    cached = make_wav(tmp_path / "cache.wav", seconds=1.0)
    full_disk(monkeypatch, room=0)
    with pytest.raises(DiskFullError, match="its sound could not be kept in “What was said”"):
        history.add("Yes", cached, "v1", copy=True)
    with pytest.raises(DiskFullError, match="it could not be added to “What was said”"):
        history.add("Yes", cached, "v1")
    assert history.entries() == [said]
    assert json.loads(history.file.read_text())["said"][0]["text"] == "Hello"
    assert [p.name for p in history.audio_dir.iterdir()] == [] and not no_temp_files(tmp_path / "ada")


def test_keep_said_raises_the_worded_error_for_the_speak_page(tmp_path, make_wav, monkeypatch):
    history, book = History(tmp_path / "ada"), PhraseBook(tmp_path / "ada")
    audio = make_wav(tmp_path / "job.wav")
    full_disk(monkeypatch, room=0)
    plan = Utterance("job", "Yes", audio=audio, voice_id="v1", key="k" * 24)
    with pytest.raises(DiskFullError) as caught:
        keep_said(plan, audio, history, book)
    assert str(caught.value).startswith("The disk is full, so it could not be added to “What was said”.")
