"""Polyphones decided by context, for zh_g2p (the rule path; a g2pW model is a later option).

Order of decisions for a character, first that applies:
1. the project's word table (resources/text/zh_polyphones.json, "words");
2. a dictionary word around it: the jieba word, or a sub-word of it of two or more characters,
   found in pypinyin's phrase dictionary (its reading is then the dictionary's);
3. for a verb of VERB_RULES that jieba left as a word of its own, the phrase-dictionary word it
   makes with the whole word beside it (neighbour_phrase: 系/好 -> 系好);
4. the context rules below, which look at the characters either side in the sentence, at the
   parts of speech of the words either side and at the part of speech of its own word;
5. the part-of-speech table ("single" in zh_polyphones.json: particles such as 了/ul -> le5);
6. pypinyin's reading of the word.

A rule is (reading, left pattern, right pattern, part-of-speech condition): the left pattern
must match the end of the text before the character, the right pattern the start of the text
after it. The rules were written for this project from ordinary usage (Xiandai Hanyu Cidian
readings); every reading they give is one pypinyin's character dictionary lists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_DEGREE = r"(很|太|最|更|好|多|挺|真|非常|特别|那么|这么|越|比较|较|不够|不|也|又|都|有多|够|极)"
_PRONOUN = r"(我|你|您|他|她|它|咱|大家|人家)"


@dataclass(frozen=True)
class Rule:
    reading: str
    left: str | None = None    # regex the text before the character must end with
    right: str | None = None   # regex the text after the character must start with
    prev_pos: str | None = None  # regex the previous word's part of speech must match
    next_pos: str | None = None  # regex the next word's part of speech must match
    pos: str | None = None       # regex the part of speech of the character's own word must match


RULES: dict[str, tuple[Rule, ...]] = {
    # 还: the verb (give back) before money, books, debts or a person, or ending a clause;
    # otherwise the adverb (still, also)
    "还": (
        Rule("huan2", right=r"(钱|书|债|款|账|贷|给|清|回|原|手|击|俗|乡|礼|价|嘴|了吗|了没|了$|了[,.!?…]"
                            r"|我|你|您|他们|她们|[,.!?…]|$)"),
        Rule("hai2"),
    ),
    # 觉: a sleep after 睡 (睡了一觉, 睡个好觉), else perception (觉得, 感觉)
    "觉": (Rule("jiao4", left=r"睡.{0,4}"), Rule("jiao4", left=r"一", right=r"醒"), Rule("jue2")),
    # 长: long after a degree word; grow before a result or aspect
    "长": (
        Rule("chang2", left=_DEGREE),
        Rule("zhang3", right=r"(大|高|胖|满|出|成|得|着|了|起|在|于|肉|个子|势|相|辈|芽|毛|草)"),
        Rule("zhang3", left=r"(生|成|增|滋|助|疯|见|又|没)"),
        Rule("chang2"),
    ),
    # 得: won (得了 + object); must (before a verb, after a subject); else the complement particle
    "得": (
        Rule("de2", right=r"了(?![,.!?…]|$)"),
        Rule("de2", right=r"(到|知|分|奖|病|手|意|罪|失|益|逞|胜|宠|体|力|名|票|出)"),
        Rule("dei3", left=_PRONOUN + r"(们)?|就|还|也|都|总|必须|非"),
        Rule("dei3", prev_pos=r"^(r|n|nr|t|d)", next_pos=r"^v"),
    ),
    # 和: to knead (和面), mix (和泥)
    "和": (Rule("huo2", right=r"(面(?!前|对|包|条)|泥)"),),
    # 重: heavy after a degree word; again before a verb
    "重": (
        Rule("chong2", right=r"(写|做|来|新|复|演|播|建|返|逢|申|装|修|组|启|置|温|叠|阳|庆|拍|画|考|读|说|唱|洗|选|排)"),
        Rule("zhong4", left=_DEGREE),
        Rule("zhong4"),
    ),
    # 为: as (选为, 认为) after verbs of naming and becoming; otherwise for
    "为": (Rule("wei2", left=r"(选|称|作|成|认|视|改|变|分|译|化|评|列|立|封|任|奉|拜|以|转|极|较|尤|甚|颇|广)"),),
    # 数: to count (数一数, 数不清, 数着)
    "数": (
        Rule("shu3", right=r"(一数|数|着|了|不清|不过来|过|到|完)"),
        Rule("shu3", left=r"数一"),
    ),
    # 教: teach a person or a subject
    "教": (Rule("jiao1", right=_PRONOUN + r"|孩子|学生|书|课|们"),),
    # 种: a kind (after a demonstrative or numeral); plant (before a crop)
    "种": (
        Rule("zhong3", left=r"(这|那|哪|各|一|几|两|某|此|每|多|[二三四五六七八九十])"),
        Rule("zhong3", right=r"子"),
        Rule("zhong4", right=r"(花|树|菜|田|地|草|稻|麦|豆|瓜|果|粮)"),
    ),
    # 背: carry on the back
    "背": (Rule("bei1", right=r"(着|起|上|包|书包|走|负|带|孩子|在|回|进)"),),
    # 只: the measure word after a numeral or demonstrative; otherwise only
    "只": (Rule("zhi1", left=r"([一二两三四五六七八九十几每半这那哪]|[0-9])"), Rule("zhi3")),
    # 调: adjust (to a setting or a result); transfer (to a place, away, a person sent somewhere)
    "调": (
        Rule("tiao2", right=r"到([零一二三四五六七八九十两百几半]|最|合适|适当|正常|静音)"),
        Rule("tiao2", right=r"(大|小|高|低|好|整|成|和|皮|配|剂|味|料|节|解|试|停|理|养|情|笑|戏|制"
                             r"|频|音|色|温|速|价|控|亮|暗|快|慢|匀|准|一下|一调)"),
        Rule("diao4", right=r"(到|走|去|往|回|来|离|任|职|动|换|查|研|派|集|遣|兵|档|令|拨|运|入|出)"),
        Rule("diao4", right=_PRONOUN + r"们?(去|到|回|走|来|往)"),
        Rule("diao4", left=r"(被|借|抽|外|对)"),
    ),
    # 差: poor after a degree word
    "差": (Rule("cha4", left=_DEGREE),),
    # 空: free time
    "空": (Rule("kong4", left=r"(没|有|抽|得|没有)", right=r"(?!气|中|间|调)"),),
    # 藏: Tibet
    "藏": (Rule("zang4", left=r"西"), Rule("zang4", right=r"(族|语|文|药|獒)"), Rule("cang2")),
}


# Verbs with a reading of their own (a noun or another sense has the other): the verb reading
# when the character is used as a verb, which its neighbours show — an aspect particle or a
# complement after it (缝了, 系上, 晾干, 吐了), a count of the action (量两次, 缝五针), its
# object (量血压, 系领带), an adverb, auxiliary or 把-phrase before it (可以量, 没干, 把我当).
# A verb that jieba left as a word of its own is first looked up with its neighbour word in
# pypinyin's phrase dictionary (neighbour_phrase), then these rules apply, then its default.
_END = r"([,.!?…]|$)"
_COUNT = r"[一两二三四五六七八九十几半]+(下|次|回|遍|趟|针|天|晚|夜|场)"
_BEFORE_VERB = r"(给.|帮.|把[^,.!?…]{1,6}|先|再|去|来|要|想|会|能|可以|得|请|在|正在|又|每天|按时|定时|天天|自己|准备|开始|需要|应该|记得)"
_AMOUNT = r"(很|太|大|小|不|的|少|多|也|是|都|还|比|够)"   # what follows the noun 量 (the amount)
VERB_RULES: dict[str, tuple[Rule, ...]] = {
    # 当: treat as (当作, 当他是…, 把我当小孩); otherwise serve as, when (dang1)
    "当": (
        Rule("dang4", right=r"(作|做|成|真)"),
        Rule("dang4", right=_PRONOUN + r"们?是(?![^,.!?…]*时)"),
        Rule("dang4", left=r"把[^,.!?…]{1,6}"),
    ),
    # 系: tie (a knot, a belt, shoelaces); otherwise a system, a department (xi4)
    "系": (Rule("ji4", right=r"(上|好|紧|着|了|住|牢|在|个|一下|鞋带|领带|安全带|围巾|扣|带子|绳|红领巾"
                             r"|蝴蝶结|腰带|皮带|丝带|领结)"),),
    # 缝: sew (feng2); a seam, a crack (feng4) in it, from it, one of them
    "缝": (
        Rule("feng4", right=r"(里|中|儿|隙|子)"),
        Rule("feng4", left=r"(条|道|个|从|有|的|门|墙|石|牙|指)"),
        Rule("feng2", right=r"(了|着|过|上|好|补|合|制|纫|起|一|几|两|[三四五六七八九十]|针|衣|扣|被|袜|裤|口|伤"
                             r"|线|完|得|不)"),
        Rule("feng2", left=_BEFORE_VERB),
        Rule("feng2", pos=r"^v"),
    ),
    # 干: dry (after a verb of drying, or not yet / almost dry at the end of a clause); else do
    "干": (
        Rule("gan1", left=r"(晾|晒|吹|烘|烤|擦|风|阴|沥|榨|蒸|烧|熬|抹|拧|舔|吸|喝)(不|得)?"),
        Rule("gan1", left=r"(没|没有|未|快)", right=r"了?" + _END),
        Rule("gan1", right=r"(透|燥|爽|裂|涸|巴巴|瘪|硬)"),
    ),
    # 吐: vomit (tu4) with no object — ending a clause, with a count or a time; else spit (tu3)
    "吐": (
        Rule("tu4", right=r"(了|起来了?)?(" + _END + r"|一?整|好几|" + _COUNT + ")"),
        Rule("tu4", right=r"(得|个不停|不停)"),
    ),
    # 量: measure (liang2) before a result, a count or what is measured, or after an adverb or
    # an auxiliary; otherwise the amount (liang4)
    "量": (
        Rule("liang2", right=r"(一下|一量|量|了|着|过(?!大|多|少)|好|完|出|得|" + _COUNT + r"|体温|体重|血压"
                             r"|血糖|身高|尺寸|尺码|腰围|胸围|臀围|长度|宽度|高度|距离|温度|脉搏|心率|视力"
                             r"|眼压|面积|大小)"),
        Rule("liang2", left=_BEFORE_VERB, right=r"(?!" + _AMOUNT + ")"),
    ),
    # 盛: ladle, hold (cheng2) food or a container's contents; otherwise flourishing (sheng4)
    "盛": (
        Rule("cheng2", right=r"(饭|汤|粥|菜|水|一|两|半|满|了|着|好|上|出|不下|得下|碗|到|在|点)"),
        Rule("cheng2", left=r"(帮.|给.|再|去|来|先|快)"),
    ),
    # 扇: fan, slap (shan1) with an object or a result; otherwise a fan, a measure word (shan4)
    "扇": (Rule("shan1", right=r"(了|着|风|扇|他|她|我|你|耳光|巴掌|一巴掌|一下|灭|火)"),),
}
RULES.update(VERB_RULES)


def candidates(char: str) -> tuple[Rule, ...]:
    return RULES.get(char, ())


def decide(char: str, left: str, right: str, prev_pos: str, next_pos: str, pos: str = "") -> str | None:
    """The reading the first matching rule gives, or None (keep the word's reading)."""
    for rule in RULES.get(char, ()):
        if rule.pos is not None and not re.match(rule.pos, pos or ""):
            continue
        if rule.left is not None and not _left(rule.left).search(left):
            continue
        if rule.right is not None and not _right(rule.right).match(right):
            continue
        if rule.prev_pos is not None and not re.match(rule.prev_pos, prev_pos or ""):
            continue
        if rule.next_pos is not None and not re.match(rule.next_pos, next_pos or ""):
            continue
        return rule.reading
    return None


@lru_cache(maxsize=None)
def _left(pattern: str) -> re.Pattern:
    return re.compile(f"(?:{pattern})$")


@lru_cache(maxsize=None)
def _right(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def neighbour_phrase(char: str, prev_word: str, next_word: str) -> str | None:
    """A verb polyphone that jieba left as a word of its own, read as in the word of pypinyin's
    phrase dictionary it makes with the whole word after it or before it (系/好 -> 系好 ji4,
    量/血压 -> 量血压 liang2, 晾/干 -> 晾干 gan1); None when it makes none."""
    if char not in VERB_RULES:
        return None
    from pypinyin.contrib.tone_convert import to_tone3

    pd = phrase_dict()
    for phrase, k in ((char + next_word, 0), (prev_word + char, len(prev_word))):
        readings = pd.get(phrase) if len(phrase) > 1 else None
        if readings and len(readings) == len(phrase) and readings[k]:
            return to_tone3(readings[k][0], neutral_tone_with_five=True)
    return None


@lru_cache(maxsize=1)
def phrase_dict() -> dict:
    from pypinyin.phrases_dict import phrases_dict

    return phrases_dict


def covered(word: str, k: int, extra: dict | frozenset = frozenset()) -> bool:
    """True when a dictionary word of 2+ characters inside ``word`` contains position k."""
    pd = phrase_dict()
    n = len(word)
    for a in range(0, k + 1):
        for b in range(max(k + 1, a + 2), n + 1):
            sub = word[a:b]
            if sub in pd or sub in extra:
                return True
    return False
