"""English homographs read by their part of speech in the sentence (rules; no tagger).

    resolve("read", ["she", "had", "read", "it"], 2) -> ["R", "EH1", "D"]

Each homograph has two readings, both CMUdict entries (one for ``row``: the quarrel R AW1 is
not in CMUdict), chosen by the words around it: a verb after a modal, "to", a subject pronoun
or a plural subject; a noun or adjective after a determiner, a preposition or an adjective;
and a few word-specific cues (lead poisoning, wear and tear, a row after "had"). The rules were
written for this project; the original v2 uses an averaged-perceptron tagger here.
"""
from __future__ import annotations

from dataclasses import dataclass

_MODALS = {"will", "would", "can", "could", "shall", "should", "must", "may", "might", "cannot",
           "can't", "won't", "wouldn't", "couldn't", "shouldn't", "mustn't", "don't", "doesn't",
           "didn't", "do", "does", "did", "to", "please", "let's", "i'll", "we'll", "you'll",
           "they'll", "not", "and"}
_SUBJECTS = {"i", "we", "you", "they", "who", "people", "nobody", "everyone", "farmers"}
_ADVERBS = {"never", "always", "often", "usually", "also", "just", "really", "sometimes", "still",
            "already", "ever", "once", "rarely", "seldom", "all", "both", "then", "only", "finally"}
_DETS = {"a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its",
         "our", "their", "no", "every", "each", "some", "any", "another", "many", "few", "several",
         "whose", "what", "which", "one", "two", "three", "nine", "ten"}
_PREPS = {"of", "in", "on", "at", "for", "with", "from", "by", "about", "into", "without", "under"}
_ADJS = {"new", "old", "good", "bad", "big", "small", "world", "criminal", "strange", "deep",
         "rough", "poor", "last", "fresh", "local", "front", "terrible", "cold", "great", "whole",
         "favourite", "favorite", "perfect", "rebel", "parking", "building", "best", "own"}
_BE = {"is", "are", "was", "were", "be", "been", "being", "am", "seems", "seemed", "feel",
       "felt", "stay", "remain", "remained", "looks", "so", "too", "very", "quite", "how", "as"}
_OBJECT_START = {"the", "a", "an", "your", "my", "his", "her", "our", "their", "this", "that",
                 "these", "those", "it", "them", "me", "us", "him", "off", "up", "down", "out",
                 "through", "around", "along", "across", "into", "past", "round", "every"}
_PAST_CUES = {"yesterday", "ago", "last", "earlier", "previously"}
_PERFECT = {"had", "has", "have", "'ve", "'d", "was", "were", "been", "being", "is", "are", "be",
            "am", "he", "she", "it", "already", "once"}


@dataclass(frozen=True)
class Homograph:
    verb: str   # the reading as a verb
    other: str  # the reading as a noun or adjective
    default: str = "other"  # when no cue decides: "verb" or "other"


HOMOGRAPHS: dict[str, Homograph] = {
    "record": Homograph("R IH0 K AO1 R D", "R EH1 K ER0 D"),
    "records": Homograph("R IH0 K AO1 R D Z", "R EH1 K ER0 D Z"),
    "present": Homograph("P R IY0 Z EH1 N T", "P R EH1 Z AH0 N T"),
    "presents": Homograph("P R IY0 Z EH1 N T S", "P R EH1 Z AH0 N T S"),
    "object": Homograph("AH0 B JH EH1 K T", "AA1 B JH EH0 K T"),
    "objects": Homograph("AH0 B JH EH1 K T S", "AA1 B JH EH0 K T S"),
    "project": Homograph("P R AH0 JH EH1 K T", "P R AA1 JH EH0 K T"),
    "projects": Homograph("P R AH0 JH EH1 K T S", "P R AA1 JH EH0 K T S"),
    "produce": Homograph("P R AH0 D UW1 S", "P R OW1 D UW0 S", "verb"),
    "permit": Homograph("P ER0 M IH1 T", "P ER1 M IH2 T"),
    "conduct": Homograph("K AA0 N D AH1 K T", "K AA1 N D AH0 K T"),
    "contest": Homograph("K AH0 N T EH1 S T", "K AA1 N T EH0 S T"),
    "desert": Homograph("D IH0 Z ER1 T", "D EH1 Z ER0 T"),
    "content": Homograph("K AH0 N T EH1 N T", "K AA1 N T EH0 N T"),
    "subject": Homograph("S AH0 B JH EH1 K T", "S AH1 B JH IH0 K T"),
    "rebel": Homograph("R IH0 B EH1 L", "R EH1 B AH0 L"),
    "progress": Homograph("P R AH0 G R EH1 S", "P R AA1 G R EH2 S"),
    "increase": Homograph("IH2 N K R IY1 S", "IH1 N K R IY2 S", "verb"),
    "refuse": Homograph("R IH0 F Y UW1 Z", "R EH1 F Y UW2 Z", "verb"),
    "estimate": Homograph("EH1 S T AH0 M EY2 T", "EH1 S T AH0 M AH0 T"),
    "separate": Homograph("S EH1 P ER0 EY2 T", "S EH1 P ER0 IH0 T"),
    "perfect": Homograph("P ER0 F EH1 K T", "P ER1 F IH2 K T"),
    "excuse": Homograph("IH0 K S K Y UW1 Z", "IH0 K S K Y UW1 S"),
    "use": Homograph("Y UW1 Z", "Y UW1 S", "verb"),
    "uses": Homograph("Y UW1 Z IH0 Z", "Y UW1 S IH0 Z", "verb"),
    "close": Homograph("K L OW1 Z", "K L OW1 S", "verb"),
    "tear": Homograph("T EH1 R", "T IH1 R"),
    "tears": Homograph("T EH1 R Z", "T IH1 R Z"),
    "wind": Homograph("W AY1 N D", "W IH1 N D"),
    "winds": Homograph("W AY1 N D Z", "W IH1 N D Z"),
    "wound": Homograph("W AW1 N D", "W UW1 N D"),
    "live": Homograph("L IH1 V", "L AY1 V", "verb"),
    "lives": Homograph("L IH1 V Z", "L AY1 V Z", "verb"),
    "lead": Homograph("L IY1 D", "L EH1 D", "verb"),
    "bow": Homograph("B AW1", "B OW1", "verb"),
    "read": Homograph("R IY1 D", "R EH1 D", "verb"),  # present / past
    "minute": Homograph("M AY0 N UW1 T", "M IH1 N AH0 T"),  # "verb" = the adjective (tiny)
    "bass": Homograph("B AE1 S", "B EY1 S"),  # "verb" = the fish
    "row": Homograph("R AW1", "R OW1"),  # "verb" = the quarrel
}

_LIVE_NOUNS = {"music", "concert", "show", "broadcast", "recording", "wire", "stream", "album",
               "performance", "audience", "bait", "ammunition", "coverage", "event", "feed",
               "band", "tv", "television", "version", "animals", "chat", "shows", "concerts"}
_METAL_NEXT = {"poisoning", "pipe", "pipes", "paint", "pencil", "pencils", "weight", "weights",
               "shot", "ore", "crystal", "balloon", "free", "acid", "roof", "roofing"}
_CLOSE_NEXT = {"to", "by", "friend", "friends", "call", "relative", "relatives", "family",
               "look", "attention", "enough", "together", "behind", "range", "contact", "second",
               "match", "race", "ties", "up", "quarters"}
_MINUTE_NOUNS = {"amount", "amounts", "detail", "details", "quantity", "quantities", "particle",
                 "particles", "trace", "traces", "difference", "differences", "fraction",
                 "portion", "examination", "crack", "cracks", "organisms"}
_FISH_CUES = {"sea", "striped", "largemouth", "smallmouth", "caught", "catch", "fish", "fishing",
              "grilled", "fried", "lake", "river", "pond", "fillet"}
_QUARREL_CUES = {"had", "have", "has", "having", "blazing", "furious", "terrible", "huge",
                 "almighty", "big", "another"}


def _prev(words: list[str], i: int) -> tuple[str, str]:
    """The word before i (skipping adverbs) and the one before that."""
    j = i - 1
    while j >= 0 and words[j] in _ADVERBS:
        j -= 1
    return (words[j] if j >= 0 else ""), (words[j - 1] if j >= 1 else "")


def _role(words: list[str], i: int, default: str) -> str:
    """'verb' or 'other' from the words around position i."""
    prev, prev2 = _prev(words, i)
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if prev in _MODALS or (prev in ("me", "us") and prev2 == "let"):
        return "verb"
    if prev in _DETS or prev in _PREPS or prev in _ADJS or prev.endswith("ing"):
        return "other"
    if prev in _SUBJECTS or prev in ("he", "she", "it"):
        return "verb"
    if prev == "" and nxt in _OBJECT_START:
        return "verb"  # imperative: "Close your eyes."
    if prev.endswith("s") and len(prev) > 3 and prev not in ("this", "was", "has", "does", "is", "his", "its", "us"):
        return "verb"  # a plural subject: "Farmers produce food."
    if prev in _BE:
        return "other"
    return default


def _read(words: list[str], i: int) -> str:
    prev, prev2 = _prev(words, i)
    if prev in _MODALS or prev in ("me", "us"):
        return "verb"
    if prev in _PERFECT or prev2 in ("have", "has", "had"):
        return "other"
    if any(w in _PAST_CUES for w in words):
        return "other"
    return "verb"


def _special(word: str, words: list[str], i: int) -> str | None:
    prev, prev2 = _prev(words, i)
    nxt = words[i + 1] if i + 1 < len(words) else ""
    around = set(words[max(0, i - 3):i]) | set(words[i + 1:i + 4])
    if word == "read":
        return _read(words, i)
    if word in ("live", "lives"):
        if word == "lives":
            return "other" if prev in _DETS or prev in ("save", "saved", "whose", "our") else "verb"
        if nxt in _LIVE_NOUNS or prev in ("broadcast", "go", "went", "goes", "going", "is", "was", "are", "a", "the"):
            return "other"
        return "verb"
    if word == "lead":
        if nxt in _METAL_NEXT or (prev in ("of", "as", "with") and prev2 != "take") or prev == "heavy":
            return "other"
        return "verb"
    if word in ("tear", "tears"):
        if prev == "and" and prev2 == "wear":
            return "verb"
        if prev in _DETS or prev in _ADJS or prev in _PREPS or prev == "":
            return "other"
        return "verb" if prev in _MODALS or nxt in _OBJECT_START or nxt in ("apart", "open") else "other"
    if word == "close":
        if prev in _MODALS:
            return "verb"
        if nxt in _CLOSE_NEXT or prev in _BE or prev in _DETS or prev in ("stay", "stand", "sit", "come", "get", "up"):
            return "other"
        return None
    if word == "wound":
        if prev in _DETS or prev in _ADJS:
            return "other"
        return "verb" if nxt in _OBJECT_START or nxt in ("its", "up") else "other"
    if word == "minute":
        return "verb" if nxt in _MINUTE_NOUNS and prev != "last" else "other"
    if word == "bass":
        return "verb" if around & _FISH_CUES else "other"
    if word == "row":
        return "verb" if set(words[max(0, i - 3):i]) & _QUARREL_CUES and prev != "in" else "other"
    if word == "bow":
        if prev in _DETS and prev2 not in ("take", "took", "taking"):
            return "other"
        return "verb"
    if word == "content":
        return "verb" if prev in _BE and nxt in ("with", "to", "") else "other"
    return None


def resolve(word: str, words: list[str], i: int) -> list[str] | None:
    """ARPAbet for the homograph ``word`` at position i of the sentence's lower-case words."""
    h = HOMOGRAPHS.get(word)
    if h is None:
        return None
    role = _special(word, words, i) or _role(words, i, h.default)
    return (h.verb if role == "verb" else h.other).split()
