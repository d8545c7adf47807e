"""Mandarin G2P in the GPT-SoVITS v2 manner: normalised text -> (phones, word2ph).

Pipeline per sentence: jieba POS segmentation -> pre-merges (不, 一, reduplication,
consecutive third tones, 儿) -> pinyin (pypinyin, sentence level, tone3 with 5 = neutral)
-> word-level polyphone corrections -> tone sandhi (不, 一, neutral tone, third tone) -> 儿
tone -> the sandhi across word boundaries (不 in a potential complement, a third tone before the
word it binds to) -> each syllable to two phones via opencpop-strict. Each Han character gives
2 phones, each punctuation mark 1.

The original v2 resolves polyphones with the g2pW neural model. Here g2pW is optional
(g2pw.py): when it is installed it decides every polyphone it covers, asked for all the
clauses of a text in one batched run, except where the project's explicit fixes apply (the
word table, 子 read zi3, and the user's dictionary, which never reaches the model); when it
is not installed, or fails, the rules decide (zh_context.py): the project's word table
(resources/text/zh_polyphones.json), then a word of pypinyin's phrase dictionary around the
character (for a lone verb, with the word beside it), then context rules, then a
part-of-speech table, then pypinyin's reading of the jieba word. Pinyin is looked up per jieba word, so a word's reading never depends on how
pypinyin would cut the sentence. The pre-merges and tone sandhi are in zh_sandhi.py.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from core.paths import resources_dir

from . import g2pw, zh_context
from .zh_sandhi import ZI3_WORDS, cross_word, erhua, load_jieba, modify_tones, pre_merge

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
_TIMES_OF_DAY = {"上午", "下午", "中午", "凌晨", "晚上", "早上", "夜里", "半夜", "今天", "明天", "昨天"}


def _yi_as_digit(sentence: str, j: int) -> bool:
    """一 read yi1 by its neighbours: inside a number (十一, 一百一十, 二零一九), a day of a
    date (三月一日), or the month name 一月."""
    prev = sentence[j - 1] if j > 0 else ""
    nxt = sentence[j + 1] if j + 1 < len(sentence) else ""
    after = sentence[j + 2] if j + 2 < len(sentence) else ""
    if prev in _NUMERALS or nxt in _DIGITS:
        return True
    if (nxt == "点" and after and (after in _NUMERALS or after in "半整钟")) or (nxt == "到" and after in _NUMERALS):
        return True  # 一点五, 一点半, 一到两片
    if nxt == "点" and (not after or after in PUNCT):  # 下午一点 is a time; 快一点 is "a bit"
        return sentence[max(0, j - 2):j] in _TIMES_OF_DAY or prev in ("到", "在", "约")
    return (prev == "月" and nxt in ("日", "号")) or (nxt == "月" and prev != "个")


def _zi3_at(word: str, k: int) -> bool:
    """原子, 电子产品: this 子 keeps zi3."""
    return k > 0 and word[k] == "子" and (word[:k + 1] in ZI3_WORDS or word[k - 1:k + 1] in ZI3_WORDS)


def _fixed(word: str) -> set[int]:
    """Positions in a jieba word that the project's explicit fixes decide (the word table, 子
    read zi3): g2pW is not asked about them."""
    words, _ = _polyphones()
    if word in words:
        return set(range(len(word)))
    fixed = {k for k in range(1, len(word)) if _zi3_at(word, k)}
    if len(word) > 2:
        for k in range(len(word) - 1):
            if word[k:k + 2] in words:
                fixed |= {k, k + 1}
    return fixed


def _word_readings(sentence: str, start: int, seg: list[tuple[str, str]], i: int,
                   model: dict[int, str]) -> tuple[list[str], bool, bool]:
    """Tone3 syllables of the jieba word seg[i], which starts at ``start`` in the sentence,
    whether a dictionary gave them, and whether the context decided one of them (a rule, or
    g2pW: ``model`` holds its readings by position in the sentence)."""
    word, pos = seg[i]
    prev_word, prev_pos = seg[i - 1] if i > 0 else ("", "")
    next_word, next_pos = seg[i + 1] if i + 1 < len(seg) else ("", "")
    words, single = _polyphones()
    if word in words:
        return list(words[word]), True, False
    sy = list(_word_pinyin(word))
    in_dict = word in zh_context.phrase_dict()
    for k in range(1, len(word)):
        if _zi3_at(word, k):
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
        reading = zh_context.neighbour_phrase(ch, prev_word, next_word) if len(word) == 1 else None
        if reading is None:
            reading = zh_context.decide(ch, sentence[max(0, j - 6):j], sentence[j + 1:j + 7],
                                        prev_pos, next_pos, pos)
        if reading is not None:
            sy[k] = reading
            by_context = True
            in_dict = in_dict or len(word) == 1
        elif len(word) == 1 and (word, pos) in single:
            sy = [single[(word, pos)]]
    for k in range(len(word)):
        reading = model.get(start + k)
        if reading is not None and syllable_phones(*split_tone3(reading)) is not None:
            sy[k] = reading
            by_context = True
            in_dict = in_dict or len(word) == 1
    return sy, in_dict, by_context


def _segment(sentence: str) -> list[tuple[str, str]]:
    """jieba words with their parts of speech, after the pre-merges."""
    _, psg = load_jieba()
    with _lock:
        seg = [(p.word, p.flag) for p in psg.lcut(sentence)]
    return pre_merge(seg)


def _model_readings(plain: list[tuple[str, list[tuple[str, str]]]]) -> list[dict[int, str]]:
    """g2pW's readings for the polyphones of each (sentence, words), in one run; {} each when
    it is not installed or fails (then the rules decide)."""
    model = g2pw.get() if plain else None
    if model is None:
        return [{} for _ in plain]
    asks = []
    for sentence, seg in plain:
        positions, at = [], 0
        for word, pos in seg:
            if pos != "eng":
                fixed = _fixed(word)
                positions += [at + k for k, ch in enumerate(word) if k not in fixed and model.asks(ch)]
            at += len(word)
        asks.append((sentence, positions))
    try:
        return model.predict(asks)
    except Exception as exc:    # a damaged model must not cost the sentence: the rules read it
        g2pw.failed(model, exc)
        return [{} for _ in plain]


def _g2p_plain(sentence: str, seg: list[tuple[str, str]], model: dict[int, str], out: ZhResult) -> None:
    """G2P of a sentence with no user-dictionary words in it, from its jieba words."""
    from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials

    pos_i, read = 0, []
    for i, (word, pos) in enumerate(seg):
        start = pos_i
        pos_i += len(word)
        if pos == "eng":
            continue
        sy, in_dict, by_context = _word_readings(sentence, start, seg, i, model)
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
        read.append((seg[i], initials, finals, sy, by_context))
    cross_word([r[0] for r in read], [r[2] for r in read])
    for (word, _), initials, finals, sy, by_context in read:
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
    return g2p_many([norm_text], overrides)[0]


def _pieces(norm_text: str, pattern: re.Pattern | None) -> list[tuple[str, bool]]:
    """(text, from the user's dictionary) for each sentence of a text, split at the words of
    the user's dictionary; sentences end after punctuation, as in the original."""
    pieces: list[tuple[str, bool]] = []
    for sentence in (s for s in re.split(r"(?<=[!?…,.\-])\s*", norm_text) if s.strip()):
        pos = 0
        if pattern is not None:
            for m in pattern.finditer(sentence):
                if m.start() > pos:
                    pieces.append((sentence[pos:m.start()], False))
                pieces.append((m.group(0), True))
                pos = m.end()
        if pos < len(sentence):
            pieces.append((sentence[pos:], False))
    return pieces


def g2p_many(texts: list[str], overrides: dict[str, list[str]] | None = None) -> list[ZhResult]:
    """`g2p` of several texts (a mixed sentence's Chinese runs), g2pW asked about all in one run."""
    pattern = None
    if overrides:
        keys = sorted((k for k in overrides if k), key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(k) for k in keys)) if keys else None
    split = [_pieces(text, pattern) for text in texts]
    plain = [(piece, _segment(piece)) for pieces in split for piece, is_user in pieces if not is_user]
    readings = iter(zip(plain, _model_readings(plain)))
    results = []
    for pieces in split:
        out = ZhResult()
        for piece, is_user in pieces:
            if not is_user:
                (_, seg), model = next(readings)
                _g2p_plain(piece, seg, model, out)
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
        results.append(out)
    return results
