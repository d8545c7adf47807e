"""Mandarin G2P in the GPT-SoVITS v2 manner: normalised text -> (phones, word2ph).

Pipeline per sentence: jieba POS segmentation -> pre-merges (不, 一, reduplication,
consecutive third tones, 儿) -> pinyin (pypinyin, sentence level, tone3 with 5 = neutral)
-> word-level polyphone corrections -> tone sandhi (不, 一, neutral tone, third tone) -> 儿
tone -> each syllable to two phones via opencpop-strict. Each Han character gives 2 phones,
each punctuation mark 1.

The original v2 resolves polyphones with the g2pW neural model; this front end uses pypinyin's
phrase dictionary plus a small correction table (resources/text/zh_polyphones.json).
The pre-merges and tone sandhi are in zh_sandhi.py.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from core.paths import resources_dir

from .zh_sandhi import erhua, load_jieba, modify_tones, pre_merge

PUNCT = set("!?…,.-")
_lock = threading.Lock()


# --------------------------------------------------------------------------- resources
@lru_cache(maxsize=1)
def syllable_table() -> dict[str, tuple[str, str]]:
    table = {}
    path = resources_dir() / "text" / "opencpop-strict.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, value = line.split("\t")
        ini, fin = value.split(" ")
        table[key] = (ini, fin)
    return table


@lru_cache(maxsize=1)
def _polyphones() -> tuple[dict[str, list[str]], dict[tuple[str, str], str]]:
    data = json.loads((resources_dir() / "text" / "zh_polyphones.json").read_text(encoding="utf-8"))
    single = {}
    for k, v in data["single"].items():
        ch, pos = k.split("/")
        single[(ch, pos)] = v
    return data["words"], single


# --------------------------------------------------------------------------- syllables
_FALLBACK = {"m": "mu", "n": "en", "ng": "en", "hm": "hen", "hng": "hen", "ê": "ei", "e": "e"}


def syllable_phones(initial: str, final: str) -> tuple[str, str] | None:
    """pypinyin strict initial + tone3 final -> the two v2 phones (None if unknown)."""
    if not final or final[-1] not in "12345":
        final = final + "5"
    tone, bare = final[-1], final[:-1]
    if initial:
        bare = {"uei": "ui", "iou": "iu", "uen": "un"}.get(bare, bare)
        key = initial + bare
    else:
        key = {"ing": "ying", "i": "yi", "in": "yin", "u": "wu"}.get(bare)
        if key is None:
            if bare[:1] == "v":
                key = "yu" + bare[1:]
            elif bare[:1] == "i":
                key = "y" + bare[1:]
            elif bare[:1] == "u":
                key = "w" + bare[1:]
            else:
                key = bare
    table = syllable_table()
    if key not in table:
        key = _FALLBACK.get(key, key)
    if key not in table:
        return None
    ini, fin = table[key]
    return ini, fin + tone


def split_tone3(syllable: str) -> tuple[str, str]:
    """'zhang1' -> ('zh', 'ang1') in pypinyin's strict convention ('yu2' -> ('', 'v2'))."""
    from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials

    s = syllable.replace("ü", "v")
    if s[-1] not in "12345":
        s += "5"
    ini = to_initials(s, strict=True)
    fin = to_finals_tone3(s, strict=True, neutral_tone_with_five=True)
    if fin and fin[-1] not in "12345":
        fin += s[-1]
    return ini, fin


# --------------------------------------------------------------------------- main
@dataclass
class ZhResult:
    phones: list[str] = field(default_factory=list)
    word2ph: list[int] = field(default_factory=list)
    text: str = ""  # the characters that produced phones (= normalised text minus dropped)
    dropped: str = ""


def _sentence_pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True,
                       errors=lambda x: list(x))


def _g2p_plain(sentence: str, out: ZhResult) -> None:
    """G2P of a sentence with no user-dictionary words in it."""
    from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials

    _, psg = load_jieba()
    with _lock:
        seg = [(p.word, p.flag) for p in psg.lcut(sentence)]
    seg = pre_merge(seg)
    pinyins = _sentence_pinyin(sentence)
    words, single = _polyphones()
    pos_i = 0
    for word, pos in seg:
        sy = pinyins[pos_i: pos_i + len(word)]
        pos_i += len(word)
        if pos == "eng":
            continue
        if word in words:
            sy = list(words[word])
        elif len(word) == 1 and (word, pos) in single:
            sy = [single[(word, pos)]]
        for k in range(len(word) - 1):  # corrections for sub-words of a merged word
            pair = word[k:k + 2]
            if pair in words and len(word) > 2:
                sy[k:k + 2] = list(words[pair])
        initials, finals = [], []
        for ch, p in zip(word, sy):
            if ch in PUNCT or not p[:1].isalpha():
                initials.append(ch)
                finals.append(ch)
            else:
                initials.append(to_initials(p, strict=True))
                f = to_finals_tone3(p, strict=True, neutral_tone_with_five=True)
                finals.append(f if f[-1:] in tuple("12345") else f + "5")
        finals = modify_tones(word, pos, finals)
        finals = erhua(word, pos, finals)
        for ch, c, v in zip(word, initials, finals):
            if c == v:
                if ch in PUNCT:
                    out.phones.append(ch)
                    out.word2ph.append(1)
                    out.text += ch
                else:
                    out.dropped += ch
                continue
            pair = syllable_phones(c, v)
            if pair is None:
                out.dropped += ch
                continue
            out.phones.extend(pair)
            out.word2ph.append(2)
            out.text += ch


def g2p(norm_text: str, overrides: dict[str, list[str]] | None = None) -> ZhResult:
    """Normalised Chinese text (Han + ``, . ! ? … -``) -> phones and word2ph.

    ``overrides``: word -> tone3 syllables (one per character) from the user dictionary; those
    words are spoken exactly as given (no sandhi across them).
    """
    out = ZhResult()
    # sentences end after punctuation, as in the original
    sentences = [s for s in re.split(r"(?<=[!?…,.\-])\s*", norm_text) if s.strip()]
    pattern = None
    if overrides:
        keys = sorted((k for k in overrides if k), key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(k) for k in keys)) if keys else None
    for sentence in sentences:
        pos = 0
        pieces: list[tuple[str, bool]] = []
        if pattern is not None:
            for m in pattern.finditer(sentence):
                if m.start() > pos:
                    pieces.append((sentence[pos:m.start()], False))
                pieces.append((m.group(0), True))
                pos = m.end()
        if pos < len(sentence):
            pieces.append((sentence[pos:], False))
        for piece, is_user in pieces:
            if not is_user:
                _g2p_plain(piece, out)
                continue
            for ch, syl in zip(piece, overrides[piece]):
                pair = syllable_phones(*split_tone3(syl))
                if pair is None:
                    out.dropped += ch
                    continue
                out.phones.extend(pair)
                out.word2ph.append(2)
                out.text += ch
    return out
