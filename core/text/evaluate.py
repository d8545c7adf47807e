"""Score the text front end on the project's labelled test set, by category.

    python -m core.text.evaluate [--failures] [--lang zh|en] [--no-speed] [--set main|heldout|all]

The test set is core/text/data/eval_zh.tsv (a sentence -> the pinyin of target characters, as
spoken) and eval_en.tsv (a sentence -> the ARPAbet of a target word, or words the normalised
text must contain); the header of each file describes its columns. ``--set heldout`` scores the
held-out set instead (heldout_zh.tsv, heldout_en.tsv: same format, written after the rules and
never used to tune them), ``--set all`` both, one after the other. The command prints the
share of checks passed per category and per language, and the time the front end takes for
a 50-character mixed sentence (median of repeated runs; a figure, not a test).
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SETS = {"main": "eval", "heldout": "heldout"}  # test set -> file prefix
SPEED_SENTENCE = "今天是2024年3月5日，Dr. Smith在北京花了$3.50买了3个苹果，我觉得还行，你呢？"


@dataclass
class Item:
    lang: str
    category: str
    text: str
    target: str
    expected: str
    source: str
    line: int
    test_set: str = "main"


@dataclass
class Outcome:
    item: Item
    ok: bool
    got: str


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def by_category(self, lang: str) -> "OrderedDict[str, tuple[int, int]]":
        out: OrderedDict[str, tuple[int, int]] = OrderedDict()
        for o in self.outcomes:
            if o.item.lang != lang:
                continue
            ok, n = out.get(o.item.category, (0, 0))
            out[o.item.category] = (ok + o.ok, n + 1)
        return out

    def score(self, lang: str) -> float:
        rows = [o.ok for o in self.outcomes if o.item.lang == lang]
        return sum(rows) / len(rows) if rows else 0.0

    def failures(self, lang: str | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok and lang in (None, o.item.lang)]


def load(lang: str, test_set: str = "main") -> list[Item]:
    path = DATA / f"{SETS[test_set]}_{lang}.tsv"
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 5:
            raise ValueError(f"{path.name}:{n}: expected 5 tab-separated columns, got {len(cols)}")
        items.append(Item(lang, *cols, line=n, test_set=test_set))
    return items


def _target(target: str) -> tuple[str, int]:
    if "@" in target:
        text, k = target.rsplit("@", 1)
        return text, int(k)
    return target, 1


def _find(haystack, needle, k: int) -> int:
    """Start of the k-th occurrence of needle (a string or list) in haystack, or -1."""
    n = len(needle)
    seen = 0
    for i in range(len(haystack) - n + 1):
        if haystack[i:i + n] == needle:
            seen += 1
            if seen == k:
                return i
    return -1


# --------------------------------------------------------------------------- Chinese
def _zh_readings(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Han characters of the normalised text and the two phones each one got."""
    from .frontend import phonemize

    chars, pairs = [], []
    for seg in phonemize(text).segments:
        if seg.language != "zh":
            continue
        i = 0
        for ch, n in zip(seg.norm_text, seg.word2ph):
            if n == 2:
                chars.append(ch)
                pairs.append((seg.phones[i], seg.phones[i + 1]))
            i += n
    return "".join(chars), pairs


def _syllable_pair(syllable: str) -> tuple[str, str] | None:
    from .zh_g2p import split_tone3, syllable_phones

    return syllable_phones(*split_tone3(syllable))


def _pair_to_pinyin(pair: tuple[str, str]) -> str:
    from .zh_g2p import syllable_table

    rev = {v: k for k, v in syllable_table().items()}
    ini, fin = pair
    return rev.get((ini, fin[:-1]), "?") + fin[-1:]


def _zh_match(expected: list[str], got: list[tuple[str, str]], tolerant: bool) -> bool:
    if len(expected) != len(got):
        return False
    for k, (syl, pair) in enumerate(zip(expected, got)):
        want = _syllable_pair(syl)
        if want == pair:
            continue
        # number readings: a third tone before a third tone may surface as a second tone
        nxt = expected[k + 1] if k + 1 < len(expected) else ""
        if tolerant and want and syl.endswith("3") and nxt.endswith("3") \
                and pair == (want[0], want[1][:-1] + "2"):
            continue
        return False
    return True


def check_zh(item: Item) -> Outcome:
    han, pairs = _zh_readings(item.text)
    targets = item.target.split("|")
    readings = item.expected.split("|")
    if len(targets) == 1:
        options = [(targets[0], r) for r in readings]
    else:
        options = list(zip(targets, readings))
    tolerant = item.category.startswith("norm_")
    for target, reading in options:
        chars, k = _target(target)
        at = _find(han, chars, k)
        if at >= 0 and _zh_match(reading.split(), pairs[at:at + len(chars)], tolerant):
            return Outcome(item, True, reading)
    chars, k = _target(targets[0])
    at = _find(han, chars, k)
    if at < 0:
        return Outcome(item, False, f"“{chars}” not in “{han}”")
    got = " ".join(_pair_to_pinyin(p) for p in pairs[at:at + len(chars)])
    return Outcome(item, False, got)


# --------------------------------------------------------------------------- English
def _canon(text: str) -> str:
    t = text.lower().replace("-", " ")
    t = re.sub(r"[^a-z0-9 ]+", "", t)
    return " ".join(t.split())


def check_en(item: Item) -> Outcome:
    from . import en_g2p, en_normalize

    norm = en_normalize.normalize(item.text)
    if item.target == "-":
        have = _canon(norm)
        for alt in item.expected.split("|"):
            if alt.startswith("="):
                if have == _canon(alt[1:]):
                    return Outcome(item, True, norm)
            elif f" {_canon(alt)} " in f" {have} ":
                return Outcome(item, True, norm)
        return Outcome(item, False, norm)
    res = en_g2p.g2p(norm)
    word, k = _target(item.target)
    words = [w.lower() for w in res.words]
    at = _find(words, [word.lower()], k)
    if at < 0:
        return Outcome(item, False, f"“{word}” not in “{norm}”")
    start = sum(res.word2ph[:at])
    got = " ".join(res.phones[start:start + res.word2ph[at]])
    return Outcome(item, got in item.expected.split("|"), got)


# --------------------------------------------------------------------------- running
def evaluate(langs: tuple[str, ...] = ("zh", "en"), test_set: str = "main") -> Report:
    report = Report()
    for lang in langs:
        check = check_zh if lang == "zh" else check_en
        for item in load(lang, test_set):
            report.outcomes.append(check(item))
    return report


def front_end_ms(sentence: str = SPEED_SENTENCE, runs: int = 30) -> float:
    """Median wall time (ms) of the whole front end on one sentence, after a warm-up."""
    from .frontend import phonemize

    phonemize(sentence)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        phonemize(sentence)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.text.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--lang", choices=("zh", "en"), help="only this language")
    ap.add_argument("--failures", action="store_true", help="list every failed check")
    ap.add_argument("--no-speed", action="store_true", help="skip the timing")
    ap.add_argument("--set", dest="test_set", choices=("main", "heldout", "all"), default="main",
                    help="which test set: the main one (default), the held-out one, or both")
    args = ap.parse_args(argv)
    langs = (args.lang,) if args.lang else ("zh", "en")
    for test_set in (("main", "heldout") if args.test_set == "all" else (args.test_set,)):
        report = evaluate(langs, test_set)
        label = "" if test_set == "main" else " (held out)"
        for lang in langs:
            cats = report.by_category(lang)
            total = sum(n for _, n in cats.values())
            print(f"{lang}{label}: {report.score(lang):.1%} of {total} checks")
            for cat, (ok, n) in cats.items():
                print(f"  {cat:<14} {ok:>4}/{n:<4} {ok / n:6.1%}")
        if args.failures:
            where = "" if test_set == "main" else f"{test_set} "
            for o in report.failures():
                it = o.item
                print(f"FAIL {where}{it.lang}:{it.line} [{it.category}] {it.text} | {it.target}: "
                      f"want {it.expected}, got {o.got}")
    if not args.no_speed:
        ms = front_end_ms()
        print(f"front end, {len(SPEED_SENTENCE)}-character mixed sentence: {ms:.1f} ms (median of 30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
