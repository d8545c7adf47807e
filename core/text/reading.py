"""How a typed text will be read, word by word, for showing it before it is said.

    read_text("还书, 还有") -> [ReadingToken("还书", reading="huán shū", ...), ...]

The tokens come from the very phonemize() calls that speaking makes (the text is cut into the
same sentences as core.runtime.pipeline does, and each is phonemized with the same user
dictionary), so the reading shown is what will be said: each token carries the phones it is
said with. A token gives its reading in plain form (pinyin with tone marks; a respelling such as
"reed" for an English word that could be read another way, a name, or one the dictionary
decides), where it came from, and the other readings to choose from: pypinyin's readings of a
character that has several, CMUdict's other entries and the homograph's other reading for an
English word. Choosing one makes a pronunciation dictionary entry (`Choice.word`, `Choice.pron`).
Numbers, dates and abbreviations show the words they become ("3" -> "three", "2024年" ->
"èr líng èr sì nián").
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache

from .en_homograph import HOMOGRAPHS
from .errors import TextError
from .frontend import SaidWord, phonemize, split_sentences
from .respell import respell
from .segment import is_han
from .userdict import UserDict

MAX_SENTENCE_CHARS = 50     # = core.runtime.pipeline.SynthesisOptions.max_sentence_chars
MAX_CHARS = 2000            # longer texts are shown up to here
MAX_CHOICES_PER_CHAR = 4    # pypinyin lists rare readings last
_SANDHI_ONLY = set("一不")   # their tones follow the next word; not a choice of reading


@dataclass(frozen=True)
class Choice:
    shown: str      # the reading in plain form: "还(hái)有", "reed"
    word: str       # the dictionary word it is saved under
    pron: str       # its pronunciation in the dictionary's form: "hai2 you3", "R IY1 D"


@dataclass(frozen=True)
class ReadingToken:
    text: str                   # as typed
    start: int                  # where in the typed text
    end: int
    language: str               # "zh" or "en"
    reading: str                # plain form; "" when an English word is said as written
    source: str                 # "user", "context", "dictionary", "spelled", "guess", "number"
    said: str                   # the words said (normalised: "three" for "3")
    phones: tuple[str, ...]     # the phones it is said with
    word: str = ""              # the dictionary word a fix is saved under ("" = cannot fix here)
    pron: str = ""              # that word's pronunciation now, in the dictionary's form
    choices: tuple[Choice, ...] = field(default_factory=tuple)

    @property
    def can_fix(self) -> bool:
        """An English word can always be given another reading (typed, if none is known); a
        Chinese word when one of its characters has another everyday reading."""
        return bool(self.word) and (self.language == "en" or bool(self.choices))

    def marked(self) -> str:
        """The text with its reading: "还(huán)书" style for Chinese, "read (reed)" for English."""
        if self.language == "zh" and self.reading and self.text == self.said:
            return "".join(f"{ch}({syl})" for ch, syl in zip(self.text, self.reading.split()))
        return f"{self.text} ({self.reading})" if self.reading else self.text


# ----------------------------------------------------------------------------- pinyin
def tone_marks(syllable: str) -> str:
    """'huan2' -> 'huán', 'le5' -> 'le', 'lv4' -> 'lǜ'."""
    from pypinyin.contrib.tone_convert import to_tone

    return to_tone(syllable.replace("ü", "v"))


@lru_cache(maxsize=1)
def _phrase_readings() -> dict[str, dict[str, int]]:
    """For each character, how many words of pypinyin's phrase dictionary read it each way
    (once, about 0.4 s): a reading no word uses is too rare to offer."""
    from pypinyin.contrib.tone_convert import to_tone3

    from .zh_context import phrase_dict

    out: dict[str, dict[str, int]] = {}
    for phrase, prons in phrase_dict().items():
        for ch, pron in zip(phrase, prons):
            syl = to_tone3(pron[0], neutral_tone_with_five=True)
            counts = out.setdefault(ch, {})
            counts[syl] = counts.get(syl, 0) + 1
    return out


@lru_cache(maxsize=4096)
def heteronyms(char: str) -> tuple[str, ...]:
    """The readings of a character that has several in everyday words (tone3, 5 = neutral),
    commonest first: pypinyin's list, less those no dictionary word uses (还 fu2) unless a
    context rule of the front end can give them."""
    from pypinyin import Style, pinyin

    from .zh_context import candidates

    if not is_han(char) or char in _SANDHI_ONLY:
        return ()
    found = pinyin(char, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
    used = _phrase_readings().get(char, {})
    ruled = {rule.reading for rule in candidates(char)}
    out = tuple(dict.fromkeys(s for s in found if s[-1:] in "12345"
                              and (used.get(s, 0) >= 2 or s in ruled or s == found[0])))
    return out if len(out) > 1 else ()


def _zh_marked(word: str, syllables: list[str]) -> str:
    return "".join(f"{ch}({tone_marks(s)})" for ch, s in zip(word, syllables))


def _zh_choices(word: str, syllables: tuple[str, ...]) -> tuple[Choice, ...]:
    out = []
    for k, ch in enumerate(word):
        for alt in heteronyms(ch)[:MAX_CHOICES_PER_CHAR]:
            if alt == syllables[k]:
                continue
            new = list(syllables)
            new[k] = alt
            out.append(Choice(_zh_marked(word, new), word, " ".join(new)))
    return tuple(out)


# ----------------------------------------------------------------------------- English
def _en_alternatives(word: str, phones: tuple[str, ...]) -> list[list[str]]:
    from .en_g2p import pronunciations

    found = pronunciations(word)
    h = HOMOGRAPHS.get(word.lower())
    if h is not None:
        found += [h.verb.split(), h.other.split()]
    seen, out = {tuple(phones)}, []
    for pron in found:
        if tuple(pron) not in seen and not _only_reduced(phones, pron):
            seen.add(tuple(pron))
            out.append(pron)
    return out


def _only_reduced(a: tuple[str, ...] | list[str], b: list[str]) -> bool:
    """True when two pronunciations differ only in stress or in a weak vowel ("it" IH1 T /
    IH0 T, "will" W IH1 L / W AH0 L): not a different reading worth offering."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y or x.rstrip("012") == y.rstrip("012"):
            continue
        if not (x.endswith("0") or y.endswith("0")):
            return False
    return True


def _valid_en_word(word: str) -> bool:
    return word.replace("'", "").replace("-", "").isalpha() and word[:1].isalpha() and word.isascii()


# ----------------------------------------------------------------------------- building
@dataclass
class _Piece:
    language: str
    said: SaidWord
    at: int         # where its text starts in the stream of said words


def _said_pieces(text: str, userdict: UserDict | None) -> tuple[list[_Piece], str]:
    pieces, stream = [], ""
    for sentence in split_sentences(text, max_chars=MAX_SENTENCE_CHARS):
        try:
            ph = phonemize(sentence, userdict=userdict)
        except TextError:
            continue
        for seg in ph.segments:
            for said in seg.words:
                pieces.append(_Piece(seg.language, said, len(stream)))
                stream += said.text
            stream += " "
    return pieces, stream


def _spans(text: str, stream: str) -> list[tuple[int, int] | None]:
    """For each character of the stream of said words, the span of the typed text it comes from
    (a number's digits give the span of the whole number), or None."""
    out: list[tuple[int, int] | None] = [None] * len(stream)
    matcher = difflib.SequenceMatcher(None, text.lower(), stream.lower(), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            if op == "equal":
                out[j] = (i1 + j - j1, i1 + j - j1 + 1)
            elif op == "replace":
                out[j] = (i1, i2)
    return out


def _token(language: str, text: str, start: int, end: int, words: list[SaidWord]) -> ReadingToken | None:
    said = ("" if language == "zh" else " ").join(w.text for w in words if w.source != "mark")
    phones = tuple(p for w in words for p in w.phones)
    if not said:
        return None
    sources = [w.source for w in words if w.source != "mark"]
    normalised = said.lower() != text.lower()
    source = "number" if normalised else "user" if "user" in sources else sources[0]
    if language == "zh":
        syllables = tuple(s for w in words for s in w.syllables if s)
        reading = " ".join(tone_marks(s) for s in syllables)
        if normalised or len(words) != 1:
            return ReadingToken(text, start, end, "zh", reading, source, said, phones)
        return ReadingToken(text, start, end, "zh", reading, source, said, phones, said,
                            " ".join(syllables), _zh_choices(said, syllables))
    if normalised or len(words) != 1 or not _valid_en_word(text):
        reading = said if normalised else ""
        return ReadingToken(text, start, end, "en", reading, source, said, phones)
    alternatives = _en_alternatives(text, phones)
    shown = respell(phones) if alternatives or source in ("context", "user", "guess") or \
        (source == "spelled" and len(text) > 1) else ""
    choices = tuple(Choice(respell(p), text, " ".join(p)) for p in alternatives)
    return ReadingToken(text, start, end, "en", shown, source, said, phones, text, " ".join(phones), choices)


def _widen_single(tokens: list[ReadingToken]) -> list[ReadingToken]:
    """A fix for one Chinese character would change that character everywhere, so a
    one-character word is saved with the character beside it (还 in 还你 -> "还你")."""
    out = []
    for k, t in enumerate(tokens):
        if t.language != "zh" or len(t.word) != 1 or not t.choices:
            out.append(t)
            continue
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        prev = tokens[k - 1] if k > 0 else None
        if nxt is not None and nxt.start == t.end and nxt.pron and nxt.language == "zh":
            word, pron, first = t.word + nxt.word[0], f"{t.pron} {nxt.pron.split()[0]}", 0
        elif prev is not None and prev.end == t.start and prev.pron and prev.language == "zh":
            word, pron, first = prev.word[-1] + t.word, f"{prev.pron.split()[-1]} {t.pron}", 1
        else:
            out.append(t)
            continue
        choices = []
        for c in t.choices:
            sy = pron.split()
            sy[first] = c.pron
            choices.append(Choice(c.shown, word, " ".join(sy)))
        out.append(ReadingToken(t.text, t.start, t.end, t.language, t.reading, t.source, t.said,
                                t.phones, word, pron, tuple(choices)))
    return out


def read_text(text: str, userdict: UserDict | dict | None = None) -> list[ReadingToken]:
    """The reading of each word of `text`, as speaking it with `userdict` would say it.
    Marks and spaces give no token; an empty or unspeakable text gives []."""
    if isinstance(userdict, dict):
        userdict = UserDict(userdict)
    text = text[:MAX_CHARS]
    if not text.strip():
        return []
    pieces, stream = _said_pieces(text, userdict)
    spans = _spans(text, stream)
    groups: list[tuple[str, int, int, list[SaidWord]]] = []
    for piece in pieces:
        found = [s for s in spans[piece.at:piece.at + len(piece.said.text)] if s is not None]
        if piece.said.source == "mark" or not found:
            if groups and piece.said.source != "mark" and groups[-1][0] == piece.language:
                groups[-1][3].append(piece.said)       # a word with nothing typed behind it
            continue
        start, end = min(s[0] for s in found), max(s[1] for s in found)
        if groups and groups[-1][0] == piece.language and start < groups[-1][2]:
            lang, s0, e0, words = groups[-1]            # the same typed text (a number's words)
            groups[-1] = (lang, min(s0, start), max(e0, end), words + [piece.said])
        else:
            groups.append((piece.language, start, end, [piece.said]))
    tokens = [t for lang, s, e, words in groups if (t := _token(lang, text[s:e], s, e, words))]
    return _widen_single(tokens)


def fix_words(tokens: list[ReadingToken]) -> dict[str, str]:
    """The dictionary entries the tokens were read with (their source is "user"): what a saved
    phrase keeps so that it is always said the way it was fixed."""
    return {t.word: t.pron for t in tokens if t.source == "user" and t.word and t.pron}
