"""The part of speech of an English homograph, from the words around it (rules; no tagger):
'verb' or 'other' (a noun or adjective), for en_homograph.py to pick a reading with.

    _role(["she", "wants", "to", "record", "it"], 3, "other") -> "verb"

A verb after a modal, "to", a subject pronoun, a plural subject, or the subject of a question
("Does the clinic permit ..."), or before an object when it follows a noun; a noun or adjective
after a determiner, a preposition, an adjective, a form of "be", or an object-taking verb. When
no cue decides, the word's default is returned. The word classes here (determiners, modals,
prepositions, ...) and the helpers that read them are shared with the sense rules of
en_homograph.py. The original v2 uses an averaged-perceptron tagger here.
"""
from __future__ import annotations

from .en_homograph_data import HOMOGRAPHS

_AUX = {"will", "would", "can", "could", "shall", "should", "must", "may", "might", "cannot",
        "can't", "won't", "wouldn't", "couldn't", "shouldn't", "mustn't", "don't", "doesn't",
        "didn't", "do", "does", "did", "i'll", "we'll", "you'll", "they'll", "he'll", "she'll"}
_MODALS = _AUX | {"to", "please", "let's", "not", "never"}
_STRICT_MODALS = _AUX - {"do", "does", "did"} | {"to"}
_SUBJECTS = {"i", "we", "you", "they", "who", "people", "nobody", "everyone", "he", "she", "it"}
_ADVERBS = {"never", "always", "often", "usually", "also", "just", "really", "sometimes", "still",
            "already", "ever", "once", "rarely", "seldom", "all", "both", "then", "only", "finally",
            "normally", "generally", "probably", "certainly", "soon", "actually", "regularly",
            "carefully", "quickly", "slowly", "gently", "easily", "first"}
_DETS = {"a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its",
         "our", "their", "no", "every", "each", "some", "any", "another", "many", "few", "several",
         "whose", "what", "which", "one", "two", "three", "four", "five", "six", "seven", "eight",
         "nine", "ten", "such", "more", "most", "less", "much", "other", "same"}
_SINGULAR_DETS = {"a", "an", "this", "that", "which", "each", "every", "another"}
_PREPS = {"of", "in", "on", "at", "for", "with", "from", "by", "about", "into", "without", "under",
          "after", "before", "during", "over", "against", "between", "through", "via", "than",
          "like", "per", "toward", "towards", "upon", "within", "across"}
_ADJS = {"new", "old", "good", "bad", "big", "small", "world", "criminal", "strange", "deep",
         "rough", "poor", "last", "fresh", "local", "front", "terrible", "cold", "great", "whole",
         "favourite", "favorite", "perfect", "rebel", "parking", "building", "best", "own",
         "white", "black", "red", "blue", "green", "grey", "gray", "brown", "yellow", "little",
         "young", "long", "short", "high", "low", "large", "huge", "first", "next", "full",
         "free", "sharp", "heavy", "light", "hot", "warm", "safe", "real", "main", "sudden",
         "slight", "steady", "early", "late", "recent", "daily", "weekly", "monthly", "yearly",
         "public", "private", "foreign", "further", "final", "total", "formal", "quick", "slow",
         "easy", "hard", "simple", "common", "rare", "wrong", "right", "wide", "sore", "bright",
         "dark", "clean", "dirty", "open", "elder", "child", "drug", "alcohol", "data",
         "email", "home", "work", "business", "school", "class", "research", "customer"}
_ADJ_SUFFIXES = ("al", "ous", "ful", "less", "able", "ible", "ical", "ive", "ary", "ular", "iar")
_NOT_ADJ = {"hospital", "hospitals", "animal", "signal", "capital", "journal", "festival",
            "material", "terminal", "general", "individual", "professional", "official",
            "chemical", "detective", "relative", "executive", "representative", "native",
            "objective", "perspective", "initiative", "alternative", "motive", "vegetable",
            "timetable", "constable", "secretary", "library", "dictionary", "salary", "summary",
            "anniversary", "boundary", "missionary", "visionary", "arrival", "approval",
            "survival", "rival", "proposal", "referral", "removal", "renewal", "withdrawal",
            "cardinal", "admiral", "principal", "liberal", "mineral", "metal", "pedal", "medal"}
_BE = {"is", "are", "was", "were", "be", "been", "being", "am", "seems", "seemed", "feel",
       "felt", "stay", "remain", "remained", "looks", "so", "too", "very", "quite", "how", "as",
       "it's", "that's", "i'm", "you're", "we're", "they're", "he's", "she's", "there's",
       "isn't", "aren't", "wasn't", "weren't", "become", "became", "becomes", "extremely",
       "rather", "fairly", "pretty"}
_BE_AUX = {"is", "are", "was", "were", "am", "isn't", "aren't", "wasn't", "weren't"}
# verbs that take the homograph as their object: "sign the form" - "signed contracts"
_TRANSITIVE = {"need", "needs", "want", "wants", "have", "has", "had", "get", "gets", "got",
               "make", "makes", "made", "take", "takes", "took", "give", "gives", "gave", "see",
               "saw", "keep", "keeps", "kept", "find", "finds", "found", "sign", "signs", "show",
               "shows", "sent", "send", "lost", "lose", "like", "likes", "love", "loves", "hate",
               "check", "checks", "request", "apply", "renew", "pay", "pays", "paid", "accept",
               "receive", "report", "avoid", "prevent", "stop", "without", "enjoy", "buy", "sell",
               "sells", "bought", "sold", "change", "won", "win", "broke", "break", "hold",
               "held"}
_OBJECT_START = {"the", "a", "an", "your", "my", "his", "her", "our", "their", "this", "that",
                 "these", "those", "it", "them", "me", "us", "him", "off", "up", "down", "out",
                 "through", "around", "along", "across", "into", "past", "round", "every"}
_OBJECT_DET = {"the", "a", "an", "your", "my", "his", "her", "our", "their", "its", "it", "them",
               "me", "us", "him", "you", "everyone", "everything", "something", "someone",
               "anyone", "anything"}
_NOT_PLURAL = {"this", "was", "has", "does", "is", "his", "its", "us", "always", "perhaps",
               "sometimes", "whereas", "unless", "besides", "towards", "afterwards", "across",
               "less", "yes", "thus", "plus", "hers", "ours", "yours", "theirs", "as", "chaos",
               "news", "series", "species", "bus", "gas", "lens", "bonus", "virus", "status"}


def _is_adj(w: str) -> bool:
    if w in _ADJS or (len(w) > 5 and w.endswith(_ADJ_SUFFIXES) and w not in _NOT_ADJ):
        return True
    if w.endswith("est") and len(w) > 5:  # a superlative of a known adjective: latest, biggest
        stem = w[:-3]
        return any(s in _ADJS for s in (stem, stem + "e", stem[:-1], stem[:-1] + "y"))
    return False


_NOT_MANNER = {"only", "early", "daily", "weekly", "monthly", "yearly", "family", "likely",
               "lovely", "friendly", "elderly", "holy", "ugly", "silly", "belly", "jelly", "rally",
               "italy", "lily", "fly", "reply", "supply", "apply", "rely", "ally", "july", "lonely",
               "costly", "deadly", "orderly", "bully", "assembly", "fully"}


def _manner(w: str) -> bool:
    """An adverb of manner (a verb's): "easily", "slowly"."""
    return len(w) > 4 and w.endswith("ly") and w not in _NOT_MANNER


_NOT_ED = {"need", "feed", "seed", "speed", "bleed", "breed", "weed", "greed", "steed", "indeed",
           "proceed", "exceed", "succeed", "hundred", "sacred", "naked", "wicked", "kindred"}


def _past(w: str) -> bool:
    """A past tense or participle: "signed", "agreed" (not "need", "hundred")."""
    return len(w) > 3 and w.endswith("ed") and w not in _NOT_ED


def _verb_next(w: str) -> bool:
    """The next word is a verb, so the homograph ends its subject: "the transfer failed"."""
    return w in _AUX or w in _BE_AUX or _past(w)


def word_is_s_form(w: str) -> bool:
    """A plural or third-person form of a homograph whose base is one too: graduates, records."""
    return w.endswith("s") and (w[:-1] in HOMOGRAPHS or w[:-2] in HOMOGRAPHS)


_PLURAL_NOUNS = {"police", "people", "children", "men", "women", "staff", "cattle", "teeth",
                 "feet", "mice", "geese"}


def _plural(w: str) -> bool:
    """A plural noun (or a third-person verb) that can be a subject: "farmers", "muscles"."""
    return w in _PLURAL_NOUNS or (len(w) > 3 and w.endswith("s") and w not in _NOT_PLURAL
                                  and not w.endswith(("ss", "us", "is", "ous", "ics", "'s")))


def _has_verb_before(words: list[str], j: int) -> bool:
    """The clause already has a verb before position j: "Keep the two drugs ..."."""
    for k in range(j - 1, _clause_start(words, j) - 1, -1):
        w = words[k]
        if w in _TRANSITIVE or w in _BE or w in _AUX or _past(w):
            return True
    return False


def _back(words: list[str], i: int) -> int:
    """The index of the word before i, skipping adverbs (-1 at the start)."""
    j = i - 1
    while j >= 0 and words[j] in _ADVERBS:
        j -= 1
    return j


def _at(words: list[str], j: int) -> str:
    return words[j] if 0 <= j < len(words) else ""


def _clause_start(words: list[str], i: int) -> int:
    j = i
    while j > 0 and words[j - 1] != "":
        j -= 1
    return j


def _question_subject(words: list[str], i: int) -> bool:
    """The homograph follows the subject of a question: "Does the hospital permit ...?"."""
    s = _clause_start(words, i)
    if _at(words, s) not in _AUX or not 2 <= i - s <= 5 or _at(words, s + 1) not in _DETS:
        return False
    between = words[s + 2:i]
    return not any(w in _PREPS or w in _BE or w in _AUX or w == "" for w in between)


def _role(words: list[str], i: int, default: str | None, depth: int = 0) -> str | None:
    """'verb' or 'other' from the words around position i (``default`` when nothing decides)."""
    j = _back(words, i)
    prev, prev2 = _at(words, j), _at(words, j - 1)
    nxt = _at(words, i + 1)
    if prev in ("and", "or") and depth < 2:  # coordinated: as the word before "and"
        return _role(words, _back(words, j), None, depth + 1) or default
    if prev == "not" and (prev2 in _BE or prev2 in _SUBJECTS):
        return "other"  # "was not present", "is not perfect"
    if prev in ("do", "does", "did") and _clause_start(words, j) == j and \
            nxt not in _OBJECT_DET and nxt not in ("", "not") and nxt not in _PREPS:
        return "other"  # "Do moderate exercise." (but "Do close the door.")
    if prev in _MODALS or (prev in ("me", "us") and prev2 == "let"):
        return "verb"
    if prev in _SINGULAR_DETS and _plural(words[i]) and not _verb_next(nxt) and nxt:
        return "verb"  # no plural after "this" / "which": "a tool which records calls"
    if prev in _DETS or prev in _PREPS:
        return "other"
    if _manner(nxt) and prev not in _BE:
        return "verb"  # a verb and its adverb: "the yolk and white separate easily"
    if _is_adj(prev) or prev.endswith("ing"):
        return "other"
    if prev in _TRANSITIVE or _past(prev):
        return "other"  # the object of a verb: "signed contracts", "need a permit"
    if prev in _SUBJECTS:  # "You object." / "Are you content?", "everyone present agreed"
        return "other" if prev2 in _BE_AUX or _verb_next(nxt) else "verb"
    if prev == "" and nxt in _OBJECT_START:
        return "verb"  # imperative: "Close your eyes."
    if _question_subject(words, i):
        return "verb"
    if prev2 in ("a", "an", "another", "each", "every") and not _plural(words[i]):
        return "other"  # a singular noun phrase: "a police escort" (its verb would take -s)
    if _plural(prev) and not _has_verb_before(words, j):
        return "verb"  # a plural subject: "Farmers produce food." (not "keep the drugs ...")
    if prev in _BE or nxt == "of":
        return "other"  # "was present", "regular use of"
    if prev and nxt in _OBJECT_DET:
        return "verb"  # a noun subject, then an object: "The nurse records the result."
    if _verb_next(nxt) or (nxt == "" and (prev2 in _DETS or prev2 in _PREPS)):
        return "other"  # the head of a noun phrase: "the money transfer failed", "by bank transfer."
    if prev and word_is_s_form(words[i]) and nxt in _PREPS and prev2 in _DETS:
        return "verb"  # a singular subject, then the -s form: "my daughter graduates in June"
    return default
