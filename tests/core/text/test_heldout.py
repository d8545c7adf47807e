"""The held-out test set (core/text/data/heldout_*.tsv): written after the front-end rules and never
used to tune them. Its shape and sources are checked here; its score is a measurement (recorded in
BENCHMARKS.md), so no floor is asserted - the evaluation is only run."""
import re

import pytest

from core.text import evaluate as ev

MINIMUM = {"zh": 150, "en": 80}


@pytest.fixture(scope="module")
def report():
    return ev.evaluate(test_set="heldout")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_heldout_parses_with_every_category_of_the_main_set(lang):
    items = ev.load(lang, "heldout")
    assert len(items) >= MINIMUM[lang]
    assert all(i.test_set == "heldout" and i.source for i in items)
    main_cats = {i.category for i in ev.load(lang)}
    held_cats = {i.category for i in items}
    assert main_cats <= held_cats, sorted(main_cats - held_cats)
    for cat in main_cats:  # every category has more than a token row or two
        assert sum(i.category == cat for i in items) >= 3, cat


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_heldout_sentence_comes_from_the_main_set(lang):
    main = {i.text.strip() for i in ev.load(lang)}
    dup = sorted({i.text for i in ev.load(lang, "heldout") if i.text.strip() in main})
    assert not dup, dup


def _tone3(syllable):
    from pypinyin.contrib.tone_convert import to_tone3

    return to_tone3(syllable, neutral_tone_with_five=True).replace("ü", "v")


def test_heldout_zh_pp_sources_match_the_phrase_dictionary():
    """pp:WORD -> WORD is in pypinyin's phrase dictionary and in the sentence, and one of the
    expected readings is the dictionary's (a third tone spoken as a second before a third)."""
    from pypinyin.phrases_dict import phrases_dict

    bad, checked = [], 0
    for it in ev.load("zh", "heldout"):
        targets, readings = it.target.split("|"), it.expected.split("|")
        pairs = [(targets[0], r) for r in readings] if len(targets) == 1 else list(zip(targets, readings))
        assert all(len(t.split("@")[0]) == len(r.split()) for t, r in pairs), it.line
        m = re.match(r"pp:(\S+)", it.source)
        if not m:
            continue
        word = m.group(1)
        if word not in phrases_dict or word not in it.text:
            bad.append((it.line, word))
            continue
        entry = [_tone3(p[0]) for p in phrases_dict[word]] + [""]
        ok = False
        for target, reading in pairs:
            at = word.find(target.split("@")[0])
            if at >= 0 and all(s == entry[at + k] or (entry[at + k].endswith("3") and entry[at + k + 1].endswith("3")
                                                      and s == entry[at + k][:-1] + "2")
                               for k, s in enumerate(reading.split())):
                ok = True
        checked += ok
        if not ok:
            bad.append((it.line, word, entry, it.expected))
    assert not bad, bad
    assert checked >= 50


def test_heldout_en_cmu_sources_name_the_entry():
    """cmu#N -> the first expected reading is CMUdict's Nth entry (plain cmu: the first), and
    every alternative is an entry; the dictionary is the one en_g2p reads."""
    from core.text import en_g2p

    bad = []
    for it in ev.load("en", "heldout"):
        m = re.match(r"cmu(?:#(\d+))?", it.source)
        if it.target == "-" or not m:
            continue
        entries = [" ".join(p) for p in en_g2p.pronunciations(it.target.split("@")[0])]
        alts = it.expected.split("|")
        k = int(m.group(1) or 1)
        if len(entries) < k or entries[k - 1] != alts[0] or any(a not in entries for a in alts):
            bad.append((it.line, it.target, alts, entries))
    assert not bad, bad


def test_heldout_set_runs(report):
    for lang in ("zh", "en"):
        outcomes = [o for o in report.outcomes if o.item.lang == lang]
        assert len(outcomes) == len(ev.load(lang, "heldout"))
        assert 0.0 <= report.score(lang) <= 1.0
        assert all(o.item.test_set == "heldout" for o in outcomes)


def test_cli_set_option(capsys):
    assert ev.main(["--set", "heldout", "--lang", "en", "--no-speed", "--failures"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("en (held out): ") and out[0].endswith(" checks")
    assert all(line.startswith("FAIL heldout en:") for line in out if line.startswith("FAIL"))
    with pytest.raises(SystemExit):
        ev.main(["--set", "nonsense"])
