"""What to fix, in a few plain words, from a take's quality report."""
from __future__ import annotations

import numpy as np

from core.audio.advice import (NOT_CHECKED, NOTHING, SHORT, full_advice, grade_words, problem_names,
                               what_to_fix)
from core.audio.quality import analyze
from tests.testsignals import speech_like


def report(*problems: tuple[str, str, str], grade: str = "red") -> dict:
    return {"grade": grade, "problems": [{"code": c, "severity": s, "message": m} for c, s, m in problems]}


def test_the_worst_problem_comes_first_in_a_few_words():
    quality = report(("cut_end", "amber", "The recording stopped right as you finished."),
                     ("too_quiet", "red", "The recording is far too quiet. Move closer."))
    assert what_to_fix(quality) == "Too quiet: move closer; End cut off: wait a moment before stopping"
    assert problem_names(quality) == ["Too quiet", "End cut off"]
    assert full_advice(quality)[0] == "The recording is far too quiet. Move closer."


def test_good_unchecked_cut_off_and_many_problems():
    assert what_to_fix(report(grade="green")) == NOTHING == "Nothing to fix"
    assert what_to_fix(None) == what_to_fix({}) == NOT_CHECKED == "Not checked yet"
    assert what_to_fix(report(grade="amber"), interrupted=True).startswith("Cut off: the microphone stopped")
    many = report(("clipping", "red", "a"), ("muffled", "amber", "b"), ("fast", "amber", "c"))
    assert what_to_fix(many).endswith("(and 1 more)")
    assert grade_words("red") == "✗ Redo" and grade_words(None) == "… Not checked"


def test_a_new_problem_code_reads_as_its_own_first_sentence():
    quality = report(("hum", "amber", "A mains hum was heard. Move away from the charger."), grade="amber")
    assert what_to_fix(quality) == "A mains hum was heard"


def test_every_code_the_check_writes_has_short_words():
    """Every problem that analyze() can give on these signals has its own short form."""
    rate = 48000
    signals = [np.zeros(rate), speech_like(1.5, rate) * 0.01, np.clip(speech_like(1.5, rate) * 4, -1, 1),
               speech_like(0.3, rate), speech_like(1.5, rate)]
    codes = {p.code for x in signals for p in analyze(x, rate, text="Hello there, how are you").problems}
    assert {"no_speech", "too_quiet", "clipping", "too_short"} <= codes
    assert codes <= set(SHORT)
