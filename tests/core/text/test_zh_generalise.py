"""Chinese reading rules that generalise (issue 16): each mechanism checked on sentences of its
own — none is in the held-out set (core/text/data/heldout_zh.tsv), which stays a measurement.

Mechanisms: a verb polyphone read by the word it makes and by its neighbours (zh_context's verb
rules and neighbour_phrase); 不 in a potential complement (V不C); the third-tone sandhi across
a short word boundary inside a foot (zh_sandhi.cross_word); service numbers read digit by digit
with 1 as 幺 (zh_normalize)."""
import pytest

from core.text import evaluate as ev
from core.text import zh_context, zh_normalize
from core.text.frontend import phonemize
from core.text.symbols import SYMBOLS


def _check(text: str, target: str, expected: str) -> ev.Outcome:
    return ev.check_zh(ev.Item("zh", "generalise", text, target, expected, "test", 0))


VERBS = [
    # 调: transfer (to a place, away) vs adjust (to a setting, a result)
    ("公司打算把她调到北京", "调", "diao4"),
    ("单位把老王调走了", "调", "diao4"),
    ("把音量调到十", "调", "tiao2"),
    ("你把亮度调高一点", "调", "tiao2"),
    # 当: treat as (当她是, 把…当) vs serve as, when
    ("你们当她是谁", "当", "dang4"),
    ("别把这些话当回事", "当", "dang4"),
    ("他想当老师", "当", "dang1"),
    ("当他是学生的时候", "当", "dang1"),
    # 系: tie (with a particle, a complement or what is tied) vs a department
    ("睡觉前别系着腰带", "系", "ji4"),
    ("我帮你系上扣子", "系", "ji4"),
    ("他是数学系的老师", "系", "xi4"),
    # 缝: sew vs a crack
    ("她用针线缝好了口袋", "缝", "feng2"),
    ("桌子上有一条缝", "缝", "feng4"),
    # 干: dry (after a verb of drying, not yet dry) vs do
    ("被子晒干了", "干", "gan1"),
    ("地还没干", "干", "gan1"),
    ("我们一起干吧", "干", "gan4"),
    # 吐: vomit (no object, a count) vs spit out
    ("宝宝又吐了", "吐", "tu4"),
    ("她晕车吐了两次", "吐", "tu4"),
    ("别乱吐口香糖", "吐", "tu3"),
    # 量: measure (what is measured, an adverb before) vs the amount
    ("我每天早晚量体重", "量", "liang2"),
    ("护士先量了体温", "量", "liang2"),
    ("这个量太多了", "量", "liang4"),
    # 盛, 扇: the verb reading with an object or an aspect particle
    ("再给我盛点饭", "盛", "cheng2"),
    ("他扇着扇子", "扇", "shan1"),
    ("他扇着扇子", "扇子", "shan4 zi5"),
]


@pytest.mark.parametrize("text, target, expected", VERBS)
def test_verb_polyphones_follow_their_use(text, target, expected):
    out = _check(text, target, expected)
    assert out.ok, out.got


def test_neighbour_phrase_reads_a_lone_verb_with_the_word_beside_it():
    assert zh_context.neighbour_phrase("系", "请", "紧") == "ji4"       # 系紧
    assert zh_context.neighbour_phrase("量", "给他", "血压") == "liang2"  # 量血压
    assert zh_context.neighbour_phrase("系", "请", "鞋垫") is None        # no such word
    assert zh_context.neighbour_phrase("都", "大家", "会") is None        # not a verb polyphone


POTENTIAL = [
    ("这箱书我一个人拿不动", "bu5"),
    ("外面太吵我睡不着", "bu5"),
    ("这么多作业我写不完", "bu5"),
    ("我怎么也找不到钥匙", "bu5"),
    ("这道题我做不出来", "bu5"),
    ("这件事我办不了", "bu5"),
    ("我觉得不对", "bu2"),      # a negation after a verb of thinking, not a complement
    ("他考得不好", "bu4"),      # a negated complement of degree
    ("我不想吃", "bu4"),
]


@pytest.mark.parametrize("text, expected", POTENTIAL)
def test_bu_in_a_potential_complement_is_neutral(text, expected):
    out = _check(text, "不", expected)
    assert out.ok, out.got


FEET = [
    ("他每晚九点吃药", "每", "mei2"),            # 每 + a word too long to merge with
    ("我很好", "我很好", "wo3 hen2 hao3"),        # 很 binds to 好, 我 keeps its tone
    ("我想你", "我想你", "wo3 xiang2 ni3"),       # a verb binds to its object
    ("我也想要", "也", "ye2"),
    ("你买水果了吗", "你买", "ni2 mai3"),         # the foot after 你 still changes it
    ("我们得走了", "得", "dei3"),                # a particle is not moved to the right
]


@pytest.mark.parametrize("text, target, expected", FEET)
def test_third_tone_sandhi_inside_a_foot(text, target, expected):
    out = _check(text, target, expected)
    assert out.ok, out.got


@pytest.mark.parametrize("text, expected", [
    # a service number after a dial verb or near a word of its service: digit by digit, 1 as 幺
    ("出车祸了，快打122", "幺二二"),
    ("赶紧叫个120", "幺二零"),
    ("10086客服说已经办好了", "幺零零八六"),
    ("着火了，119很快就到", "幺幺九"),
    ("有问题打12345", "幺二三四五"),
    ("请拨打95566", "九五五六六"),
    # the same numbers elsewhere are quantities
    ("他的血压是120", "一百二十"),
    ("这次考试他打了120分", "一百二十分"),
    ("我有110块钱", "一百一十块"),
    ("他考了第110名", "一百一十名"),
    ("我打了1000字", "一千字"),
])
def test_service_numbers_are_said_digit_by_digit(text, expected):
    assert expected in zh_normalize.normalize(text)


@pytest.mark.parametrize("text", [t for t, *_ in VERBS + FEET] + [t for t, _ in POTENTIAL])
def test_phone_set_and_word2ph_contract(text):
    r = phonemize(text)
    for seg in r.segments:
        assert len(seg.word2ph) == len(seg.norm_text)
        assert sum(seg.word2ph) == len(seg.phones)
        assert all(n in (1, 2) for n in seg.word2ph)
        assert all(p in SYMBOLS for p in seg.phones)
