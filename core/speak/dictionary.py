"""Where the speaker's pronunciation dictionary lives, and a stamp that changes with its content.

The format and validation are core.text.userdict's; the speak job loads the file named by its
`userdict` param and the engine applies it when it phonemizes each sentence.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from core.text.userdict import UserDict

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
