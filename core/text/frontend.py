"""Public API of the text front end.

    phonemize("我用 iPhone 打电话") -> Phonemized(phones, ids, word2ph, norm_text, segments)

Mixed text is split into Chinese and English runs; each run is normalised and converted alone
and the results are concatenated, as in the original v2. For a Chinese segment,
``len(word2ph) == len(norm_text)`` (one count per character: 2 per Han character, 1 per mark),
which is what BERT feature expansion needs. For an English segment word2ph holds one count per
word or mark (BERT features are zeros there); in every segment ``sum(word2ph) == len(phones)``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from . import en_g2p, en_normalize, zh_g2p, zh_normalize
from .errors import TextError
from .segment import split_language, split_sentences  # noqa: F401  (public)
from .symbols import phones_to_ids
from .userdict import UserDict

MAX_CHARS = 100_000
# terminal colour codes, then control and format characters (bidi marks, zero-width spaces):
# never spoken and not worth a note; a space keeps the words either side apart
_RE_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _strip_invisible(text: str) -> str:
    text = _RE_ANSI.sub(" ", text)
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf") and c != "\n" else c for c in text)
LANGUAGES = ("auto", "zh", "en")


@dataclass(frozen=True)
class SaidWord:
    """One word (or mark) of a segment and the very phones it is said with, for showing a text's
    reading (core.text.reading). ``syllables``: Chinese only, the tone3 syllable of each
    character ("" for a mark). ``source``: "user", "context", "dictionary", "spelled", "guess"
    or "mark"."""
    text: str
    phones: tuple[str, ...]
    source: str
    syllables: tuple[str, ...] = ()


@dataclass
class Segment:
    language: str  # "zh" or "en"
    norm_text: str
    phones: list[str]
    word2ph: list[int]
    words: list[SaidWord] = field(default_factory=list)


def _zh_words(res: zh_g2p.ZhResult) -> list[SaidWord]:
    out, at = [], 0
    for word in res.words:
        n = sum(2 if syl else 1 if ch in zh_g2p.PUNCT else 0 for ch, syl in zip(word.text, word.syllables))
        source = word.source if any(word.syllables) else "mark"
        out.append(SaidWord(word.text, tuple(res.phones[at:at + n]), source, word.syllables))
        at += n
    return out


def _en_words(res: en_g2p.EnResult) -> list[SaidWord]:
    out, at = [], 0
    for word, n, source in zip(res.words, res.word2ph, res.sources):
        out.append(SaidWord(word, tuple(res.phones[at:at + n]), source))
        at += n
    return out


@dataclass
class Phonemized:
    phones: list[str]
    ids: list[int]
    word2ph: list[int]
    norm_text: str
    segments: list[Segment]
    notes: list[str] = field(default_factory=list)  # e.g. characters that were dropped


def _en_segment(text: str, ud: UserDict | None) -> Segment | None:
    norm = en_normalize.normalize(text)
    if not norm:
        return None
    res = en_g2p.g2p(norm, ud.en if ud else None)
    if not res.phones:
        return None
    return Segment("en", norm, res.phones, res.word2ph, _en_words(res))


def _run(text: str, language: str, ud: UserDict | None) -> tuple[list[Segment], str]:
    runs, dropped = split_language(text, language)
    runs = [(lang, zh_normalize.normalize(t) if lang == "zh" else t) for lang, t in runs]
    # every Chinese run at once: g2pW, when installed, is asked about them in one run
    zh_results = iter(zh_g2p.g2p_many([t for lang, t in runs if lang == "zh" and t], ud.zh if ud else None))
    segments = []
    for lang, t in runs:
        if lang == "en":
            seg = _en_segment(t, ud)
        elif t and (res := next(zh_results)).phones:
            seg = Segment("zh", res.text, res.phones, res.word2ph, _zh_words(res))
        else:
            seg = None
        if seg is not None:
            segments.append(seg)
    return segments, dropped


def phonemize(text: str, language: str = "auto", userdict: UserDict | dict | None = None) -> Phonemized:
    """Text -> v2 phones. ``language``: 'auto' or 'zh' (Chinese mixed with English), 'en'.

    Raises TextError (a message for the user) when nothing can be spoken.
    """
    if not isinstance(text, str):
        raise TextError("The text must be a string.")
    if language not in LANGUAGES:
        raise TextError(f"Unknown language “{language}”: use one of {', '.join(LANGUAGES)}.")
    if isinstance(userdict, dict):
        userdict = UserDict(userdict)
    if len(text) <= MAX_CHARS:
        text = _strip_invisible(text)
    if not text.strip():
        raise TextError("Nothing to say: the text is empty.")
    if len(text) > MAX_CHARS:
        raise TextError(f"The text is too long ({len(text):,} characters); split it into parts "
                        f"of at most {MAX_CHARS:,} characters.")
    segments, dropped = _run(text, language, userdict)
    notes = []
    if dropped:
        notes.append("Skipped characters that cannot be spoken (only Chinese and English are "
                      f"supported): {dropped}")
    if not any(p not in ",.!?…-" for s in segments for p in s.phones):
        if dropped:
            raise TextError("Nothing to say: only Chinese and English can be spoken, and the text "
                            f"has neither (unsupported characters: {dropped[:20]}).")
        raise TextError("Nothing to say: the text has no Chinese or English words.")
    if sum(len(s.phones) for s in segments) < 6:
        # as the original: a very short text is redone with "." in front
        segments, _ = _run("." + text, language, userdict)
    phones = [p for s in segments for p in s.phones]
    word2ph = [n for s in segments for n in s.word2ph]
    return Phonemized(
        phones=phones,
        ids=phones_to_ids(phones),
        word2ph=word2ph,
        norm_text="".join(s.norm_text for s in segments),
        segments=segments,
        notes=notes,
    )


__all__ = ["Phonemized", "SaidWord", "Segment", "TextError", "UserDict", "phonemize", "split_sentences"]
