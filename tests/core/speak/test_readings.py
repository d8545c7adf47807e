"""Fixing a reading (core.speak.readings): the dictionary gets the entry, a saved phrase keeps
its own readings (old phrase files still load), and a phrase is said with them."""
from __future__ import annotations

import json

from core.speak.dictionary import load_dictionary, save_dictionary
from core.speak.phrases import PhraseBook
from core.speak.readings import fix_reading, reading_of, readings_to_keep, typed_choice
from core.text.userdict import UserDict


def test_picking_a_reading_writes_the_dictionary_and_the_phrase(tmp_path):
    book = PhraseBook(tmp_path)
    phrase = book.add("I read it")
    token = next(t for t in reading_of(tmp_path, "I read it") if t.text == "read")
    assert token.reading == "reed"
    fixed = fix_reading(tmp_path, token.choices[0], book, phrase)
    assert load_dictionary(tmp_path).entries() == {"read": "R EH1 D"}
    assert book.find("I read it").readings == {"read": "R EH1 D"}
    assert "Pronunciations (Ctrl+D)" in fixed.message() and "red" in fixed.message()
    assert next(t for t in reading_of(tmp_path, "I read it") if t.text == "read").reading == "red"


def test_a_phrase_keeps_its_reading_when_the_dictionary_changes(tmp_path):
    save_dictionary(tmp_path, UserDict({"read": "R EH1 D"}))
    book = PhraseBook(tmp_path)
    phrase = book.add("I read it", readings_to_keep(tmp_path, "I read it"))
    assert phrase.readings == {"read": "R EH1 D"}
    save_dictionary(tmp_path, UserDict({"read": "R IY1 D"}))        # changed for another sentence
    kept = book.find("I read it")
    assert next(t for t in reading_of(tmp_path, "I read it", kept) if t.text == "read").reading == "red"
    assert next(t for t in reading_of(tmp_path, "I read it") if t.text == "read").reading == "reed"


def test_old_phrase_files_load_and_phrases_without_readings_are_written_as_before(tmp_path):
    book = PhraseBook(tmp_path)
    book.file.parent.mkdir(parents=True, exist_ok=True)
    book.file.write_text(json.dumps({"version": 1, "phrases": [{"id": "a1", "text": "Yes"}]}))
    assert book.phrases()[0].readings == {} and book.find("Yes").id == "a1"
    book.add("No")
    items = json.loads(book.file.read_text())["phrases"]
    assert all("readings" not in item for item in items)
    book.file.write_text(json.dumps({"version": 1, "phrases": [
        {"id": "a1", "text": "Yes", "readings": {"read": 5, "": "x", "还书": "hai2 shu1"}}]}))
    assert book.phrases()[0].readings == {"还书": "hai2 shu1"}


def test_typed_readings_become_entries(tmp_path):
    token = next(t for t in reading_of(tmp_path, "Tomas said hi") if t.text == "Tomas")
    choice = typed_choice(token, "toh-MAHS")
    assert (choice.word, choice.pron, choice.shown) == ("Tomas", "T OW0 M AA1 S", "toh-MAHS")
    assert typed_choice(token, "T AA1 M AH0 S").pron == "T AA1 M AH0 S"
    zh = next(t for t in reading_of(tmp_path, "我还书了") if t.text == "还书")
    assert typed_choice(zh, "hai2 shu1").pron == "hai2 shu1"


def test_an_english_fix_replaces_the_word_in_any_case(tmp_path):
    save_dictionary(tmp_path, UserDict({"read": "R IY1 D", "张三": "zhang1 san1"}))
    token = next(t for t in reading_of(tmp_path, "Read it.") if t.text == "Read")
    fix_reading(tmp_path, next(c for c in token.choices if c.pron == "R EH1 D"))
    assert load_dictionary(tmp_path).entries() == {"Read": "R EH1 D", "张三": "zhang1 san1"}
