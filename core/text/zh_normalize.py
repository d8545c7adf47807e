"""Chinese text normalisation: numbers and symbols -> Han characters, punctuation -> v2 marks.

Follows the conventions of the original v2 front end (PaddleSpeech-style rules, as used by
GPT-SoVITS): dates read the year digit by digit, times as 点/分 (":30" -> 半), percentages as
百分之, fractions as 分母分之分子, ranges with 到, negative numbers with 负 (零下 for
temperatures), phone numbers digit by digit with 1 read 幺 (yao1, the telephone convention the
original uses; so are service numbers such as 110 or 12315 after 打/拨/叫 or near a word of the
service), a number before a measure word reads 2 as 两. Afterwards only Han characters and
the marks ``, . ! ? …`` survive, and runs of marks collapse to their first mark.

Deliberate difference: the original reads any bare integer of 3+ digits digit by digit
("1500" -> 幺五零零); here a bare integer is read as a cardinal (一千五百) unless it starts with
0 or has more than 12 digits (codes, ids), which are read digit by digit (with 零, and 一 not 幺).
"""
from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
PUNCT = "!?…,.-"

_F2H = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)
        if chr(i - 0xFEE0).isalnum() or chr(i - 0xFEE0) in "%+-./:~$"}
_F2H[0x3000] = 0x20


# --------------------------------------------------------------------------- numbers
def digits(s: str, yao: bool = False) -> str:
    out = "".join(DIGITS[int(c)] for c in s if c.isdigit())
    return out.replace("一", "幺") if yao else out


def _group4(s: str) -> str:
    """Read a group of up to 4 digits (no leading-zero handling)."""
    out = []
    n = len(s)
    zero = False
    for i, c in enumerate(s):
        d = int(c)
        pos = n - 1 - i
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[d] + ("", "十", "百", "千")[pos])
    return "".join(out)


def cardinal(s: str) -> str:
    """Integer string -> Chinese cardinal (10 -> 十, 105 -> 一百零五, 100010 -> 十万零一十)."""
    s = s.lstrip("0")
    if not s:
        return "零"
    if len(s) > 16:
        return digits(s)
    groups = []
    while s:
        groups.insert(0, s[-4:])
        s = s[:-4]
    units = ["", "万", "亿", "万亿"][: len(groups)][::-1]
    out = ""
    need_zero = False
    for g, unit in zip(groups, units):
        if int(g) == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g[0] == "0"):
            out += "零"
        out += _group4(g.lstrip("0") if not out else g.lstrip("0")) + unit
        need_zero = False
        # a group with trailing zeros followed by a non-zero group needs no extra 零 here;
        # a group whose own leading digit is 0 gets one (handled above).
    if out.startswith("一十"):
        out = out[1:]
    if out[:2] in ("二千", "二万", "二亿"):
        out = "两" + out[1:]
    return out


def number(s: str) -> str:
    """'3.5' -> 三点五, '-2' -> 负二, '.5' -> 零点五."""
    sign = ""
    if s.startswith("-"):
        sign, s = "负", s[1:]
    if "." in s:
        integer, dec = s.split(".", 1)
        dec = dec.rstrip("0") + ("0" if dec.endswith("0") else "")
        head = cardinal(integer) if integer else "零"
        return sign + head + ("点" + digits(dec) if dec else "")
    return sign + cardinal(s)


# --------------------------------------------------------------------------- rules
_MEASURE = {
    "km/h": "千米每小时", "m/s": "米每秒",
    "cm²": "平方厘米", "cm2": "平方厘米", "cm³": "立方厘米", "cm3": "立方厘米",
    "m²": "平方米", "m2": "平方米", "m³": "立方米", "m3": "立方米",
    "km²": "平方千米", "km2": "平方千米",
    "km": "千米", "cm": "厘米", "mm": "毫米", "m": "米",
    "kg": "千克", "mg": "毫克", "g": "克", "t": "吨",
    "ml": "毫升", "mL": "毫升", "L": "升", "l": "升",
    "ms": "毫秒", "s": "秒", "min": "分钟", "h": "小时",
    "db": "分贝", "dB": "分贝", "Hz": "赫兹", "kHz": "千赫兹", "GHz": "吉赫兹",
    "kb": "千字节", "KB": "千字节", "MB": "兆字节", "mb": "兆字节", "GB": "吉字节", "gb": "吉字节",
    "TB": "太字节", "kW": "千瓦", "kw": "千瓦", "W": "瓦", "V": "伏", "mAh": "毫安时",
}
# Unit letters right after a number (the language splitter keeps these with the number).
UNIT_PATTERN = "|".join(sorted((re.escape(u) for u in _MEASURE), key=len, reverse=True))

# Measure words after which 2 reads 两 (not 月/日/号: "2月", "2日" are dates; not 楼/层: floors).
_QUANT = (
    "个只名位件条张本台辆架艘匹头口根支枝片块颗粒座栋间户家所把套双对副群批次回趟遍场顿"
    "岁年天周星期小时分钟秒刻世纪代元角毛块分钱两斤吨克千克公斤米千米公里厘米毫米升毫升"
    "度倍页章节篇首部集期届项门份封瓶杯碗盘盒箱袋包桶壶罐碟勺步点万千亿百"
)
_QUANT_MULTI = ("小时", "分钟", "公斤", "千克", "千米", "公里", "厘米", "毫米", "毫升", "星期", "世纪")

_RE_DATE = re.compile(
    r"(\d{4}|\d{2})年((0?[1-9]|1[0-2])月)?(((0?[1-9])|([12][0-9])|30|31)([日号]))?")
_RE_DATE2 = re.compile(r"(?<!\d)(\d{4})([-/.])(0?[1-9]|1[0-2])\2(0?[1-9]|[12][0-9]|3[01])(?!\d)")
_TIME = r"([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?"
_RE_TIME_RANGE = re.compile(rf"(?<!\d){_TIME}[-~～]{_TIME}(?!\d)")
_RE_TIME = re.compile(rf"(?<![\d:]){_TIME}(?![\d:])")
_RE_TEMP = re.compile(r"(-?)(\d+(?:\.\d+)?)(°C|℃|°F|℉|摄氏度|度)")
_RE_MEASURE = re.compile(rf"(\d+(?:\.\d+)?)\s?({UNIT_PATTERN})(?![A-Za-z])")
_RE_FRAC = re.compile(r"(-?)(\d+)/(\d+)")
_PCT = r"(\d+(?:\.\d+)?)\s?[%％]"
_RE_PERCENT_RANGE = re.compile(rf"{_PCT}\s?[-~～至到]\s?{_PCT}")
_RE_PERCENT = re.compile(rf"(?<![\d%])(-?){_PCT}")
_RE_PERMILLE = re.compile(r"(\d+(?:\.\d+)?)\s?‰")
_CURRENCY = {"¥": "元", "￥": "元", "$": "美元", "€": "欧元", "£": "英镑"}
_RE_CURRENCY = re.compile(r"([¥￥$€£])\s?(\d+(?:\.\d+)?)([万亿千百]?)(元|块)?")
# numbers after a word that announces a phone number are read digit by digit (拨打110); after
# 打 (打119) only where no measure word follows (打120分 is a score)
_RE_DIAL = re.compile(r"(拨打|拨|致电|电话|号码|热线|手机)(是|为|：|:)?(\d{3,})(?![\d.])")
_NOT_COUNT = r"(?![\d.%％下折字]|" + "|".join(_QUANT_MULTI) + "|[" + _QUANT + "])"
_RE_DIAL_DA = re.compile(r"(打)(了|个|一个|通|一下)?(\d{3,})" + _NOT_COUNT)
# Service numbers (emergency, hotlines) are said digit by digit, 1 as 幺, when a dial verb comes
# just before them or a word of the service is near (快报警，110马上就到; 120急救中心); elsewhere
# they are ordinary numbers (血压120).
_SERVICE_NUMBERS = r"110|119|120|122|12110|12306|12315|12320|12345|12358|12369|12395|10086|10010|95\d{3}"
_RE_SERVICE = re.compile(rf"(?<![\d.第])({_SERVICE_NUMBERS})" + _NOT_COUNT)
_RE_SERVICE_CONTEXT = re.compile(
    r"报警|火警|急救|救护|消防|着火|失火|火灾|警察|派出所|交警|车祸|求救|求助|呼救|客服|投诉|热线"
    r"|服务|查询|电话|号码|拨|呼叫|叫")
_RE_DASHED = re.compile(r"(?<![\d\-.])(\+?\d{2,4}(?:-\d{2,8}){2,})(?![\d\-])")
_RE_MOBILE = re.compile(r"(?<!\d)((?:\+?86 ?)?1(?:[38]\d|5[0-35-9]|7[678]|9[89])\d{8})(?!\d)")
_RE_PHONE = re.compile(r"(?<!\d)((?:0(?:10|2[0-9]|[3-9]\d{2})-?)?[1-9]\d{6,7})(?!\d)")
_RE_400 = re.compile(r"(?<!\d)(400)-?(\d{3})-?(\d{4})(?!\d)")
_NUM = r"-?\d+(?:\.\d+)?"
_RE_RANGE = re.compile(rf"(?<![\d+\-×÷=.])({_NUM})[-~～]({_NUM})(?![\d+\-×÷=])")
_RE_NEG = re.compile(r"(?<![\d.])-(\d+(?:\.\d+)?)")
# an integer (not the tail of a decimal, not an ordinal after 第) before a measure word
_RE_QUANT = re.compile(r"(?<![\d.第])(\d+)([多余几+])?(" + "|".join(_QUANT_MULTI) + "|[" + _QUANT + "])(?!级)")
_RE_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])")
_RE_CODE = re.compile(r"(?<![\d.])(0\d+|\d{13,})(?![\d.])")
_RE_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")


def _date(m: re.Match) -> str:
    out = digits(m.group(1)) + "年"
    if m.group(3):
        out += cardinal(m.group(3)) + "月"
    if m.group(5):
        out += cardinal(m.group(5)) + m.group(8)
    return out


def _date2(m: re.Match) -> str:
    return f"{digits(m.group(1))}年{cardinal(m.group(3))}月{cardinal(m.group(4))}日"


def _clock(h: str, mi: str, se: str | None) -> str:
    out = ("两" if int(h) == 2 else cardinal(h)) + "点"
    if int(mi):
        if int(mi) == 30 and not (se and int(se)):
            out += "半"
        else:
            out += ("零" if mi.startswith("0") else "") + cardinal(mi) + "分"
    if se and int(se):
        out += ("零" if se.startswith("0") else "") + cardinal(se) + "秒"
    return out


def _time_range(m: re.Match) -> str:
    g = m.groups()
    return _clock(g[0], g[1], g[2]) + "至" + _clock(g[3], g[4], g[5])


def _temp(m: re.Match) -> str:
    unit = {"摄氏度": "摄氏度", "°F": "华氏度", "℉": "华氏度"}.get(m.group(3), "度")
    return ("零下" if m.group(1) else "") + number(m.group(2)) + unit


def _measure(m: re.Match) -> str:
    return number(m.group(1)) + _MEASURE[m.group(2)]


def _frac(m: re.Match) -> str:
    return ("负" if m.group(1) else "") + cardinal(m.group(3)) + "分之" + cardinal(m.group(2))


def _percent(m: re.Match) -> str:
    return ("负" if m.group(1) else "") + "百分之" + number(m.group(2))


def _mobile(m: re.Match) -> str:
    parts = m.group(1).lstrip("+").split()
    return "，".join(digits(p, yao=True) for p in parts)


def _phone(m: re.Match) -> str:
    return "，".join(digits(p, yao=True) for p in m.group(1).split("-"))


def _range(m: re.Match) -> str:
    # the right end stays digits so that the measure-word rule still sees it ("1-2片" -> 一到两片)
    right = m.group(2) if m.group(2).isdigit() else number(m.group(2))
    return number(m.group(1)) + "到" + right


def _currency(m: re.Match) -> str:
    return number(m.group(2)) + m.group(3) + _CURRENCY[m.group(1)]


def _service(m: re.Match) -> str:
    near = m.string[max(0, m.start() - 8):m.start()] + "|" + m.string[m.end():m.end() + 8]
    return digits(m.group(1), yao=True) if _RE_SERVICE_CONTEXT.search(near) else m.group(1)


def _dashed(m: re.Match) -> str:
    return "，".join(digits(p, yao=True) for p in m.group(1).lstrip("+").split("-"))


def _quant(m: re.Match) -> str:
    n = cardinal(m.group(1))
    if n == "二":
        n = "两"
    more = m.group(2) or ""
    return n + ("多" if more == "+" else more) + m.group(3)


_GREEK = {
    "α": "阿尔法", "β": "贝塔", "γ": "伽玛", "Γ": "伽玛", "δ": "德尔塔", "Δ": "德尔塔",
    "ε": "艾普西龙", "ζ": "捷塔", "η": "依塔", "θ": "西塔", "Θ": "西塔", "ι": "艾欧塔",
    "κ": "喀帕", "λ": "拉姆达", "Λ": "拉姆达", "μ": "缪", "ν": "拗", "ξ": "克西", "Ξ": "克西",
    "ο": "欧米克伦", "π": "派", "Π": "派", "ρ": "肉", "σ": "西格玛", "ς": "西格玛", "Σ": "西格玛",
    "τ": "套", "υ": "宇普西龙", "φ": "服艾", "Φ": "服艾", "χ": "器", "ψ": "普赛", "Ψ": "普赛",
    "ω": "欧米伽", "Ω": "欧米伽",
}
_CIRCLED = {chr(0x2460 + i): c for i, c in enumerate("一二三四五六七八九十")}

# Marks deleted before the punctuation mapping (the original's sentence splitter and
# post-replacement remove these, so Chinese ellipses/dashes/brackets/quotes make no phone).
_RE_DELETE = re.compile(r"[\-—–《》【】<=>{}()（）#&@“”\"^_|…\\\[\]「」『』‘’']")

_PUNCT_MAP = {
    "：": ",", "；": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": ".", "·": ",",
    "、": ",", "...": "…", "$": ".", "/": ",", "—": "-", "~": "…", "～": "…",
    ":": ",", ";": ",",
}
_RE_PUNCT_MAP = re.compile("|".join(re.escape(k) for k in sorted(_PUNCT_MAP, key=len, reverse=True)))
_RE_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5!?…,.\-]+")
_RE_PUNCT_RUN = re.compile(r"([!?…,.\-])[!?…,.\-]+")


def verbalize(text: str) -> str:
    """Numbers, units and symbols -> Han characters (keeps other characters as they are)."""
    t = text.translate(_F2H)
    # 12,000 -> a cardinal at once (a 7-digit run must not then look like a phone number)
    t = _RE_GROUPED.sub(lambda m: number(m.group(0).replace(",", "")), t)
    t = _RE_DATE.sub(_date, t)
    t = _RE_DATE2.sub(_date2, t)
    t = _RE_TIME_RANGE.sub(_time_range, t)
    t = _RE_TIME.sub(lambda m: _clock(*m.groups()), t)
    t = _RE_TEMP.sub(_temp, t)
    t = _RE_CURRENCY.sub(_currency, t)
    t = _RE_PERCENT_RANGE.sub(lambda m: f"百分之{number(m.group(1))}到百分之{number(m.group(2))}", t)
    t = _RE_PERCENT.sub(_percent, t)
    t = _RE_PERMILLE.sub(lambda m: "千分之" + number(m.group(1)), t)
    t = _RE_MEASURE.sub(_measure, t)
    t = _RE_FRAC.sub(_frac, t)
    t = _RE_MOBILE.sub(_mobile, t)
    t = _RE_PHONE.sub(_phone, t)
    t = _RE_400.sub(lambda m: "，".join(digits(g, yao=True) for g in m.groups()), t)
    t = _RE_DIAL.sub(lambda m: m.group(1) + (m.group(2) or "") + digits(m.group(3), yao=True), t)
    t = _RE_DIAL_DA.sub(lambda m: m.group(1) + (m.group(2) or "") + digits(m.group(3), yao=True), t)
    t = _RE_SERVICE.sub(_service, t)
    t = _RE_DASHED.sub(_dashed, t)
    t = _RE_RANGE.sub(_range, t)
    t = _RE_NEG.sub(lambda m: "负" + number(m.group(1)), t)
    t = _RE_QUANT.sub(_quant, t)
    t = _RE_CODE.sub(lambda m: digits(m.group(1)), t)
    t = _RE_NUMBER.sub(lambda m: number(m.group(0)), t)
    t = t.replace("+", "加").replace("×", "乘").replace("÷", "除以")
    t = t.replace("/", "每")  # "~" outside a numeric range stays (-> "…" below)
    for k, v in _CIRCLED.items():
        t = t.replace(k, v)
    for k, v in _GREEK.items():
        t = t.replace(k, v)
    return t


def map_punctuation(text: str) -> str:
    """Map punctuation to the v2 marks, drop everything else that is not Han, collapse runs."""
    t = text.replace("嗯", "恩").replace("呣", "母")
    t = _RE_DELETE.sub("", t)
    t = _RE_PUNCT_MAP.sub(lambda m: _PUNCT_MAP[m.group(0)], t)
    t = _RE_NOT_KEPT.sub("", t)
    return _RE_PUNCT_RUN.sub(r"\1", t)


def normalize(text: str) -> str:
    """Chinese run -> normalised text of Han characters and ``, . ! ? …`` marks only."""
    t = re.sub(r"\s+", "", text)
    return map_punctuation(verbalize(t))


def dropped_characters(text: str) -> str:
    """Characters of ``text`` that normalisation silently removes (for notes to the user)."""
    t = verbalize(re.sub(r"\s+", "", text)).replace("嗯", "恩").replace("呣", "母")
    t = _RE_PUNCT_MAP.sub(lambda m: _PUNCT_MAP[m.group(0)], t)
    seen = []
    for ch in _RE_DELETE.sub("", t):
        if not re.match(r"[\u4e00-\u9fa5!?…,.\-]", ch) and ch not in seen:
            seen.append(ch)
    return "".join(seen)
