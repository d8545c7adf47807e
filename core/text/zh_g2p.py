"""Mandarin G2P in the GPT-SoVITS v2 manner: normalised text -> (phones, word2ph).

Pipeline per sentence: jieba POS segmentation -> pre-merges (不, 一, reduplication,
consecutive third tones, 儿) -> pinyin (pypinyin, sentence level, tone3 with 5 = neutral)
-> word-level polyphone corrections -> tone sandhi (不, 一, neutral tone, third tone) -> 儿
tone -> each syllable to two phones via opencpop-strict. Each Han character gives 2 phones,
each punctuation mark 1.

The original v2 resolves polyphones with the g2pW neural model; this front end decides them by
rules (zh_context.py): the project's word table (resources/text/zh_polyphones.json), then a
word of pypinyin's phrase dictionary around the character, then context rules, then a
part-of-speech table, then pypinyin's reading of the jieba word. Pinyin is looked up per jieba
word, so a word's reading never depends on how pypinyin would cut the sentence.
The pre-merges and tone sandhi are in zh_sandhi.py.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from core.paths import resources_dir

from . import zh_context
from .zh_sandhi import ZI3_WORDS, erhua, load_jieba, modify_tones, pre_merge

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
    words: list["ZhWord"] = field(default_factory=list)  # how each word is read, in order


@dataclass(frozen=True)
class ZhWord:
    """One word as it is read: its characters, the tone3 syllable each is said with after tone
    sandhi ("" for a mark or a dropped character), and where the reading came from: "user" (the
    pronunciation dictionary), "context" (a rule looking at the words around it) or "dictionary"."""
    text: str
    syllables: tuple[str, ...]
    source: str


@lru_cache(maxsize=20000)
def _word_pinyin(word: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True,
                             errors=lambda x: list(x)))


_NUMERALS = set("零一二三四五六七八九十百千万亿两幺")
_DIGITS = set("零一二三四五六七八九幺")


def _yi_as_digit(sentence: str, j: int) -> bool:
    """一 read yi1 by its neighbours: inside a number (十一, 一百一十, 二零一九), a day of a
    date (三月一日), or the month name 一月."""
    prev = sentence[j - 1] if j > 0 else ""
    nxt = sentence[j + 1] if j + 1 < len(sentence) else ""
    after = sentence[j + 2] if j + 2 < len(sentence) else ""
    if prev in _NUMERALS or nxt in _DIGITS:
        return True
    if (nxt == "点" and (after in _NUMERALS or after in "半整钟")) or (nxt == "到" and after in _NUMERALS):
        return True  # 一点五, 一点半, 一到两片
    return (prev == "月" and nxt in ("日", "号")) or (nxt == "月" and prev != "个")


def _word_readings(sentence: str, start: int, word: str, pos: str, prev_pos: str,
                   next_pos: str) -> tuple[list[str], bool, bool]:
    """Tone3 syllables of one jieba word in its sentence, whether a dictionary gave them, and
    whether a context rule decided one of them."""
    words, single = _polyphones()
    if word in words:
        return list(words[word]), True, False
    sy = list(_word_pinyin(word))
    in_dict = word in zh_context.phrase_dict()
    for k in range(1, len(word)):  # 原子, 电子产品: 子 keeps zi3
        if word[k] == "子" and (word[:k + 1] in ZI3_WORDS or word[k - 1:k + 1] in ZI3_WORDS):
            sy[k] = "zi3"
            in_dict = in_dict or k == len(word) - 1
    for k in range(len(word) - 1):  # corrections for sub-words of a merged word
        pair = word[k:k + 2]
        if pair in words and len(word) > 2:
            sy[k:k + 2] = list(words[pair])
    by_context = False
    for k, ch in enumerate(word):
        if not zh_context.candidates(ch) or zh_context.covered(word, k, words):
            if len(word) == 1 and (word, pos) in single:
                sy = [single[(word, pos)]]
            continue
        j = start + k
        reading = zh_context.decide(ch, sentence[max(0, j - 6):j], sentence[j + 1:j + 7], prev_pos, next_pos)
        if reading is not None:
            sy[k] = reading
            by_context = True
            in_dict = in_dict or len(word) == 1
        elif len(word) == 1 and (word, pos) in single:
            sy = [single[(word, pos)]]
    return sy, in_dict, by_context


def _g2p_plain(sentence: str, out: ZhResult) -> None:
    """G2P of a sentence with no user-dictionary words in it."""
    from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials

    _, psg = load_jieba()
    with _lock:
        seg = [(p.word, p.flag) for p in psg.lcut(sentence)]
    seg = pre_merge(seg)
    pos_i = 0
    for i, (word, pos) in enumerate(seg):
        start = pos_i
        pos_i += len(word)
        if pos == "eng":
            continue
        prev_pos = seg[i - 1][1] if i > 0 else ""
        next_pos = seg[i + 1][1] if i + 1 < len(seg) else ""
        sy, in_dict, by_context = _word_readings(sentence, start, word, pos, prev_pos, next_pos)
        initials, finals = [], []
        for ch, p in zip(word, sy):
            if ch in PUNCT or not p[:1].isalpha():
                initials.append(ch)
                finals.append(ch)
            else:
                initials.append(to_initials(p, strict=True))
                f = to_finals_tone3(p, strict=True, neutral_tone_with_five=True)
                finals.append(f if f[-1:] in tuple("12345") else f + "5")
        finals = modify_tones(word, pos, finals, in_dict)
        finals = erhua(word, pos, finals)
        for k, ch in enumerate(word):
            if ch == "一" and finals[k][:1] == "i" and _yi_as_digit(sentence, start + k):
                finals[k] = "i1"
        said = []
        for ch, c, v, p in zip(word, initials, finals, sy):
            if c == v:
                if ch in PUNCT:
                    out.phones.append(ch)
                    out.word2ph.append(1)
                    out.text += ch
                else:
                    out.dropped += ch
                said.append("")
                continue
            pair = syllable_phones(c, v)
            if pair is None:
                out.dropped += ch
                said.append("")
                continue
            out.phones.extend(pair)
            out.word2ph.append(2)
            out.text += ch
            said.append(p.rstrip("12345") + v[-1])     # the syllable with its tone after sandhi
        out.words.append(ZhWord(word, tuple(said), "context" if by_context else "dictionary"))


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
            said = []
            for ch, syl in zip(piece, overrides[piece]):
                pair = syllable_phones(*split_tone3(syl))
                if pair is None:
                    out.dropped += ch
                    said.append("")
                    continue
                out.phones.extend(pair)
                out.word2ph.append(2)
                out.text += ch
                said.append(syl)
            out.words.append(ZhWord(piece, tuple(said), "user"))
    return out
