"""Mandarin tone sandhi in the GPT-SoVITS v2 manner (its tone_sandhi.py), for zh_g2p.

    seg = pre_merge(jieba_pos_segments)           # 不, 一, reduplication, third tones, 儿
    finals = modify_tones(word, pos, finals)      # 不, 一, neutral tone, third tone
    finals = erhua(word, pos, finals)             # the tone of a final 儿

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


def _merge_three(seg, whole_words: bool):
    finals = [_finals_of(w) for w, _ in seg]
    out, merged_last = [], [False] * len(seg)
    for i, (word, pos) in enumerate(seg):
        if i > 0 and not merged_last[i - 1] and finals[i - 1] and finals[i]:
            if whole_words:
                hit = _all_three(finals[i - 1]) and _all_three(finals[i])
            else:
                hit = _tone(finals[i - 1][-1]) == "3" and _tone(finals[i][0]) == "3"
            prev = seg[i - 1][0]
            if hit and not (len(prev) == 2 and prev[0] == prev[1]) and len(prev) + len(word) <= 3:
                out[-1][0] += word
                merged_last[i] = True
                continue
        out.append([word, pos])
    return out


def _merge_er(seg):
    out = []
    for word, pos in seg:
        if out and word == "儿" and out[-1][0] != "#":
            out[-1][0] += word
        else:
            out.append([word, pos])
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
    if len(word) == 3 and word[1] == "不":
        finals[1] = _set_tone(finals[1], "5")
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
