"""Language split of mixed Chinese/English text, and sentence splitting for synthesis."""
from __future__ import annotations

import re
import unicodedata

from .zh_normalize import UNIT_PATTERN

_F2H = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F) if chr(i - 0xFEE0).isalnum()}


def is_han(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def is_latin(ch: str) -> bool:
    if "a" <= ch.lower() <= "z":
        return True
    return ch.isalpha() and "LATIN" in unicodedata.name(ch, "")


def is_neutral(ch: str) -> bool:
    """Digits, spaces, punctuation and symbols that belong to whatever run they touch."""
    if ch.isdigit() or ch.isspace():
        return True
    cat = unicodedata.category(ch)
    if cat[0] in "PZ" or cat in ("Sm", "Sc", "Sk"):
        return True
    return ch in "°℃℉%‰№§©®™"


# number + unit (5km, 3kg, 10GB): the unit letters stay with the number's language
_RE_NUM_UNIT = re.compile(rf"\d+(?:\.\d+)?\s?(?:{UNIT_PATTERN})(?![A-Za-z])")


def _classify(text: str) -> list[tuple[str, str]]:
    """Characters -> runs of kind 'zh', 'en', 'neutral' or 'other' (unsupported)."""
    protected = [False] * len(text)
    for m in _RE_NUM_UNIT.finditer(text):
        for k in range(m.start(), m.end()):
            protected[k] = True
    runs: list[list[str]] = []
    for k, ch in enumerate(text):
        if protected[k] or is_neutral(ch):
            kind = "neutral"
        elif is_han(ch):
            kind = "zh"
        elif is_latin(ch) or (ch == "'" and runs and runs[-1][0] == "en"):
            kind = "en"
        else:
            kind = "other"
        if runs and runs[-1][0] == kind:
            runs[-1][1] += ch
        else:
            runs.append([kind, ch])
    return [(k, t) for k, t in runs]


def split_language(text: str, language: str = "auto") -> tuple[list[tuple[str, str]], str]:
    """Split into ('zh'|'en', text) runs. Returns (runs, unsupported characters dropped).

    Digits/punctuation/spaces attach to the run before them, except a number written right
    before a Han character ("2024年", "3个") which belongs to that Chinese run; at the start
    they attach to the next run. ``language``: 'auto'/'zh' (Chinese mixed with English) or
    'en' (English only: Han characters are dropped as unsupported).
    """
    text = text.translate(_F2H)
    runs = _classify(text)
    dropped = []
    cleaned: list[list[str]] = []
    for kind, t in runs:
        if kind == "other" or (language == "en" and kind == "zh"):
            dropped.extend(c for c in t if c not in dropped)
            # keep a boundary so that words either side do not fuse
            cleaned.append(["neutral", " "])
            continue
        cleaned.append([kind, t])
    # attach neutral runs
    out: list[list[str]] = []
    pending = ""  # neutral text waiting for the next run
    for i, (kind, t) in enumerate(cleaned):
        if kind != "neutral":
            out.append([kind, pending + t])
            pending = ""
            continue
        if not out:
            pending += t
            continue
        if out[-1][0] != "zh" and i + 1 < len(cleaned) and cleaned[i + 1][0] == "zh":
            # a number glued to the following Chinese ("iPhone 15个") goes with the Chinese
            m = re.search(r"-?\d[\d.,]*%?$", t)
            if m:
                out[-1][1] += t[: m.start()]
                pending += t[m.start():]
                continue
        out[-1][1] += t
    if pending:
        if out:
            out[-1][1] += pending
        else:
            # only digits/punctuation: read it in the requested language
            out.append(["en" if language == "en" else "zh", pending])
    # merge adjacent runs of the same language
    merged: list[list[str]] = []
    for kind, t in out:
        if merged and merged[-1][0] == kind:
            merged[-1][1] += t
        else:
            merged.append([kind, t])
    return [(k, t) for k, t in merged], "".join(dropped)


# --------------------------------------------------------------------------- sentences
_END_MARKS = "。！？!?；;…\n"
_ABBR_TAIL = re.compile(r"\b(Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Mt|vs|etc|No|e\.g|i\.e)\.$", re.IGNORECASE)
_SOFT_MARKS = "，,、：:"


def _sentences(text: str) -> list[str]:
    out, cur = [], ""
    i = 0
    while i < len(text):
        ch = text[i]
        cur += ch
        end = False
        if ch in _END_MARKS:
            end = True
        elif ch == "." and (i + 1 == len(text) or text[i + 1].isspace()) and not _ABBR_TAIL.search(cur):
            end = True
        if end:
            # keep closing quotes/brackets and further marks with this sentence
            while i + 1 < len(text) and text[i + 1] in "”’\"')）」』】" + _END_MARKS + ".":
                i += 1
                cur += text[i]
            out.append(cur)
            cur = ""
        i += 1
    if cur:
        out.append(cur)
    return [s.strip() for s in out if s.strip()]


def _hard_split(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    pieces, cur = [], ""
    for part in re.split(f"(?<=[{_SOFT_MARKS}])", sentence):
        if cur and len(cur) + len(part) > max_chars:
            pieces.append(cur)
            cur = ""
        cur += part
        while len(cur) > max_chars:
            cut = cur.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            pieces.append(cur[:cut])
            cur = cur[cut:].lstrip()
    if cur:
        pieces.append(cur)
    return pieces


def _has_words(s: str) -> bool:
    return any(is_han(c) or c.isalnum() for c in s)


def split_sentences(text: str, max_chars: int = 50, min_chars: int = 5) -> list[str]:
    """Split text for synthesis: sentences packed up to ``max_chars`` characters, long sentences
    cut at commas (then spaces), pieces shorter than ``min_chars`` merged into a neighbour,
    punctuation-only pieces dropped, and each piece ends with 。 (Chinese) or . (otherwise).
    """
    if max_chars < 5:
        raise ValueError("max_chars must be at least 5")
    pieces: list[str] = []
    for sentence in _sentences(text.strip()):
        pieces.extend(p.strip() for p in _hard_split(sentence, max_chars))
    pieces = [p for p in pieces if p and _has_words(p)]
    # pack short sentences together up to max_chars
    packed: list[str] = []
    for p in pieces:
        if packed and len(packed[-1]) + len(p) <= max_chars and (len(p) < min_chars or len(packed[-1]) < min_chars):
            packed[-1] = _join(packed[-1], p)
        else:
            packed.append(p)
    # anything still shorter than min_chars joins its neighbour (even past max_chars)
    merged: list[str] = []
    for p in packed:
        if merged and (len(p) < min_chars or len(merged[-1]) < min_chars):
            merged[-1] = _join(merged[-1], p)
        else:
            merged.append(p)
    return [_terminate(p) for p in merged]


def _join(a: str, b: str) -> str:
    if a and b and (is_latin(a[-1]) or a[-1] in ".,!?;:") and (is_latin(b[0]) or b[0].isdigit()):
        return a + " " + b
    return a + b


def _terminate(s: str) -> str:
    if s[-1] in "。！？!?.…;；,，:：":
        return s
    return s + ("。" if any(is_han(c) for c in s) else ".")
