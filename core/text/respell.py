"""English sounds in plain letters, both ways: ARPAbet -> a respelling anyone can read
("R IY1 D" -> "reed", "L AY1 V" -> "lyve", "R IH0 K AO1 R D" -> "rih-KAWRD"), and a respelling
someone typed -> ARPAbet for the pronunciation dictionary.

The respelling splits the word into syllables joined by "-" and writes the stressed one in
capitals when there are several. Each sound has one spelling (see _VOWELS and _CONSONANTS), so a
respelling made here reads back to the same sounds. Typed text is read the same way, with a few
everyday spellings accepted as well (ai, ea, oa, igh, ph, ck, a final silent e); a single word
found in CMUdict ("reed", "red") takes CMUdict's pronunciation.
"""
from __future__ import annotations

import re

from .userdict import ARPABET_VOWELS, UserDictError

_VOWELS = {"AA": "ah", "AE": "a", "AH": "uh", "AO": "aw", "AW": "ow", "AY": "y", "EH": "e",
           "ER": "ur", "EY": "ay", "IH": "i", "IY": "ee", "OW": "oh", "OY": "oy", "UH": "uu",
           "UW": "oo"}
_OPEN = {"EH": "eh", "IH": "ih"}    # a short vowel ending a syllable
_CONSONANTS = {"B": "b", "CH": "ch", "D": "d", "DH": "dh", "F": "f", "G": "g", "HH": "h",
               "JH": "j", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ng", "P": "p", "R": "r",
               "S": "s", "SH": "sh", "T": "t", "TH": "th", "V": "v", "W": "w", "Y": "y", "Z": "z",
               "ZH": "zh"}
_SHORT = {"AE", "EH", "IH", "AH", "UH", "AA"}


def _syllables(phones: list[str]) -> list[list[str]]:
    """Split at the consonants between vowels: one goes with the next syllable (after a
    stressed short vowel it closes this one, as in HAP-ee); of several, the first stays."""
    nuclei = [i for i, p in enumerate(phones) if p.rstrip("012") in ARPABET_VOWELS]
    if len(nuclei) <= 1:
        return [phones]
    cuts = []
    for a, b in zip(nuclei, nuclei[1:]):
        between = b - a - 1
        vowel = phones[a]
        if between == 0:
            cuts.append(b)
        elif between == 1:
            closed = vowel[:-1] in _SHORT and vowel.endswith("1") or phones[a + 1] == "NG"
            cuts.append(b if closed else b - 1)
        else:
            cuts.append(a + 2)
    out, start = [], 0
    for cut in cuts:
        out.append(phones[start:cut])
        start = cut
    out.append(phones[start:])
    return out


def _spell_syllable(syl: list[str]) -> str:
    vowel_at = next((i for i, p in enumerate(syl) if p.rstrip("012") in ARPABET_VOWELS), None)
    if vowel_at is None:
        return "".join(_CONSONANTS.get(p, p.lower()) for p in syl)
    onset = "".join(_CONSONANTS.get(p, "") for p in syl[:vowel_at])
    coda_phones = syl[vowel_at + 1:]
    coda = "".join(_CONSONANTS.get(p, "") for p in coda_phones)
    vowel = syl[vowel_at].rstrip("012")
    if vowel == "AY":
        if not onset:
            return "eye" + coda
        return onset + ("y" + coda + "e" if coda else "ye")
    if vowel in ("EH", "IH", "AE") and coda_phones[:1] == ["R"]:
        return onset + _VOWELS[vowel] + "r" + coda       # berry: BERR-ee
    if not coda and vowel in _OPEN:
        return onset + _OPEN[vowel]
    return onset + _VOWELS[vowel] + coda


def respell(phones: list[str] | tuple[str, ...]) -> str:
    """ARPAbet -> plain letters: "R IY1 D" -> "reed", "P R EH1 Z AH0 N T" -> "PREZ-uhnt"."""
    phones = [p for p in phones if p.rstrip("012") in ARPABET_VOWELS or p in _CONSONANTS]
    syllables = _syllables(phones)
    parts = [_spell_syllable(s) for s in syllables]
    if len(parts) > 1:
        parts = [p.upper() if any(ph.endswith("1") for ph in s) else p for p, s in zip(parts, syllables)]
    return "-".join(p for p in parts if p)


# ------------------------------------------------------------------------ typed -> ARPAbet
_GRAPHEMES = sorted({
    "eye": "AY", "igh": "AY", "err": "EH R", "irr": "IH R", "arr": "AE R",
    "ah": "AA", "aw": "AO", "ow": "AW", "oy": "OY", "oi": "OY", "ay": "EY", "ai": "EY", "ee": "IY",
    "ea": "IY", "oh": "OW", "oa": "OW", "oo": "UW", "uu": "UH", "ur": "ER", "er": "ER", "ir": "ER",
    "uh": "AH", "eh": "EH", "ih": "IH", "ch": "CH", "sh": "SH", "th": "TH", "dh": "DH", "zh": "ZH",
    "ng": "NG", "ck": "K", "ph": "F", "wh": "W", "qu": "K W",
    "a": "AE", "e": "EH", "i": "IH", "o": "AA", "u": "AH", "b": "B", "c": "K", "d": "D", "f": "F",
    "g": "G", "h": "HH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "p": "P", "r": "R",
    "s": "S", "t": "T", "v": "V", "w": "W", "x": "K S", "z": "Z",
}.items(), key=lambda kv: -len(kv[0]))
_LONG = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW", "y": "AY"}
_RE_PART = re.compile(r"^[a-z]+$")


def _is_vowel(phone: str) -> bool:
    return phone.rstrip("012") in ARPABET_VOWELS


def _read_part(part: str) -> list[str]:
    """One syllable group in lower case -> ARPAbet without stress."""
    units: list[tuple[str, list[str]]] = []   # (letters, phones)
    i = 0
    while i < len(part):
        if part[i] == "y":
            units.append(("y", []))             # decided below, by its neighbours
            i += 1
            continue
        for letters, phones in _GRAPHEMES:
            if part.startswith(letters, i):
                units.append((letters, phones.split()))
                i += len(letters)
                break
        else:
            i += 1
    # a final silent e after vowel + consonant(s): the vowel is long (lyve, late, tone)
    if len(units) >= 3 and units[-1][0] == "e":
        k = len(units) - 2
        while k > 0 and units[k][1] and not _is_vowel(units[k][1][0]):
            k -= 1
        if k < len(units) - 2 and units[k][0] in _LONG and (units[k][0] == "y" or _is_vowel(units[k][1][0])):
            units[k] = (units[k][0], [_LONG[units[k][0]]])
            units.pop()
    if len(units) >= 2 and units[-1][0] == "e" and units[-2][0] == "y":
        units[-2] = ("y", ["AY"])               # lye, rye
        units.pop()
    out: list[str] = []
    for n, (letters, phones) in enumerate(units):
        if letters == "y" and not phones:
            nxt = units[n + 1][1] if n + 1 < len(units) else []
            before_vowel = bool(nxt) and _is_vowel(nxt[0])
            phones = ["Y"] if before_vowel else ["IY"] if n == len(units) - 1 and n > 0 else ["AY"]
        out.extend(phones)
    return [p for k, p in enumerate(out) if k == 0 or p != out[k - 1] or _is_vowel(p)]   # ss -> S


def from_respelling(text: str) -> list[str]:
    """What someone typed for how a word sounds -> ARPAbet with stress.

    "reed" (a word CMUdict knows) -> its pronunciation; "rih-KAWRD" -> R IH0 K AO1 R D (the part
    in capitals is stressed; with none, the first). Raises UserDictError saying what to type."""
    from .en_g2p import lookup

    words = text.strip().replace("’", "'").split()
    if len(words) == 1 and "-" not in words[0]:
        found = lookup(words[0].lower())
        if found is not None:
            return list(found)
    parts = [p for p in re.split(r"[\s\-]+", text.strip()) if p]
    if not parts or not all(_RE_PART.match(p.lower()) for p in parts):
        raise UserDictError("Write how it sounds with letters only, syllables joined by “-”, "
                            "the loud one in capitals: for example “reed”, “red” or “rih-KAWRD”.")
    capital = [p.isupper() and len(parts) > 1 for p in parts]
    if not any(capital):
        capital[0] = True
    phones: list[str] = []
    for part, stressed in zip(parts, capital):
        for p in _read_part(part.lower()):
            phones.append(p + ("1" if stressed else "0") if _is_vowel(p) else p)
    if not any(_is_vowel(p) for p in phones):
        raise UserDictError(f"“{text.strip()}” has no vowel sound; write it as it sounds, e.g. “reed”.")
    return phones
