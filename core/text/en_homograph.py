"""English homographs read by their part of speech and a few context cues (rules; no tagger).

    resolve("read", ["she", "had", "read", "it"], 2) -> ["R", "EH1", "D"]

Each homograph has two readings: one as a verb, one as a noun or adjective ("other"). The words
and their readings live in en_homograph_data.py (most derived from CMUdict into
core/text/data/en_homographs.tsv, which ``python -m core.text.en_homograph`` rewrites; a few
written by hand). The part of speech comes from the words around the homograph
(en_homograph_pos.py). This module holds what the part of speech cannot tell, word by word:
the sense of lead (the metal), tear, wind, bass, minute, row, bow, dove, invalid, the past
tense of read, Polish the nationality, and the verbs CMUdict lacks (house, mouth, export),
read as verbs only where they plainly are; then `resolve`, which the G2P calls. When no cue
decides, the word's default is read (see en_homograph_data.py).
"""
from __future__ import annotations

from .en_homograph_data import (
    _STRICT_VERB,
    DEFAULTS,
    EXCLUDED,
    HAND,
    HOMOGRAPHS,
    TABLE,
    Homograph,
    _load,  # noqa: F401 - the tests check the table through this module
    _primary,  # noqa: F401
    derive,
    write_table,
)
from .en_homograph_pos import (
    _AUX,
    _BE,
    _BE_AUX,
    _DETS,
    _MODALS,
    _OBJECT_DET,
    _OBJECT_START,
    _PREPS,
    _STRICT_MODALS,
    _SUBJECTS,
    _at,
    _back,
    _is_adj,
    _past,
    _plural,
    _role,
    word_is_s_form,
)

# What the G2P, reading.py and the tests import from here, wherever it is defined.
__all__ = ["DEFAULTS", "EXCLUDED", "HAND", "HOMOGRAPHS", "TABLE", "Homograph", "derive", "resolve",
           "word_is_s_form", "write_table"]


# ----------------------------------------------------------------------------- word by word
_PAST_CUES = {"yesterday", "ago", "earlier", "previously", "recently", "already", "lately"}
_JUST = {"just", "already", "recently", "finally", "once"}  # adverbs right before a past "read"
_PAST_TIMES = {"night", "week", "month", "year", "time", "summer", "winter", "spring", "autumn",
               "weekend", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
               "sunday", "morning", "evening", "christmas"}
_NOT_PAST = {"will", "'ll", "i'll", "we'll", "you'll", "they'll", "going", "tomorrow", "tonight",
             "every", "each", "usually", "always", "often", "later", "soon", "can", "should",
             "must", "want", "wants", "need", "needs", "like"}
_PERFECT = {"had", "has", "have", "'ve", "'d", "was", "were", "been", "being", "is", "are", "be",
            "am", "he", "she", "it", "already", "once", "i've", "we've", "you've", "they've",
            "hadn't", "haven't", "hasn't", "just", "recently"}
_IRREGULAR_PAST = {"sat", "went", "came", "took", "got", "found", "made", "saw", "opened",
                   "picked", "put", "ran", "thought", "felt", "left", "stood", "woke", "lay"}


def _past_time(words: list[str], i: int) -> bool:
    """The sentence is set in the past: "yesterday", "an hour ago", "last week", "this morning"
    (when nothing points at the future or a habit)."""
    if any(w in _NOT_PAST for w in words):
        return False
    for k, w in enumerate(words):
        nxt = _at(words, k + 1)
        if w in _PAST_CUES or (w == "last" and nxt in _PAST_TIMES):
            return True
        if w == "this" and nxt in ("morning", "afternoon"):
            return True
        if w in ("when", "while") and any(v in ("was", "were", "did", "had") or _past(v)
                                          for v in words[k + 1:k + 4]):
            return True  # a past time clause: "when I was in hospital"
    return False


def _read(words: list[str], i: int) -> str:
    j = _back(words, i)
    prev, prev2 = _at(words, j), _at(words, j - 1)
    if prev == "and":  # "opened the letter and read it": as the verb before "and"
        for k in range(j - 1, max(-1, j - 7), -1):
            w = words[k]
            if w in _MODALS or w == "":
                break
            if w in _IRREGULAR_PAST or _past(w):
                return "other"
    if prev in _MODALS or prev in ("me", "us", "and", ""):
        return "verb"  # also the imperative: "Read the leaflet before you start."
    if prev in _PERFECT or prev2 in ("have", "has", "had") or set(words[j + 1:i]) & _JUST:
        return "other"  # "has read", "I just read it"
    if _past_time(words, i):
        return "other"
    return "verb"


_LIVE_NOUNS = {"music", "concert", "show", "broadcast", "recording", "wire", "stream", "album",
               "performance", "audience", "bait", "ammunition", "coverage", "event", "feed",
               "band", "tv", "television", "version", "animals", "chat", "shows", "concerts"}
_METAL_NEXT = {"poisoning", "pipe", "pipes", "paint", "pencil", "pencils", "weight", "weights",
               "shot", "ore", "crystal", "balloon", "free", "acid", "roof", "roofing", "levels",
               "level", "exposure", "contamination", "dust", "bullets", "mine", "mining",
               "sinker", "sinkers", "solder", "glass", "content", "test", "testing", "toy", "toys",
               "sheet", "sheets", "lining", "apron", "soldiers"}
_METAL_AROUND = {"paint", "pipes", "pipe", "poisoning", "petrol", "gasoline", "metal", "metals",
                 "toxic", "mercury", "copper", "zinc", "tin", "iron", "solder", "exposure",
                 "contaminated", "batteries", "plumbing", "unleaded"}
_MASS_VERBS = {"contains", "contain", "contained", "containing", "of", "as", "with", "for",
               "from", "no", "any", "some", "melted", "molten", "than"}
_CLOSE_NEXT = {"to", "by", "friend", "friends", "call", "relative", "relatives", "family",
               "look", "attention", "enough", "together", "behind", "range", "contact", "second",
               "match", "race", "ties", "up", "quarters"}
_MINUTE_NOUNS = {"amount", "amounts", "detail", "details", "quantity", "quantities", "particle",
                 "particles", "trace", "traces", "difference", "differences", "fraction",
                 "portion", "examination", "crack", "cracks", "organisms"}
# what follows "a minute" (the time) rather than a noun that the adjective (tiny) describes
_MINUTE_AFTER = {"ago", "later", "late", "early", "longer", "more", "less", "before", "after",
                 "past", "walk", "drive", "ride", "hand", "hands", "mark", "silence", "timer",
                 "rice", "steak", "or", "and", "to", "of", "for", "each", "per", "now", "too",
                 "please", "left", "away", "between", "apart", "long", "at", "in", "on", "by",
                 "from", "into", "with", "without", "until", "till", "but", "so", "then",
                 "there", "here", "passes", "passed", "went", "goes", "seemed", "seems", "feels",
                 "felt", "counts", "a", "an", "the", "every", "i", "you", "he", "she", "it",
                 "we", "they", "this", "that", "my", "your", "his", "her", "our", "their", "", "is",
                 "was", "will", "would", "can", "could", "earlier", "max", "maximum", "tops"}
_INTENSIFIERS = {"very", "so", "too", "extremely", "most", "such", "quite", "really", "tiny",
                 "small", "rather", "fairly"}
_FISH_CUES = {"sea", "striped", "largemouth", "smallmouth", "caught", "catch", "fish", "fishing",
              "grilled", "fried", "lake", "river", "pond", "fillet", "fillets", "baked", "roasted",
              "cooked", "dinner", "lunch", "ate", "eat", "eating", "menu", "restaurant", "bait",
              "hooked", "trout", "salmon", "fisherman", "chilean", "pan", "delicious", "tasty",
              "lemon", "butter", "recipe", "served", "smoked", "steamed", "plate", "cook", "swam",
              "swim", "swims", "swimming"}
_MUSIC_CUES = {"guitar", "guitars", "player", "plays", "play", "playing", "played", "sings",
               "singer", "sing", "drum", "drums", "line", "notes", "note", "voice", "clef", "band",
               "music", "speaker", "speakers", "amp", "boost", "treble", "baritone", "tenor",
               "choir", "volume", "sound", "double"}
_QUARREL_CUES = {"had", "have", "has", "having", "blazing", "furious", "terrible", "huge",
                 "almighty", "big", "another"}
_CRY_CUES = {"cry", "cried", "cries", "crying", "eye", "eyes", "cheek", "cheeks", "sad", "joy",
             "weep", "wept", "weeping", "emotional", "sob", "sobbing", "grief", "moved", "song",
             "film", "movie"}
_RIP_NEXT = {"apart", "open", "off", "down", "into", "through", "out", "away", "at", "it",
             "them", "the", "a", "an", "this", "that", "my", "your", "his", "her", "our", "their"}
_TEAR_UP_CRY = {"", "when", "whenever", "at", "every", "easily", "because", "if", "as", "while",
                "over", "about", "too", "again", "sometimes", "often", "thinking", "watching",
                "listening", "remembering", "hearing", "reading", "just", "still", "now"}
_WIND_NOUN_NEXT = {"blew", "blows", "blowing", "turbine", "turbines", "farm", "farms", "power",
                   "chill", "speed", "speeds", "instrument", "instruments", "direction", "gust",
                   "gusts", "howled", "picked", "dropped", "was", "is", "has", "had", "will"}
_WIND_NOUN_PREV = {"north", "south", "east", "west", "northerly", "southerly", "easterly",
                   "westerly", "icy", "gentle", "bitter", "chilly", "gusty", "howling", "strong",
                   "biting", "freezing", "fierce", "against"}
_DIVE_NEXT = {"into", "in", "off", "under", "down", "from", "for", "deep", "after", "onto",
              "through", "over", "out", "headfirst", "back", "behind", "beneath", "toward",
              "towards", "straight", "underwater"}
_PERSON_NOUNS = {"mother", "father", "wife", "husband", "son", "daughter", "parent", "parents",
                 "aunt", "uncle", "sister", "brother", "grandmother", "grandfather", "grandma",
                 "grandpa", "mum", "mom", "dad", "child", "children", "relative", "relatives",
                 "soldier", "soldiers", "veteran", "veterans", "friend", "neighbour", "neighbor",
                 "patient", "patients", "man", "woman", "people", "person", "chair", "carriage"}


def _is_function(w: str) -> bool:
    return (w in _MINUTE_AFTER or w in _DETS or w in _PREPS or w in _BE or w in _AUX
            or w in _SUBJECTS or w.endswith("ly"))


def _special(word: str, words: list[str], i: int, tokens: list[str] | None) -> str | None:
    j = _back(words, i)
    prev, prev2 = _at(words, j), _at(words, j - 1)
    nxt, nxt2 = _at(words, i + 1), _at(words, i + 2)
    near = set(words[max(0, i - 4):i]) | set(words[i + 1:i + 5])
    if word == "read":
        return _read(words, i)
    if word in ("live", "lives"):
        if word == "lives":
            return "other" if prev in _DETS or prev in ("save", "saved", "whose", "our") else "verb"
        if nxt in _LIVE_NOUNS or prev in ("broadcast", "go", "went", "goes", "going", "is", "was", "are", "a", "the"):
            return "other"
        return "verb"
    if word == "lead":
        if prev in _MODALS or prev in _SUBJECTS:
            return "verb"
        if nxt in _METAL_NEXT or prev in ("heavy", "pencil") or (
                prev in _MASS_VERBS and prev2 not in ("take", "took", "taking", "in")):
            return "other"  # the metal: a mass noun ("contains lead", "made of lead")
        if _plural(prev):
            return "verb"
        if near & _METAL_AROUND and prev not in _DETS and nxt not in _OBJECT_DET:
            return "other"
        return "verb"
    if word in ("tear", "tears"):
        if prev == "and" and prev2 == "wear":
            return "verb"
        if nxt == "up" and nxt2 in _TEAR_UP_CRY:
            return "other"  # "I tear up when ..." (start to cry); "tear up the letter" rips
        if near & _CRY_CUES and nxt not in _RIP_NEXT:
            return "other"  # eyes that tear, tears of joy
        if prev == "" and nxt in _OBJECT_START:
            return "verb"  # imperative: "Tear up the old letters."
        if prev in _DETS or _is_adj(prev) or prev in _PREPS or prev == "":
            return "other"
        return "verb" if prev in _MODALS or nxt in _OBJECT_START or nxt in ("apart", "open") else "other"
    if word == "close":
        if prev in _MODALS:
            return "verb"
        if nxt in _CLOSE_NEXT or prev in _BE or prev in _DETS or prev in ("stay", "stand", "sit", "come", "get", "up"):
            return "other"
        return None
    if word == "wound":
        if prev in _DETS or _is_adj(prev):
            return "other"
        return "verb" if nxt in _OBJECT_START or nxt in ("its", "up") else "other"
    if word in ("wind", "winds"):
        if prev in _WIND_NOUN_PREV or (nxt in _WIND_NOUN_NEXT and prev not in _MODALS):
            return "other"
        return None
    if word == "minute":
        if nxt in _MINUTE_NOUNS and prev != "last":
            return "verb"
        if prev in _INTENSIFIERS or (prev in _BE_AUX and nxt != "by"):
            return "verb"  # "very minute", "the change is minute" (the time takes "a")
        if prev in _PREPS and prev != "per" and not _is_function(nxt):
            return "verb"  # "in minute detail"
        upper = tokens is not None and i + 1 < len(tokens) and tokens[i + 1][:1].isupper()
        if prev in ("a", "the", "these", "those", "such") and not _is_function(nxt) and not upper \
                and not nxt.endswith(("ed", "'s")):
            return "verb"  # an adjective before a noun: "a minute change"
        return "other"
    if word == "bass":
        if near & _MUSIC_CUES:
            return "other"
        fishy = near & _FISH_CUES or any(w.startswith(("fish", "angl")) for w in near)
        return "verb" if fishy else "other"
    if word == "row":
        return "verb" if set(words[max(0, i - 3):i]) & _QUARREL_CUES and prev != "in" else "other"
    if word == "bow":
        if prev in _DETS and prev2 not in ("take", "took", "taking"):
            return "other"
        return "verb"
    if word == "content":
        return "verb" if prev in _BE and nxt in ("with", "to", "") else "other"
    if word == "dove":
        k = j
        while k >= 0 and _is_adj(words[k]):
            k -= 1
        if _at(words, k) in _DETS or _at(words, k) in _PREPS:
            return "other"  # "a white dove", "like a dove"
        if prev in _SUBJECTS or prev in _MODALS or nxt in _DIVE_NEXT:
            return "verb"
        return "other"
    if word == "invalid":
        if nxt in _PERSON_NOUNS or (prev in _DETS and _is_function(nxt)):
            return "other"  # "his invalid mother", "cared for an invalid"
        return "verb"
    if word == "polish":
        at_start = i == 0 or (tokens is not None and tokens[i - 1] in (".", "!", "?", "…"))
        if tokens is not None and tokens[i][:1].isupper() and (not at_start or nxt in _BE):
            return "other"  # "My neighbour is Polish.", "Polish is hard to learn."
        return "verb"
    if word in _STRICT_VERB:  # a verb only where it plainly is one: "will house", "to export"
        strict = prev in _STRICT_MODALS or (prev in _SUBJECTS and prev2 not in _BE_AUX) or (
            prev == "" and nxt in _OBJECT_DET) or (_plural(prev) and prev2 not in _PREPS)
        return "verb" if strict and nxt not in ("", "is", "was", "of") else "other"
    return None


def resolve(word: str, words: list[str], i: int, tokens: list[str] | None = None) -> list[str] | None:
    """ARPAbet for the homograph ``word`` at position i of the sentence's lower-case words
    (``tokens``: the same tokens as written, for capitals and sentence ends)."""
    h = HOMOGRAPHS.get(word)
    if h is None:
        return None
    role = _special(word, words, i, tokens) or _role(words, i, h.default)
    return (h.verb if role == "verb" else h.other).split()


if __name__ == "__main__":
    print(f"{write_table()} homographs written to {TABLE}")
