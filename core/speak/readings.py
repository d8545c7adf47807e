"""The Speak page's "How it will be read", without Qt: the reading of the typed text with the
speaker's pronunciation dictionary (and a saved phrase's own readings on top), and fixing a
reading in place, which writes the dictionary entry (core.speak.dictionary) and, when the text is
a saved phrase, keeps the fix with the phrase too (core.speak.phrases).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.speak.dictionary import add_entry, load_dictionary, with_readings
from core.speak.phrases import Phrase, PhraseBook
from core.text.reading import Choice, ReadingToken, fix_words, read_text
from core.text.respell import from_respelling, respell
from core.text.userdict import UserDictError, parse_entry


def reading_of(speaker_folder: Path, text: str, phrase: Phrase | None = None) -> list[ReadingToken]:
    """How `text` will be read now. Raises UserDictError when the dictionary is damaged."""
    userdict = with_readings(load_dictionary(speaker_folder), phrase.readings if phrase else None)
    return read_text(text, userdict)


def readings_to_keep(speaker_folder: Path, text: str) -> dict[str, str]:
    """The dictionary entries `text` is read with: what a phrase keeps when it is saved."""
    try:
        return fix_words(reading_of(speaker_folder, text))
    except UserDictError:
        return {}


def typed_choice(token: ReadingToken, typed: str) -> Choice:
    """What the person typed for a word -> a choice. English: how it sounds ("reed",
    "rih-KAWRD") or ARPAbet; Chinese: pinyin with tone numbers ("hai2 shu1").
    Raises UserDictError with what to type instead."""
    typed = " ".join(typed.split())
    if not typed:
        raise UserDictError("Type how it sounds first, for example “reed”.")
    if token.language == "zh":
        _, syllables = parse_entry(token.word, typed)
        marked = "".join(f"{ch}({syl})" for ch, syl in zip(token.word, syllables))
        return Choice(marked, token.word, " ".join(syllables))
    if any(c.isdigit() for c in typed):
        _, phones = parse_entry(token.word, typed)
    else:
        phones = from_respelling(typed)
    return Choice(respell(phones), token.word, " ".join(phones))


@dataclass(frozen=True)
class Fixed:
    word: str
    shown: str
    before: str | None      # the word's entry before ("" or None: it had none)
    in_phrase: bool         # kept with the saved phrase too

    def message(self) -> str:
        every = (f" Every “{self.word}” you type is now said this way." if self.word.isascii()
                 else f" It applies wherever “{self.word}” is typed.")
        phrase = " The saved phrase keeps this reading too." if self.in_phrase else ""
        return (f"Saved: “{self.word}” is now read {self.shown}.{every}{phrase} To undo it, open "
                "Pronunciations (Ctrl+D) and change or remove the word.")


def fix_reading(speaker_folder: Path, choice: Choice, book: PhraseBook | None = None,
                phrase: Phrase | None = None) -> Fixed:
    """Save `choice` in the pronunciation dictionary, and in the phrase's own readings when the
    text is a saved phrase. Raises UserDictError or OSError (nothing changed then)."""
    before = add_entry(speaker_folder, choice.word, choice.pron)
    if phrase is not None and book is not None:
        book.set_readings(phrase.id, {**phrase.readings, choice.word: choice.pron})
    return Fixed(choice.word, choice.shown, before, phrase is not None and book is not None)
