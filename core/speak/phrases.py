"""Saved phrases ("Yes", "Please call my wife"): a list the user builds, in their order, with
their audio cached so that a phrase plays at once the second time.

The cache key is voice (id + build time) + text + speed + dictionary stamp: a rebuilt voice or an
edited dictionary never plays stale audio, and `prune` removes the files no key can reach.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from core.bank.files import read_json, write_json_atomic
from core.diskspace import FREE_SPACE_THEN_RETRY, copy_file_atomic
from core.speak import speak_folder
from core.textcheck import text_problem

MAX_PHRASE_CHARS = 500
PHRASES_FILE = "phrases.json"
CACHE_DIR = "phrase-cache"


class PhraseError(Exception):
    """A phrase that cannot be saved; the message says what to do."""


@dataclass(frozen=True)
class Phrase:
    id: str
    text: str
    # its own readings, word -> pronunciation (core.text.userdict form): fixed when it was saved
    # or later, they override the pronunciation dictionary whenever this phrase is said
    readings: dict[str, str] = field(default_factory=dict, hash=False)


def _readings(value) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {w: p for w, p in value.items() if isinstance(w, str) and isinstance(p, str) and w and p}


def phrase_text(text: str) -> str:
    """A phrase as it is kept and matched: its words, single-spaced."""
    return " ".join(str(text).split())


def cache_key(voice_key: str, text: str, speed: float, dictionary_stamp: str) -> str:
    raw = f"{voice_key}\n{text.strip()}\n{speed:.2f}\n{dictionary_stamp}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


class PhraseBook:
    def __init__(self, speaker_folder: Path):
        self.folder = speak_folder(speaker_folder)
        self.file = self.folder / PHRASES_FILE
        self.cache_dir = self.folder / CACHE_DIR

    # the list ------------------------------------------------------------------------------
    def phrases(self) -> list[Phrase]:
        data = read_json(self.file)
        items = data.get("phrases") if isinstance(data, dict) else None
        out = []
        for item in items or []:
            if isinstance(item, dict) and isinstance(item.get("text"), str) and item.get("id"):
                out.append(Phrase(str(item["id"]), item["text"], _readings(item.get("readings"))))
        return out

    def _save(self, phrases: list[Phrase]) -> None:
        items = [{"id": p.id, "text": p.text, **({"readings": p.readings} if p.readings else {})}
                 for p in phrases]
        write_json_atomic(self.file, {"version": 1, "phrases": items},
                          failed="the list of saved phrases could not be saved")

    def find(self, text: str) -> Phrase | None:
        text = phrase_text(text)
        return next((p for p in self.phrases() if p.text == text), None)

    def set_readings(self, phrase_id: str, readings: dict[str, str]) -> None:
        """Replace the phrase's own readings (word -> pronunciation)."""
        phrases = self.phrases()
        self._save([Phrase(p.id, p.text, dict(readings)) if p.id == phrase_id else p for p in phrases])

    def add(self, text: str, readings: dict[str, str] | None = None) -> Phrase:
        text = phrase_text(text)
        if not text:
            raise PhraseError("There is no text to save. Type the phrase first, then add it.")
        if problem := text_problem(text, "The phrase"):
            raise PhraseError(problem)      # a lone surrogate would break phrases.json halfway
        if len(text) > MAX_PHRASE_CHARS:
            raise PhraseError(f"The phrase is {len(text)} characters long; keep saved phrases under "
                              f"{MAX_PHRASE_CHARS} characters.")
        phrases = self.phrases()
        for phrase in phrases:
            if phrase.text == text:
                raise PhraseError(f"“{text}” is already a saved phrase (number {phrases.index(phrase) + 1}).")
        phrase = Phrase(uuid.uuid4().hex[:10], text, _readings(readings or {}))
        self._save(phrases + [phrase])
        return phrase

    def remove(self, phrase_id: str) -> None:
        self._save([p for p in self.phrases() if p.id != phrase_id])

    def move(self, phrase_id: str, offset: int) -> int:
        """Move a phrase up (-1) or down (+1); returns its new index (unchanged at either end)."""
        phrases = self.phrases()
        index = next((i for i, p in enumerate(phrases) if p.id == phrase_id), None)
        if index is None:
            raise PhraseError("That phrase is no longer in the list.")
        target = max(0, min(len(phrases) - 1, index + offset))
        if target != index:
            phrases.insert(target, phrases.pop(index))
            self._save(phrases)
        return target

    # the audio cache -----------------------------------------------------------------------
    def cache_path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.wav"

    def cached(self, key: str) -> Path | None:
        path = self.cache_path(key)
        return path if path.is_file() and path.stat().st_size > 44 else None

    def store(self, key: str, audio: Path) -> Path:
        """Keep a copy of the phrase's audio under its key (atomic: never a half file; a full disk
        raises DiskFullError and the phrase is simply made again next time)."""
        return copy_file_atomic(audio, self.cache_path(key), advice=FREE_SPACE_THEN_RETRY,
                                failed="the phrase's sound could not be kept for saying it instantly")

    def prune(self, keep: set[str]) -> int:
        """Delete cached audio whose key is not in `keep` (another voice, dictionary or speed)."""
        removed = 0
        if self.cache_dir.is_dir():
            for path in self.cache_dir.glob("*.wav"):
                if path.stem not in keep:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def clear_cache(self) -> None:
        self.prune(set())
