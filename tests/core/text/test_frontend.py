"""Text front end: expected phones written by hand from the v2 rules."""
import json
import time

import pytest

from core.text import TextError
from core.text.frontend import phonemize, split_sentences
from core.text.symbols import SYMBOLS, phones_to_ids, symbol_to_id
from core.text.userdict import UserDict, UserDictError
from core.text import zh_normalize, en_normalize


def zh(text, **kw):
    """Phones of a Chinese text as one string (the '.' redo of short texts included)."""
    return " ".join(phonemize(text, **kw).phones)


# ------------------------------------------------------------------ symbols
def test_symbol_table():
    assert len(SYMBOLS) == 732
    assert symbol_to_id["SP"] == 77 and symbol_to_id["UNK"] == 86 and symbol_to_id["_"] == 95
    assert phones_to_ids(["_", "not-a-phone"]) == [95, 86]


# ------------------------------------------------------------------ polyphones
@pytest.mark.parametrize("text, expected", [
    ("我在银行工作", "w o3 z ai4 y in2 h ang2 g ong1 z uo4"),
    ("他在路上行走", "t a1 z ai4 l u4 sh ang5 x ing2 z ou3"),
    ("孩子长大了", "h ai2 z i05 zh ang3 d a4 l e5"),
    ("这条路很长", "zh e4 t iao2 l u4 h en3 ch ang2"),
    ("这很重要", "zh e4 h en3 zh ong4 y ao4"),
    ("我们重新开始", "w o3 m en5 ch ong2 x in1 k ai1 sh ir3"),
    ("我还有钱", "w o3 h ai2 y ou3 q ian2"),
    ("你还钱给我", "n i3 h uan2 q ian2 g ei2 w o3"),
    ("天黑好了", "t ian1 h ei1 h ao3 l e5"),
    ("他了解情况", "t a1 l iao2 j ie3 q ing2 k uang4"),  # liao (not le); 3-3 sandhi
])
def test_polyphones(text, expected):
    assert zh(text) == expected


# ------------------------------------------------------------------ sandhi
@pytest.mark.parametrize("text, expected", [
    ("一个人", "y i2 g e5 r en2"),          # 一 before tone 4 -> yi2; measure 个 neutral
    ("一天一天", "y i4 t ian1 y i4 t ian1"),  # 一 before non-4 -> yi4
    ("我不要", "w o3 b u2 y ao4"),            # 不 before tone 4 -> bu2
    ("不对吗", "b u2 d ui4 m a5"),
    ("你好，世界", "n i2 h ao3 , sh ir4 j ie4"),  # third-tone sandhi
    ("第一名", "d i4 y i1 m ing2"),           # ordinal 一 stays yi1
    ("看一看", "k an4 y i5 k an4"),
    ("一二三", "y i1 EE er4 s an1"),          # digit string: no sandhi
    ("展览馆", "zh an2 l an2 g uan3"),
])
def test_tone_sandhi(text, expected):
    assert zh(text) == expected


def test_short_text_gets_a_leading_period():
    r = phonemize("你好")
    assert r.phones == [".", "n", "i2", "h", "ao3"]
    assert r.word2ph == [1, 2, 2] and r.norm_text == ".你好"


# ------------------------------------------------------------------ normalisation
@pytest.mark.parametrize("text, expected", [
    ("2024年3月5日", "二零二四年三月五日"),
    ("3.5", "三点五"),
    ("50%", "百分之五十"),
    ("10:30", "十点半"),
    ("13800138000", "幺三八零零幺三八零零零"),
    ("-3", "负三"),
    ("-3℃", "零下三度"),
    ("5km", "五千米"),
    ("3/4", "四分之三"),
    ("5-10个", "五到十个"),
    ("2个人", "两个人"),
    ("1500", "一千五百"),
    ("105", "一百零五"),
    ("他说：“好！！”", "他说,好!"),
])
def test_zh_normalize(text, expected):
    assert zh_normalize.normalize(text) == expected


def test_numbers_in_sentence_phones():
    r = phonemize("今年是2024年，涨了50%。")
    assert r.norm_text == "今年是二零二四年,涨了百分之五十."
    assert r.phones[6:14] == ["EE", "er4", "l", "ing2", "EE", "er4", "s", "i04"]
    assert len(r.word2ph) == len(r.norm_text)


def test_phone_number_reads_yao():
    r = phonemize("电话13800138000")
    assert r.phones[4:6] == ["y", "ao1"]


@pytest.mark.parametrize("text, expected", [
    ("Dr. Smith paid $3.50 on the 21st.",
     "doctor Smith paid three dollars and fifty cents on the twenty-first."),
    ("It is 10:30.", "It is ten thirty."),  # no A M unless the text says am (issue 16)
    ("In 2024, 50% of 1,000 people", "In twenty twenty-four, fifty percent of one thousand people"),
    ("Mr. Lee has 3/4 of it", "mister Lee has three fourths of it"),
    ("my GPU", "my G P U"),
])
def test_en_normalize(text, expected):
    assert en_normalize.normalize(text) == expected


def test_english_phones():
    r = phonemize("Dr. Smith paid $3.50 on the 21st.")
    assert r.phones[:9] == ["D", "AA1", "K", "T", "ER0", "S", "M", "IH1", "TH"]
    assert r.phones[-1] == "."
    assert "F" in r.phones and sum(r.word2ph) == len(r.phones)
    assert [s.language for s in r.segments] == ["en"]


def test_unknown_english_words_fallback():
    r = phonemize("The blorptastic zyxquon")
    assert r.phones[:2] == ["DH", "AH0"]
    assert len(r.phones) > 8 and all(p in symbol_to_id for p in r.phones)
    assert phonemize("GPU rocks").phones[:6] == ["JH", "IY1", "P", "IY1", "Y", "UW1"]


# ------------------------------------------------------------------ mixed
def test_mixed_chinese_english():
    r = phonemize("我用 iPhone 打电话")
    assert [s.language for s in r.segments] == ["zh", "en", "zh"]
    assert r.phones == "w o3 y ong4 AY1 F OW1 N d a3 d ian4 h ua4".split()
    zh_seg = r.segments[0]
    assert zh_seg.norm_text == "我用" and zh_seg.word2ph == [2, 2]


def test_lengths_consistent_and_ids_valid():
    text = "2024年，Dr. Smith在北京用iPhone 15给我打电话：“你好！”Thanks a lot… 一共花了$3.50。"
    r = phonemize(text)
    assert len(r.ids) == len(r.phones) == sum(r.word2ph)
    assert all(0 <= i < 732 for i in r.ids)
    assert r.ids == [symbol_to_id[p] for p in r.phones]
    for s in r.segments:
        assert sum(s.word2ph) == len(s.phones)
        if s.language == "zh":
            assert len(s.word2ph) == len(s.norm_text)


# ------------------------------------------------------------------ user dictionary
def test_userdict_overrides(tmp_path):
    ud = UserDict({"乐乐": "yue4 yue4", "Tomas": "T AH0 M AA1 S"})
    assert zh("我爱乐乐", userdict=ud) == "w o3 AA ai4 y ve4 y ve4"
    assert " ".join(phonemize("hello Tomas", userdict=ud).phones).endswith("T AH0 M AA1 S")
    path = tmp_path / "dict.json"
    ud.save(path)
    again = UserDict.load(path)
    assert again.entries() == ud.entries()
    assert json.loads(path.read_text(encoding="utf-8"))["entries"]["乐乐"] == "yue4 yue4"


@pytest.mark.parametrize("word, pron, fragment", [
    ("张三", "zhang1", "syllable"),
    ("张三", "zhang san1", "tone"),
    ("张三", "zhang1 xx1", "not a Mandarin syllable"),
    ("Tomas", "T AH M AA1 S", "stress"),
    ("Tomas", "T AH0 Q", "not an ARPAbet"),
    ("Tom张", "T AA1 M", "cannot be a dictionary word"),
    ("", "a1", "empty"),
])
def test_userdict_validation(word, pron, fragment):
    with pytest.raises(UserDictError, match=fragment):
        UserDict({word: pron})


def test_userdict_bad_json():
    with pytest.raises(UserDictError, match="JSON"):
        UserDict.from_json("{not json")


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("text", ["", "   ", "，，。！", "...", "😀😀", "привет", "مرحبا", "こんにちは"])
def test_nothing_to_say(text):
    with pytest.raises(TextError, match="Nothing to say"):
        phonemize(text)


def test_unsupported_characters_are_dropped_with_a_note():
    r = phonemize("你好😀世界，привет")
    assert r.norm_text == "你好世界,"
    assert r.notes and "😀" in r.notes[0]


def test_bad_language():
    with pytest.raises(TextError):
        phonemize("你好", language="fr")


def test_english_only_mode_drops_han():
    r = phonemize("hello 世界 world", language="en")
    assert [s.language for s in r.segments] == ["en"] and r.notes


# ------------------------------------------------------------------ sentences
def test_split_sentences():
    para = ("今天天气很好。我们去公园吧！好。你觉得呢？Dr. Smith paid $3.50. Yes. "
            "这是一个非常非常长的句子，它有很多很多的字，我们需要把它切开，不然就太长了，对吧，"
            "真的是这样的吗，我也不知道，也许明天再说吧")
    parts = split_sentences(para, max_chars=30)
    assert parts[0] == "今天天气很好。"
    assert "我们去公园吧！好。" in parts          # the 2-character sentence joined its neighbour
    assert "Dr. Smith paid $3.50. Yes." in parts  # no split after Dr., "Yes." merged
    assert all(len(p) >= 5 for p in parts)
    assert all(p[-1] in "。.！？!?" or p[-1] in "，," for p in parts)
    assert parts[-1].endswith("吧。")
    assert max(len(p) for p in parts) <= 31
    assert "".join(parts).replace("。", "").replace(" ", "") .startswith("今天天气很好")


def test_split_sentences_drops_punctuation_only():
    assert split_sentences("。。。hello world") == ["hello world."]


def test_long_text(capsys):
    unit = "今天是2024年3月5日，Dr. Smith在北京花了$3.50买了3个苹果。"
    text = (unit * (10_000 // len(unit) + 1))[:10_000]
    t0 = time.perf_counter()
    r = phonemize(text)
    dt = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n10,000-character text: {len(r.phones)} phones in {dt:.2f} s")
    assert len(r.phones) > 10_000


# ------------------------------------------------------------------ bad input (issue 16, item 7)
@pytest.mark.parametrize("text", [
    "\x00\x01\x07\x1b[31m",            # control characters only
    "\u202e\u200f\u200b",              # bidi marks and a zero-width space
    "שלום עולם",                        # right-to-left script
    "ᚠᚢᚦ ꦲꦏ 𓀀",                         # unknown scripts
    "!!!???...，，。。",                  # punctuation only
    "😀🎉👍🏽",                            # emoji
])
def test_bad_input_has_nothing_to_say(text):
    with pytest.raises(TextError, match="Nothing to say"):
        phonemize(text)


def test_bad_characters_around_words_are_skipped_not_read():
    r = phonemize("你好\x07\u202e世界 hello\x00 שלום 😀 world")
    assert r.norm_text.replace(" ", "") == "你好世界helloworld"
    assert all(p in symbol_to_id for p in r.phones)
    assert r.notes and "😀" in r.notes[0]


@pytest.mark.parametrize("text, expected", [
    ("2.5元", "二点五元"), ("3.2公里", "三点二公里"), ("12,000元", "一万二千元"),
    ("1,500人", "一千五百人"), ("第2个", "第二个"), ("3月2日", "三月二日"), ("1-2片", "一到两片"),
    ("20%-30%", "百分之二十到百分之三十"), ("$20", "二十美元"), ("拨打110", "拨打幺幺零"),
])
def test_zh_normalize_issue16(text, expected):
    assert zh_normalize.normalize(text) == expected


def test_year_kept_as_one_word_keeps_yi1():
    r = phonemize("他生于1919年")
    assert r.norm_text == "他生于一九一九年"
    assert r.phones[6:8] == ["y", "i1"] and r.phones[10:12] == ["y", "i1"]
