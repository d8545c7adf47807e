"""User pronunciation dictionary: word -> pinyin ("zhang1 san1") or ARPAbet ("T AH0 M AA1 S").

Stored as JSON ``{"version": 1, "entries": {"张三": "zhang1 san1", "Tomas": "T AH0 M AA1 S"}}``.
A Chinese word (Han characters only) takes one tone-numbered pinyin syllable per character
(tone 5 = neutral, ü may be written v); a Latin word (letters, ' and -) takes ARPAbet with a
stress digit 0-2 on every vowel. Entries override the G2P; Chinese entries are spoken exactly
as written (no tone sandhi applied to them). English lookups ignore case.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import TextError

ARPABET_CONSONANTS = {
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH",
    "T", "TH", "V", "W", "Y", "Z", "ZH",
}
ARPABET_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
_RE_HAN_WORD = re.compile(r"^[\u4e00-\u9fa5]+$")
_RE_LATIN_WORD = re.compile(r"^[A-Za-z]+(?:['-][A-Za-z]+)*$")
_RE_SYLLABLE = re.compile(r"^[a-zü]+[1-5]$")


class UserDictError(TextError):
    """An entry that cannot be used; the message says which and why."""


def _parse_pinyin(word: str, pron: str) -> list[str]:
    from .zh_g2p import split_tone3, syllable_phones

    syllables = pron.lower().replace("u:", "v").split()
    if len(syllables) != len(word):
        raise UserDictError(
            f"“{word}” has {len(word)} character(s) but the pronunciation “{pron}” has "
            f"{len(syllables)} syllable(s); give one pinyin syllable per character, e.g. “zhang1 san1”.")
    out = []
    for syl in syllables:
        if not _RE_SYLLABLE.match(syl):
            raise UserDictError(
                f"“{syl}” (in “{word}”) is not a pinyin syllable with a tone number 1-5, e.g. “zhang1”, “ma5”.")
        if syllable_phones(*split_tone3(syl)) is None:
            raise UserDictError(f"“{syl}” (in “{word}”) is not a Mandarin syllable.")
        out.append(syl.replace("ü", "v"))
    return out


def _parse_arpabet(word: str, pron: str) -> list[str]:
    phones = pron.upper().split()
    if not phones:
        raise UserDictError(f"The pronunciation of “{word}” is empty.")
    for ph in phones:
        base, stress = (ph[:-1], ph[-1]) if ph[-1:].isdigit() else (ph, "")
        if base in ARPABET_VOWELS:
            if stress not in ("0", "1", "2"):
                raise UserDictError(
                    f"The vowel “{ph}” (in “{word}”) needs a stress number 0, 1 or 2, e.g. “{base}1”.")
        elif base in ARPABET_CONSONANTS:
            if stress:
                raise UserDictError(f"The consonant “{ph}” (in “{word}”) takes no stress number; write “{base}”.")
        else:
            raise UserDictError(f"“{ph}” (in “{word}”) is not an ARPAbet phone (e.g. AA1, T, SH).")
    return phones


def parse_entry(word: str, pron: str) -> tuple[str, list[str]]:
    """Validate one entry -> ('zh', syllables) or ('en', ARPAbet phones)."""
    if not isinstance(word, str) or not isinstance(pron, str):
        raise UserDictError("A dictionary entry needs a word and a pronunciation, both text.")
    word, pron = word.strip(), pron.strip()
    if not word:
        raise UserDictError("A dictionary entry has an empty word.")
    if not pron:
        raise UserDictError(f"The pronunciation of “{word}” is empty.")
    if _RE_HAN_WORD.match(word):
        return "zh", _parse_pinyin(word, pron)
    if _RE_LATIN_WORD.match(word):
        return "en", _parse_arpabet(word, pron)
    raise UserDictError(
        f"“{word}” cannot be a dictionary word: use only Chinese characters, or only English "
        f"letters (with ' or -), without spaces or digits.")


class UserDict:
    """Validated pronunciation overrides."""

    def __init__(self, entries: dict[str, str] | None = None):
        self._raw: dict[str, str] = {}
        self.zh: dict[str, list[str]] = {}
        self.en: dict[str, list[str]] = {}
        for word, pron in (entries or {}).items():
            self.add(word, pron)

    def add(self, word: str, pron: str) -> None:
        lang, parsed = parse_entry(word, pron)
        word = word.strip()
        self.remove(word)
        self._raw[word] = " ".join(pron.split())
        if lang == "zh":
            self.zh[word] = parsed
        else:
            self.en[word.lower()] = parsed

    def remove(self, word: str) -> None:
        word = word.strip()
        if self._raw.pop(word, None) is not None:
            self.zh.pop(word, None)
            self.en.pop(word.lower(), None)

    def entries(self) -> dict[str, str]:
        return dict(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, word: str) -> bool:
        return word.strip() in self._raw

    # ---- storage
    def to_json(self) -> str:
        return json.dumps({"version": 1, "entries": self._raw}, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "UserDict":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserDictError(f"The pronunciation dictionary is not valid JSON ({e.msg}, line {e.lineno}).") from None
        if isinstance(data, dict) and "entries" in data:
            data = data["entries"]
        if not isinstance(data, dict):
            raise UserDictError("The pronunciation dictionary must map words to pronunciations.")
        return cls(data)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> "UserDict":
        path = Path(path)
        if not path.exists():
            return cls()
        return cls.from_json(path.read_text(encoding="utf-8"))
