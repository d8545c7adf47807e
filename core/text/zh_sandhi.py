"""Mandarin tone sandhi in the GPT-SoVITS v2 manner (its tone_sandhi.py), for zh_g2p.

    seg = pre_merge(jieba_pos_segments)           # 不, 一, reduplication, third tones, 儿
    finals = modify_tones(word, pos, finals)      # 不, 一, neutral tone, third tone
    finals = erhua(word, pos, finals)             # the tone of a final 儿
    cross_word(seg, finals_of_each_word)          # 不 in V不C, a third tone before its foot

Finals are pypinyin tone3 finals, 5 for the neutral tone. A module of its own because tone
sandhi is one concern (word lists and rules) and the G2P pipeline around it another.
"""
from __future__ import annotations

import logging
from functools import lru_cache


@lru_cache(maxsize=1)
def load_jieba():
    """jieba and jieba.posseg, initialised once (zh_g2p segments with them too)."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba, jieba.posseg


# A curated list of words whose last syllable is conventionally neutral (轻声).
NEUTRAL_WORDS = set("""
麻烦 骨头 馒头 风筝 队伍 闺女 钥匙 里头 部分 那么 这么 这个 那个 运气 过去 踏实 跟头
豆腐 讲究 记性 认识 规矩 见识 裁缝 衣裳 衣服 街坊 行李 蘑菇 葫芦 葡萄 萝卜 苍蝇 芝麻
舒服 舌头 自在 脾气 脑袋 胳膊 胡同 聪明 耽误 耳朵 老爷 老实 老婆 老头 老太 结实 糊涂
精神 粮食 算计 答应 笑话 窗户 稳当 称呼 秀气 福气 祖宗 码头 石头 知识 眼睛 眉毛 相声
生意 玻璃 玫瑰 狐狸 牲口 爱人 热闹 点心 灯笼 漂亮 清楚 消息 活泼 比方 正经 欺负 模糊
棉花 核桃 枕头 本事 木头 朋友 月亮 暖和 明白 时候 新鲜 故事 收拾 指头 拳头 招呼 护士
折腾 打量 打算 打扮 打听 打发 戒指 意思 怎么 念叨 快活 心思 张罗 弟兄 庄稼 师父 师傅
巴掌 工夫 岁数 屁股 尾巴 小气 对付 家伙 客气 实在 官司 学问 学生 名字 媳妇 委屈 姑娘
姐夫 女婿 头发 太阳 大爷 大夫 多少 多么 地方 在乎 嘴巴 喜欢 喇叭 商量 哆嗦 咳嗽 和尚
告诉 吓唬 后头 前头 口袋 厉害 包袱 勤快 动静 功夫 力气 别扭 利索 出息 凑合 凉快 冤枉
关系 先生 兄弟 便宜 佩服 休息 什么 人家 亲戚 事情 买卖 主意 丫头 东西 下巴 上头 丈夫
父亲 母亲 费用 介绍 幸福 熟悉 计划 照顾 喉咙 吉他 逻辑 惦记 姥姥 姥爷 爷爷 奶奶 妈妈
爸爸 哥哥 姐姐 弟弟 妹妹 叔叔 舅舅 伯伯 婶婶 宝宝 娃娃 星星 谢谢 看看 想想 说说 试试
""".split())
NOT_NEUTRAL_WORDS = {"人人", "虎虎"}
# Words ending in 子 that keep zi3 (a particle, a seed, a master, a person), not the noun suffix.
# A word in pypinyin's phrase dictionary keeps the dictionary's tone; these are not in it.
ZI3_WORDS = set("""
原子 电子 质子 中子 粒子 离子 分子 量子 因子 光子 核子 介子 种子植物 卵子 精子 孢子 配子
孔子 孟子 庄子 老子 荀子 墨子 韩非子 列子 朱子 诸子 男子 女子 才子 游子 赤子 学子 士子
弟子 王子 太子 天子 公子 长子 次子 幼子 独子 独生子 孝子 浪子 逆子 犬子 爱子 嫡子 庶子 养子
棋子 瓜子 莲子 鱼子 石子 松子 籽子 莲子 桃子仁 菜子 虾子 蚕子 臣子 君子 妻子儿女
""".split())
_MODAL_END = set("吧呢哈啊呐噻嘛吖嗨哦哒额滴哩哟喽啰耶喔诶")
_SANDHI_PUNCT = set("：，；。？！“”‘’':,;.?!")

MUST_ERHUA = {"小院儿", "胡同儿", "范儿", "老汉儿", "撒欢儿", "寻老礼儿", "妥妥儿", "媳妇儿"}
NOT_ERHUA = set("""
虐儿 为儿 护儿 瞒儿 救儿 替儿 有儿 一儿 我儿 俺儿 妻儿 拐儿 聋儿 乞儿 患儿 幼儿 孤儿
婴儿 婴幼儿 连体儿 脑瘫儿 流浪儿 体弱儿 混血儿 侄儿 孙儿 侄孙儿 女儿 男儿 红孩儿 花儿
虫儿 马儿 鸟儿 猪儿 猫儿 狗儿 少儿
""".split())


def _tone(final: str) -> str:
    return final[-1] if final else ""


def _set_tone(final: str, tone: str) -> str:
    return final[:-1] + tone if final and final[-1] in "12345" else final


def _all_three(finals: list[str]) -> bool:
    return bool(finals) and all(_tone(f) == "3" for f in finals)


def _finals_of(word: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(word, style=Style.FINALS_TONE3, neutral_tone_with_five=True,
                       errors=lambda x: list(x))


def _split_word(word: str) -> list[str]:
    """Split a word in two around its shortest search-mode sub-word."""
    jieba, _ = load_jieba()
    subs = sorted(jieba.cut_for_search(word), key=len)
    first = subs[0]
    if word.find(first) == 0:
        return [first, word[len(first):]]
    return [word[: -len(first)], first]


# --------------------------------------------------------------------------- pre-merges
def _merge_bu(seg):
    out, last = [], ""
    for word, pos in seg:
        if last == "不":
            word = last + word
        if word != "不":
            out.append([word, pos])
        last = word
    if last == "不":
        out.append([last, "d"])
    return out


def _merge_yi(seg):
    out = []
    for i, (word, pos) in enumerate(seg):
        if (0 < i < len(seg) - 1 and word == "一" and seg[i - 1][0] == seg[i + 1][0]
                and seg[i - 1][1] == "v" and out):
            out[-1][0] = out[-1][0] + "一" + out[-1][0]
        elif i >= 2 and seg[i - 1][0] == "一" and seg[i - 2][0] == word and pos == "v" \
                and out and out[-1][0] == word + "一" + word:
            continue
        else:
            out.append([word, pos])
    merged = []
    for word, pos in out:
        if merged and merged[-1][0] == "一":
            merged[-1][0] += word
        else:
            merged.append([word, pos])
    return merged


def _merge_reduplication(seg):
    out = []
    for word, pos in seg:
        if out and word == out[-1][0]:
            out[-1][0] += word
        else:
            out.append([word, pos])
    return out


# A one-character word that belongs with the word after it rather than the one before: an adverb
# or degree word (也, 很, 只), a preposition (给, 把), a numeral or measure word, a determiner
# (每, 几, 哪), an adjective before its head, or a verb before its object (我/买水果, 我/想你).
_RIGHT_POS = ("d", "p", "m", "q", "zg", "a", "v")
_DETERMINERS = set("每各某哪几")


def _binds_right(word: str, pos: str) -> bool:
    return len(word) == 1 and (pos in _RIGHT_POS or (pos.startswith("r") and word in _DETERMINERS))


class Word(list):
    """A pre-merged word, [text, part of speech of its first piece], for cross_word: ``joined``,
    the third-tone sandhi still joins it to the word before it (a merge left to right would have
    put the two together, but it binds to its right); ``last_pos``, the part of speech of its
    last piece (我写: a pronoun, then a verb)."""
    joined = False
    last_pos = ""


def _entry(item, joined: bool | None = None) -> Word:
    out = Word(item)
    out.joined = getattr(item, "joined", False) if joined is None else joined
    out.last_pos = getattr(item, "last_pos", "") or item[1]
    return out


def _merge_three(seg, whole_words: bool):
    """Merge neighbouring words whose meeting syllables are both third tones (so that the
    third-tone sandhi sees them as one word), left to right, three characters at most; a
    one-character word that binds to its right (_binds_right) is left for the word after it."""
    finals = [_finals_of(w) for w, _ in seg]
    out, merged_last = [], [False] * len(seg)
    for i, item in enumerate(seg):
        word, pos = item
        nxt = finals[i + 1] if i + 1 < len(seg) else []
        if nxt and finals[i] and _tone(finals[i][-1]) == "3" and _tone(nxt[0]) == "3" \
                and _binds_right(word, pos):
            out.append(_entry(item, joined=i > 0))
            continue
        if i > 0 and not merged_last[i - 1] and finals[i - 1] and finals[i]:
            if whole_words:
                hit = _all_three(finals[i - 1]) and _all_three(finals[i])
            else:
                hit = _tone(finals[i - 1][-1]) == "3" and _tone(finals[i][0]) == "3"
            prev = seg[i - 1][0]
            if hit and not (len(prev) == 2 and prev[0] == prev[1]) and len(prev) + len(word) <= 3:
                out[-1][0] += word
                out[-1].last_pos = getattr(item, "last_pos", "") or pos
                merged_last[i] = True
                continue
        out.append(_entry(item))
    return out


def _merge_er(seg):
    out = []
    for item in seg:
        if out and item[0] == "儿" and out[-1][0] != "#":
            out[-1][0] += item[0]
        else:
            out.append(_entry(item))
    return out


def pre_merge(seg: list[tuple[str, str]]) -> list[list[str]]:
    seg = _merge_bu(seg)
    seg = _merge_yi(seg)
    seg = _merge_reduplication(seg)
    seg = _merge_three(seg, whole_words=True)
    seg = _merge_three(seg, whole_words=False)
    return _merge_er(seg)


# --------------------------------------------------------------------------- sandhi
def _bu_sandhi(word, finals):
    if (len(word) == 3 and word[1] == "不") or (len(word) == 4 and word[1] == "不" and word[2:] in _TWO_COMPLEMENTS):
        finals[1] = _set_tone(finals[1], "5")  # 来不及, 对不起, 想不起来: the potential form
    else:
        for i, ch in enumerate(word):
            if ch == "不" and i + 1 < len(word) and _tone(finals[i + 1]) == "4":
                finals[i] = _set_tone(finals[i], "2")
    return finals


def _yi_sandhi(word, finals):
    if len(word) == 3 and word[1] == "一" and word[0] == word[2]:
        finals[1] = _set_tone(finals[1], "5")
    elif word.startswith("第一"):
        finals[1] = _set_tone(finals[1], "1")
    else:
        for i, ch in enumerate(word):
            if ch == "一" and i + 1 < len(word):
                if _tone(finals[i + 1]) == "4":
                    finals[i] = _set_tone(finals[i], "2")
                elif word[i + 1] not in _SANDHI_PUNCT:
                    finals[i] = _set_tone(finals[i], "4")
    return finals


def _neutral_sandhi(word, pos, finals, in_dict=False):
    for j in range(1, len(word)):
        if word[j] == word[j - 1] and pos[:1] in ("n", "v", "a") and word not in NOT_NEUTRAL_WORDS \
                and word[j] not in "幺零一二三四五六七八九":  # 幺幺零 is a number, not a reduplication
            finals[j] = _set_tone(finals[j], "5")
    ge = word.find("个")
    last = word[-1]
    if last in _MODAL_END or (last in "的地得" and not in_dict):
        # a dictionary word or a context rule keeps its reading: 目的 di4, 难得 de2, 得 dei3
        finals[-1] = _set_tone(finals[-1], "5")
    elif len(word) == 1 and word in "了着过" and pos in ("ul", "uz", "ug"):
        finals[-1] = _set_tone(finals[-1], "5")
    elif len(word) > 1 and last in "们子" and pos in ("r", "n", "nr") and word not in NOT_NEUTRAL_WORDS \
            and not (last == "子" and (in_dict or word in ZI3_WORDS or word[-2:] in ZI3_WORDS)):
        finals[-1] = _set_tone(finals[-1], "5")
    elif len(word) > 1 and last in "上下里" and pos in ("s", "l", "f"):
        finals[-1] = _set_tone(finals[-1], "5")
    elif len(word) > 1 and last in "来去" and word[-2] in "上下进出回过起开":
        finals[-1] = _set_tone(finals[-1], "5")
    elif (ge >= 1 and (word[ge - 1].isnumeric() or word[ge - 1] in "几有两半多各整每做是")) or word == "个":
        finals[ge] = _set_tone(finals[ge], "5")
    elif word in NEUTRAL_WORDS or word[-2:] in NEUTRAL_WORDS:
        finals[-1] = _set_tone(finals[-1], "5")
    parts = _split_word(word)
    cut = len(parts[0])
    for part, lo, hi in ((parts[0], 0, cut), (parts[1], cut, len(word))):
        if hi > lo and (part in NEUTRAL_WORDS or part[-2:] in NEUTRAL_WORDS):
            finals[hi - 1] = _set_tone(finals[hi - 1], "5")
    return finals


def _three_sandhi(word, finals):
    if len(word) == 2 and _all_three(finals):
        finals[0] = _set_tone(finals[0], "2")
    elif len(word) == 3:
        parts = _split_word(word)
        cut = len(parts[0])
        if _all_three(finals):
            if cut == 2:  # 蒙古/包
                finals[0] = _set_tone(finals[0], "2")
                finals[1] = _set_tone(finals[1], "2")
            elif cut == 1:  # 纸/老虎
                finals[1] = _set_tone(finals[1], "2")
        else:
            first, second = finals[:cut], finals[cut:]
            if len(first) == 2 and _all_three(first):  # 所有/人
                first[0] = _set_tone(first[0], "2")
            if second and not _all_three(second) and _tone(second[0]) == "3" and first \
                    and _tone(first[-1]) == "3":  # 好/喜欢
                first[-1] = _set_tone(first[-1], "2")
            if len(second) == 2 and _all_three(second):
                second[0] = _set_tone(second[0], "2")
            finals = first + second
        if _tone(finals[1]) == "3" and _tone(finals[2]) == "3":  # 吃/水果 cut as 吃水/果
            finals[1] = _set_tone(finals[1], "2")
    elif len(word) == 4:
        out = []
        for sub in (finals[:2], finals[2:]):
            if _all_three(sub):
                sub[0] = _set_tone(sub[0], "2")
            out += sub
        finals = out
    return finals


def modify_tones(word: str, pos: str, finals: list[str], in_dict: bool = False) -> list[str]:
    """``in_dict``: the readings came from a dictionary word, whose tones the neutral-tone
    rules for a final 的/地/得/子 then keep."""
    finals = _bu_sandhi(word, finals)
    finals = _yi_sandhi(word, finals)
    finals = _neutral_sandhi(word, pos, finals, in_dict)
    return _three_sandhi(word, finals)


def erhua(word: str, pos: str, finals: list[str]) -> list[str]:
    """The tone of a word-final 儿: that of the syllable before it (儿化), except where 儿 is a
    word of its own (女儿, 婴儿: NOT_ERHUA) or the part of speech rules it out."""
    if len(finals) != len(word):
        return finals
    if word[-1] == "儿" and finals[-1] == "er1":
        finals[-1] = "er2"
    if word not in MUST_ERHUA and (word in NOT_ERHUA or pos in ("a", "j", "nr")):
        return finals
    if len(word) > 1 and word[-1] == "儿" and finals[-1] in ("er2", "er5") \
            and word[-2:] not in NOT_ERHUA and finals[-2][-1:] in tuple("12345"):
        finals[-1] = "er" + finals[-2][-1]
    return finals


# --------------------------------------------------------------------------- across words
# 不 between a verb and its result or direction is neutral, the potential form (听不清, 搬不动,
# 回答不上来); 来/去/回/走 are complements only after a verb of motion (回不去, not 说不去).
_COMPLEMENTS = set("见清动完懂住开起出掉着到好了下上进过成够及惯透赢醒饱满通准稳牢得")
_DIRECTIONS = set("来去回走")
_MOTION = set("上下进出回过起拿搬带送跑走飞爬跳醒站坐跟追赶抬扛背")
_TWO_COMPLEMENTS = {"起来", "上来", "下来", "进来", "出来", "回来", "过来", "上去", "下去", "进去",
                    "出去", "回去", "过去", "清楚", "明白", "干净", "动了", "完了"}
# verbs that are followed by a negated word, not by a complement (是不好, 觉得不好, 说不去)
_NOT_ACTION = set("""
是 有 要 会 能 可以 应该 应当 觉得 认为 感到 感觉 知道 希望 需要 愿意 打算 决定 开始 喜欢 爱 怕
敢 肯 让 叫 使 请 像 变得 显得 算 准备 担心 害怕 相信 发现 听说 表示 同意 承认 保证 答应
""".split())


def _potential_bu(prev: str, prev_pos: str, word: str) -> bool:
    if len(word) < 2 or word[0] != "不" or not prev_pos.startswith("v") or prev in _NOT_ACTION \
            or prev[-1] in "得的地":   # 考得/不好: a negated degree complement keeps bu4
        return False
    return word[1] in _COMPLEMENTS or (word[1] in _DIRECTIONS and prev[-1] in _MOTION)


def cross_word(words: list[list[str]], finals: list[list[str]]) -> None:
    """The tone changes that look across a word boundary, on a sentence's pre-merged words
    ([text, part of speech], a Word where the merges made one) and each word's finals after
    modify_tones, in place:
    - 不 starting a word after a verb, before a complement, is neutral (听/不清楚, 搬/不动);
    - a third tone before a word that begins with a third tone (after that word's own sandhi)
      is a second tone where the two are one foot: the word before is one character that binds
      to its right, even where the two were too long to merge (每/晚十点), or the word after is
      ``joined`` to it (里/有老虎: li2). Done right to left, so that a chain of monosyllables
      groups to the right (我/每/晚十点: wo3 mei2 wan3; 我/很喜欢: wo3 hen2)."""
    for i in range(1, len(words)):
        prev = words[i - 1]
        if finals[i] and finals[i][0][:1] == "u" \
                and _potential_bu(prev[0], getattr(prev, "last_pos", "") or prev[1], words[i][0]):
            finals[i][0] = _set_tone(finals[i][0], "5")
    for i in range(len(words) - 2, -1, -1):
        here, nxt = finals[i], finals[i + 1]
        if (_binds_right(words[i][0], words[i][1]) or getattr(words[i + 1], "joined", False)) and here and nxt \
                and _tone(here[-1]) == "3" and _tone(nxt[0]) == "3":
            here[-1] = _set_tone(here[-1], "2")
