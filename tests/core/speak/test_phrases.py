"""Saved phrases: order, validation, persistence, and the audio cache keyed by voice, text,
speed and dictionary."""
from __future__ import annotations

import json

import pytest

from core.speak.phrases import PhraseBook, PhraseError, cache_key


def test_add_reorder_remove_and_reload(tmp_path):
    book = PhraseBook(tmp_path)
    yes = book.add("  Yes ")
    wife = book.add("Please call   my wife")
    water = book.add("我想喝水")
    assert [p.text for p in book.phrases()] == ["Yes", "Please call my wife", "我想喝水"]
    assert book.move(water.id, -1) == 1 and book.move(yes.id, -1) == 0
    assert [p.text for p in PhraseBook(tmp_path).phrases()] == ["Yes", "我想喝水", "Please call my wife"]
    book.remove(wife.id)
    assert [p.id for p in book.phrases()] == [yes.id, water.id]
    saved = json.loads(book.file.read_text(encoding="utf-8"))
    assert saved["phrases"][1]["text"] == "我想喝水"        # readable, not escaped


def test_bad_phrases_are_refused_with_a_reason(tmp_path):
    book = PhraseBook(tmp_path)
    book.add("Yes")
    with pytest.raises(PhraseError, match="Type the phrase first"):
        book.add("   ")
    with pytest.raises(PhraseError, match="already a saved phrase .number 1"):
        book.add("Yes")
    with pytest.raises(PhraseError, match="under 500 characters"):
        book.add("x" * 501)
    assert [p.text for p in book.phrases()] == ["Yes"]


def test_damaged_file_reads_as_empty_and_is_not_a_crash(tmp_path):
    book = PhraseBook(tmp_path)
    book.file.parent.mkdir(parents=True)
    book.file.write_text("{oops", encoding="utf-8")
    assert book.phrases() == []


def test_cache_key_changes_with_voice_text_speed_and_dictionary():
    base = cache_key("v1@2026-01-01", "Yes", 1.0, "none")
    assert base == cache_key("v1@2026-01-01", " Yes ", 1.0, "none")
    others = {cache_key("v1@2026-02-01", "Yes", 1.0, "none"), cache_key("v2@2026-01-01", "Yes", 1.0, "none"),
              cache_key("v1@2026-01-01", "No", 1.0, "none"), cache_key("v1@2026-01-01", "Yes", 1.2, "none"),
              cache_key("v1@2026-01-01", "Yes", 1.0, "abc123")}
    assert base not in others and len(others) == 5


def test_store_cached_and_prune(tmp_path, make_wav):
    book = PhraseBook(tmp_path / "speaker")
    wav = make_wav(tmp_path / "yes.wav")
    assert book.cached("k1") is None
    stored = book.store("k1", wav)
    book.store("k2", wav)
    assert book.cached("k1") == stored and stored.read_bytes() == wav.read_bytes()
    assert not list(book.cache_dir.glob(".*"))              # no temp files left
    assert book.prune({"k1"}) == 1
    assert book.cached("k1") and book.cached("k2") is None
    book.clear_cache()
    assert book.cached("k1") is None
