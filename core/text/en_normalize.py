"""English normalisation: numbers, money, ordinals, years, units, abbreviations -> words.

Mirrors the original v2 English normaliser's readings (years read in pairs, "$3.50" -> "three
dollars and fifty cents", "21st" -> "twenty-first", 3/4 -> "three fourths", "%" -> "percent",
a space before every capital letter inside a word, so "iPhone" -> "i Phone" and "GPU" -> "G P U")
with the number-to-words conversion written here (no inflect). Title abbreviations (Mr., Dr.,
...) are expanded, which the original does not do.
"""
from __future__ import annotations

import re
import unicodedata

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ["", "thousand", "million", "billion", "trillion", "quadrillion"]
_ORD_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _below_1000(n: int) -> str:
    words = []
    if n >= 100:
        words.append(_ONES[n // 100] + " hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def cardinal(n: int) -> str:
    """1234 -> 'one thousand two hundred thirty-four' (no 'and', as the original)."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n == 0:
        return "zero"
    if n >= 1000 ** len(_SCALES):
        return " ".join(_ONES[int(d)] for d in str(n))
    parts = []
    scale = 0
    while n:
        n, chunk = divmod(n, 1000)
        if chunk:
            parts.insert(0, _below_1000(chunk) + (" " + _SCALES[scale] if scale else ""))
        scale += 1
    return " ".join(parts)


def ordinal_words(words: str) -> str:
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _ORD_IRREGULAR:
        last = _ORD_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def ordinal(n: int) -> str:
    return ordinal_words(cardinal(n))


def year_or_number(n: int) -> str:
    """The original's reading of a bare integer: 1000-2999 as a year, else a cardinal."""
    if 1000 < n < 3000:
        if n == 2000:
            return "two thousand"
        if 2000 < n < 2010:
            return "two thousand " + cardinal(n % 100)
        if n % 100 == 0:
            return cardinal(n // 100) + " hundred"
        hi, lo = divmod(n, 100)
        return cardinal(hi) + " " + ("oh " + cardinal(lo) if lo < 10 else cardinal(lo))
    return cardinal(n)


_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "prof": "professor",
    "st": "saint", "jr": "junior", "sr": "senior", "mt": "mount", "vs": "versus",
    "etc": "et cetera", "no": "number", "approx": "approximately", "dept": "department",
    "gen": "general", "capt": "captain", "lt": "lieutenant", "col": "colonel", "sgt": "sergeant",
}
_RE_ABBR = re.compile(r"\b(Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Mt|vs|etc|No|approx|Dept|Gen|Capt|Lt|Col|Sgt)\.(?=\s|$)", re.IGNORECASE)

_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"), "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "m": ("meter", "meters"), "ft": ("foot", "feet"),
    "kg": ("kilogram", "kilograms"), "mg": ("milligram", "milligrams"), "g": ("gram", "grams"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "L": ("liter", "liters"),
    "ml": ("milliliter", "milliliters"), "tbsp": ("tablespoon", "tablespoons"),
    "tsp": ("teaspoon", "teaspoons"), "h": ("hour", "hours"), "min": ("minute", "minutes"),
    "s": ("second", "seconds"), "ms": ("millisecond", "milliseconds"),
    "°C": ("degree celsius", "degrees celsius"), "℃": ("degree celsius", "degrees celsius"),
    "°F": ("degree fahrenheit", "degrees fahrenheit"), "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"), "KB": ("kilobyte", "kilobytes"), "TB": ("terabyte", "terabytes"),
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_RE_MEASURE = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s?({_UNIT_RE})(?![\w])")
_RE_COMMA_NUM = re.compile(r"(?<=\d),(?=\d{3}\b)")
_RE_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b(?:\s*([AaPp])\.?\s?[Mm]\b\.?)?")
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_MONTH_RE = "|".join(_MONTHS)
_RE_ISO_DATE = re.compile(r"\b(\d{4})-(0?[1-9]|1[0-2])-(0?[1-9]|[12]\d|3[01])\b")
_RE_MONTH_DAY = re.compile(rf"\b({_MONTH_RE})\.?\s+([12]?\d|3[01])(?:st|nd|rd|th)?\b(?!:)(,?\s*\d{{4}}\b)?")
_RE_DAY_MONTH = re.compile(rf"\b([12]?\d|3[01])(?:st|nd|rd|th)?\s+({_MONTH_RE})\b")
# phone numbers: 555-1234, 1-800-555-0199, 020 7946 0018, and numbers after call/dial (911)
_RE_PHONE = re.compile(r"(?<![\d-])(?:1-)?(?:\d{3}-)?\d{3}-\d{4}(?![\d-])|(?<!\d)0\d{2,4}(?: \d{3,4}){1,3}(?!\d)")
_RE_DIAL = re.compile(r"\b(call|dial|ring|phone|text)(\s+)(\d{3,})\b", re.IGNORECASE)
_RE_GROUPED = re.compile(r"(?<![$£€¥\d,.])(\d{1,3}(?:,\d{3})+)(?![\d,]|\.\d)")
_RE_MONEY_SCALE = re.compile(r"([$£€¥])\s?(\d+(?:\.\d+)?)\s*(thousand|million|billion|trillion)\b")
_RE_MONEY = re.compile(r"([$£€¥])\s?(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s?([$£€¥])")
_RE_DECIMAL = re.compile(r"(\d*)\.(\d+)")
_RE_FRACTION = re.compile(r"\b(\d+)/(\d+)\b")
_RE_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_RE_NEGATIVE = re.compile(r"(?:(?<=\s)|^)-(?=\d)")
_RE_NUMBER = re.compile(r"\d+")
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents"), "¥": ("yuan", "yuan", "fen", "fen")}


def _money(m: re.Match) -> str:
    sym = m.group(1) or m.group(4)
    amount = m.group(2) or m.group(3)
    one, many, sub_one, sub_many = _CURRENCY[sym]
    whole, _, frac = amount.partition(".")
    major = int(whole) if whole else 0
    minor = int(frac[:2].ljust(2, "0")) if frac else 0
    parts = []
    if major:
        parts.append(f"{cardinal(major)} {one if major == 1 else many}")
    if minor:
        parts.append(f"{cardinal(minor)} {sub_one if minor == 1 else sub_many}")
    return " and ".join(parts) if parts else f"zero {many}"


def _time(m: re.Match) -> str:
    """10:30 -> ten thirty; A M / P M only when the text says so (14:45 -> fourteen forty-five)."""
    h, mi = int(m.group(1)), int(m.group(2))
    period = f" {m.group(3).upper()} M" if m.group(3) else ""
    if mi == 0:
        return f"{cardinal(h)} o'clock{period}" if 0 < h <= 12 else f"{cardinal(h)} hundred{period}"
    return f"{cardinal(h)} {('oh ' + cardinal(mi)) if mi < 10 else cardinal(mi)}{period}"


def _digits(s: str) -> str:
    return " ".join(_ONES[int(c)] for c in s if c.isdigit())


def _phone(m: re.Match) -> str:
    return ", ".join(_digits(g) for g in re.split(r"[- ]", m.group(0)))


def _iso_date(m: re.Match) -> str:
    return f"{_MONTHS[int(m.group(2)) - 1]} {ordinal(int(m.group(3)))}, {year_or_number(int(m.group(1)))}"


def _month_day(m: re.Match) -> str:
    year = m.group(3)
    tail = f", {year_or_number(int(year.strip(', ')))}" if year else ""
    return f"{m.group(1)} {ordinal(int(m.group(2)))}{tail}"


def _money_scale(m: re.Match) -> str:
    many = _CURRENCY[m.group(1)][1]
    whole, _, frac = m.group(2).partition(".")
    amount = cardinal(int(whole)) + (" point " + _digits(frac) if frac else "")
    return f"{amount} {m.group(3)} {many}"


def _measure(m: re.Match) -> str:
    value, unit = m.group(1), m.group(2)
    singular = value == "1"
    return f"{value} {_UNITS[unit][0 if singular else 1]}"


def _fraction(m: re.Match) -> str:
    num, den = int(m.group(1)), int(m.group(2))
    if den == 0:
        return f"{cardinal(num)} slash zero"
    if den == 1:
        return cardinal(num)
    if den == 2:
        return cardinal(num) + (" half" if num == 1 else " halves")
    d = ordinal(den)
    return f"{cardinal(num)} {d}{'s' if num > 1 else ''}"


def _decimal(m: re.Match) -> str:
    whole = cardinal(int(m.group(1))) if m.group(1) else "zero"
    return whole + " point " + " ".join(_ONES[int(d)] for d in m.group(2))


def normalize(text: str) -> str:
    t = text
    t = _RE_ISO_DATE.sub(_iso_date, t)
    t = _RE_TIME.sub(_time, t)
    t = _RE_MONTH_DAY.sub(_month_day, t)
    t = _RE_DAY_MONTH.sub(lambda m: f"the {ordinal(int(m.group(1)))} of {m.group(2)}", t)
    t = _RE_PHONE.sub(_phone, t)
    t = _RE_DIAL.sub(lambda m: m.group(1) + m.group(2) + _digits(m.group(3)), t)
    t = re.sub(r"[;:：，；]", ",", t)
    t = re.sub(r"[\"“”’‘`]", "'", t)
    t = t.replace("。", ".").replace("！", "!").replace("？", "?").replace("…", "...")
    t = _RE_ABBR.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()]
                     + ("." if m.group(1).lower() == "etc" and not m.string[m.end():].strip() else ""), t)
    t = re.sub(r"(?i)\bi\.e\.", "that is", t)
    t = re.sub(r"(?i)\be\.g\.", "for example", t)
    t = _RE_GROUPED.sub(lambda m: cardinal(int(m.group(1).replace(",", ""))), t)  # 1,500 people
    t = _RE_COMMA_NUM.sub("", t)
    t = _RE_MONEY_SCALE.sub(_money_scale, t)
    t = re.sub(r"(\d+(?:\.\d+)?)\s?[-–~](\s?)(\d+)", r"\1 to \3", t)  # 5-10 -> 5 to 10
    t = _RE_NEGATIVE.sub("negative ", t)
    t = re.sub(r"(?<=\d)\s*\+\s*(?=\d)", " plus ", t)
    t = re.sub(r"(?<=\d)\s*[×x*]\s*(?=\d)", " times ", t)
    t = re.sub(r"(?<=\d)\s*÷\s*(?=\d)", " divided by ", t)
    t = re.sub(r"(?<=\w)\s*=\s*(?=\w)", " equals ", t)
    t = _RE_MONEY.sub(_money, t)
    t = _RE_MEASURE.sub(_measure, t)
    t = re.sub(r"(\d)\s?%", r"\1 percent", t)
    t = _RE_DECIMAL.sub(_decimal, t)
    t = _RE_FRACTION.sub(_fraction, t)
    t = _RE_ORDINAL.sub(lambda m: ordinal(int(m.group(1))), t)
    t = _RE_NUMBER.sub(lambda m: year_or_number(int(m.group(0))), t)
    t = t.replace("%", " percent").replace("&", " and ").replace("@", " at ")
    t = "".join(c for c in unicodedata.normalize("NFD", t) if unicodedata.category(c) != "Mn")
    t = re.sub(r"[^ A-Za-z'.,?!\-]", " ", t)
    t = re.sub(r"(?<=[A-Za-z])(?=[A-Z])", " ", t)  # iPhone -> i Phone, GPU -> G P U
    t = re.sub(r"\.{3,}", "…", t)
    t = re.sub(r"([,.?!\-…])(\s*[,.?!\-…])+", r"\1", t)  # collapse runs of punctuation
    return re.sub(r"\s+", " ", t).strip()
