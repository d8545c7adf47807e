"""Where the speaker's pronunciation dictionary lives, and a stamp that changes with its content.

The format and validation are core.text.userdict's; the speak job loads the file named by its
`userdict` param and the engine applies it when it phonemizes each sentence.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from core.text.userdict import UserDict, UserDictError

DICTIONARY_FILE = "pronunciations.json"


def dictionary_path(speaker_folder: Path) -> Path:
    return Path(speaker_folder) / DICTIONARY_FILE


def load_dictionary(speaker_folder: Path) -> UserDict:
    """Raises core.text.userdict.UserDictError when the file is damaged (its message says how)."""
    return UserDict.load(dictionary_path(speaker_folder))


def save_dictionary(speaker_folder: Path, userdict: UserDict) -> Path:
    path = dictionary_path(speaker_folder)
    userdict.save(path)
    return path


def dictionary_stamp(userdict: UserDict) -> str:
    """Short hash of the entries: part of the phrase cache key, so edits invalidate cached audio."""
    text = "\n".join(f"{w}\t{p}" for w, p in sorted(userdict.entries().items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12] if text else "none"


def add_entry(speaker_folder: Path, word: str, pron: str) -> str | None:
    """Add or change one word in the speaker's dictionary and save it at once; returns the
    pronunciation it had before (None when it was new). Raises UserDictError for a bad entry
    or a damaged file (nothing is written then), OSError when the disk refuses."""
    userdict = load_dictionary(speaker_folder)
    word = word.strip()
    before = userdict.entries().get(word)
    for other, had in userdict.entries().items():      # English ignores case: "Read" is "read"
        if other != word and other.isascii() and other.lower() == word.lower():
            userdict.remove(other)
            before = before or had
    userdict.add(word, pron)
    save_dictionary(speaker_folder, userdict)
    return before


def with_readings(userdict: UserDict, readings: dict[str, str] | None) -> UserDict:
    """The dictionary with a saved phrase's own readings on top (an entry that is no longer
    valid is left out, so an old phrase file never stops the phrase from being said)."""
    if not readings:
        return userdict
    merged = UserDict(userdict.entries())
    for word, pron in readings.items():
        try:
            merged.add(word, pron)
        except UserDictError:
            continue
    return merged
