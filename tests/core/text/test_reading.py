"""How a text will be read (core.text.reading): the reading shown is what is said, polyphones and
homographs offer their other readings, user entries win, numbers show their words, and a
respelling reads back to the same sounds."""
from __future__ import annotations

import time

import pytest

from core.text.frontend import phonemize, split_sentences
from core.text.reading import MAX_SENTENCE_CHARS, read_text, tone_marks
from core.text.respell import from_respelling, respell
from core.text.userdict import UserDict, UserDictError
from core.text.zh_g2p import split_tone3, syllable_phones

SENTENCES = [
    "我还书了，还有三本。",
    "I read it yesterday, and I will read it again tomorrow.",
    "We live here. The live show starts at 8.",
    "长大以后我想去银行工作。",
    "他睡了一觉，觉得好多了。",
    "我用 iPhone 打电话给 Tomas，他 2024年3月5日 到。",
    "Please record the record for Dr. Smith at 3:30 pm.",
    "你好，我叫张三。Nice to meet you!",
]


def by_text(tokens, text):
    return next(t for t in tokens if t.text == text)


def spoken_phones(text: str, userdict=None) -> list[str]:
    """The phones speaking says, sentence by sentence as the pipeline does, without marks."""
    out = []
    for sentence in split_sentences(text, max_chars=MAX_SENTENCE_CHARS):
        out += phonemize(sentence, userdict=userdict).phones
    return [p for p in out if p not in ",.!?…-"]


def test_the_sentences_are_cut_as_the_pipeline_cuts_them():
    from core.runtime.pipeline import SynthesisOptions

    assert SynthesisOptions().max_sentence_chars == MAX_SENTENCE_CHARS


@pytest.mark.parametrize("text", SENTENCES)
def test_the_reading_shown_is_what_is_said(text):
    userdict = UserDict({"还书": "hai2 shu1", "Tomas": "T OW1 M AH0 S"})
    for ud in (None, userdict):
        tokens = read_text(text, ud)
        assert [p for t in tokens for p in t.phones if p not in ",.!?…-"] == spoken_phones(text, ud)
        for t in tokens:
            assert text[t.start:t.end] == t.text
            if t.language == "zh":      # the pinyin shown gives back the phones
                syllables = t.reading.split()
                assert len(syllables) * 2 == len([p for p in t.phones if p not in ",.!?…-"])
                for k, shown in enumerate(syllables):
                    assert shown == tone_marks(_tone3(t.phones[2 * k:2 * k + 2], shown))


def _tone3(pair, shown) -> str:
    """The tone3 syllable whose phones are `pair` among the readings of `shown` (1..5)."""
    from pypinyin.contrib.tone_convert import to_tone3

    base = to_tone3(shown, neutral_tone_with_five=True).rstrip("12345")
    for tone in "12345":
        if syllable_phones(*split_tone3(base + tone)) == tuple(pair):
            return base + tone
    raise AssertionError(f"{shown} is not said {pair}")


def test_polyphones_show_their_reading_and_offer_the_others():
    tokens = read_text("我还书了，还有三本。")
    book, more = by_text(tokens, "还书"), by_text(tokens, "还有")
    assert book.reading == "huán shū" and book.marked() == "还(huán)书(shū)"
    assert more.reading == "hái yǒu" and more.source == "context"
    assert [c.shown for c in book.choices] == ["还(hái)书(shū)"]
    assert ("还有", "huan2 you3") in [(c.word, c.pron) for c in more.choices]
    assert not by_text(tokens, "三本").choices          # no everyday second reading


def test_a_one_character_fix_is_saved_with_its_neighbour():
    tokens = read_text("还你钱")
    still = by_text(tokens, "还")
    assert still.reading == "huán" and still.word == "还你" and still.pron == "huan2 ni3"
    assert ("还你", "hai2 ni3") in [(c.word, c.pron) for c in still.choices]


def test_english_homographs_show_a_respelling_and_the_other_reading():
    tokens = read_text("I read it yesterday. I will read it.")
    past, present = [t for t in tokens if t.text == "read"]
    assert (past.reading, present.reading) == ("red", "reed")
    assert [(c.shown, c.pron) for c in past.choices] == [("reed", "R IY1 D")]
    live = [t for t in read_text("We live here. The live show.") if t.text == "live"]
    assert [t.reading for t in live] == ["liv", "lyve"]
    assert by_text(read_text("Hello there"), "there").reading == ""     # said as written
    assert not by_text(read_text("I read it"), "it").choices       # a weak "it" is no other reading


def test_user_entries_win_over_context_and_dictionary():
    ud = UserDict({"read": "R EH1 D", "还有": "huan2 you3", "Tomas": "T OW1 M AH0 S"})
    tokens = read_text("I will read it, 还有 Tomas", ud)
    assert by_text(tokens, "read").reading == "red" and by_text(tokens, "read").source == "user"
    assert by_text(tokens, "还有").reading == "huán yǒu" and by_text(tokens, "还有").source == "user"
    assert by_text(tokens, "Tomas").reading == "TOH-muhs"


def test_numbers_show_the_words_they_become():
    tokens = read_text("I have 3 cats, 2024年3月")
    three = next(t for t in tokens if t.text.strip() == "3")
    assert three.reading == "three" and three.source == "number" and not three.can_fix
    year = by_text(tokens, "2024年")
    assert year.reading == "èr líng èr sì nián" and year.said == "二零二四年"


def test_nothing_to_read_gives_no_tokens():
    assert read_text("") == [] and read_text("   ") == [] and read_text("🙂🙂") == []


def test_fifty_characters_read_in_under_twenty_milliseconds():
    text = "我今天还要去银行还书，然后 I will read the record at the live show."
    read_text(text)                                      # dictionaries load once
    start = time.perf_counter()
    for _ in range(10):
        read_text(text)
    assert (time.perf_counter() - start) / 10 < 0.020


@pytest.mark.parametrize("phones", ["R IY1 D", "R EH1 D", "L AY1 V", "L IH1 V", "R IH0 K AO1 R D",
                                    "R EH1 K ER0 D", "P R EH1 Z AH0 N T", "T OW0 M AA1 S",
                                    "HH AE1 P IY0", "B EH1 R IY0", "M IH1 N AH0 T"])
def test_a_respelling_reads_back_to_the_same_sounds(phones):
    assert " ".join(from_respelling(respell(phones.split()))) == phones


def test_typed_respellings_and_what_is_refused():
    assert respell("R IY1 D".split()) == "reed" and respell("L AY1 V".split()) == "lyve"
    assert from_respelling("reed") == ["R", "IY1", "D"]           # a word CMUdict knows
    assert from_respelling("rih-KAWRD") == "R IH0 K AO1 R D".split()
    with pytest.raises(UserDictError):
        from_respelling("r3ed")
