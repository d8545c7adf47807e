"""Progress and the resume point count only usable takes; skipped prompts are left out; a
bilingual speaker gets the languages in turn; old takes graded "noisy" by rules that trusted a
disturbed room check are checked again."""
from __future__ import annotations

import numpy as np
import pytest

from core.bank import process
from core.bank.progress import count_progress, goal_text, reached_milestones, resume_index
from core.bank.prompts import Prompt, interleave, load_script
from core.bank.store import Bank
from tests.testsignals import noise, speech_like


@pytest.fixture
def speaker(tmp_path):
    return Bank(tmp_path / "bank").create_speaker("Anna", ["en"])


def take_of(speaker, prompt, grade: str | None, seconds: float = 2.0, seed: int = 0, session=None):
    """A take of `prompt` with the given grade (None: not checked yet)."""
    writer = speaker.begin_take(prompt, session or speaker.start_session())
    writer.append(speech_like(seconds, seed=seed))
    take = writer.finish()
    if grade is not None:
        take.quality = {"grade": grade, "problems": [], "grader": 2}
        take.save()
    return take


def test_red_takes_do_not_count_as_done(speaker):
    prompts = speaker.prompts()
    take_of(speaker, prompts[0], "green", 2.0)
    take_of(speaker, prompts[1], "amber", 3.0)
    take_of(speaker, prompts[2], "red", 4.0)
    p = speaker.progress()
    assert p.prompts_total == len(prompts)
    assert p.prompts_done == 2 and p.red_takes == 1
    assert p.seconds_recorded == pytest.approx(5.0, abs=0.05)      # the red take's 4 s not counted
    assert p.prompts_left == len(prompts) - 2


def test_a_new_usable_take_over_a_red_one_counts(speaker):
    prompt = speaker.prompts()[0]
    take_of(speaker, prompt, "red", seed=1)
    assert speaker.progress().prompts_done == 0
    take_of(speaker, prompt, "green", seed=2)        # recorded again: the latest take decides
    p = speaker.progress()
    assert p.prompts_done == 1 and p.red_takes == 0


def test_an_unchecked_take_counts_until_it_is_graded(speaker):
    take_of(speaker, speaker.prompts()[0], None)
    p = speaker.progress()
    assert p.prompts_done == 1 and p.unchecked == 1


def test_resume_skips_usable_takes_and_stops_at_red(speaker):
    prompts = speaker.prompts()
    take_of(speaker, prompts[0], "green")
    take_of(speaker, prompts[1], "amber")
    take_of(speaker, prompts[2], "red")
    take_of(speaker, prompts[3], "green")
    assert speaker.first_unrecorded_index() == 2
    take_of(speaker, prompts[2], "amber")            # redone
    assert speaker.first_unrecorded_index() == 4


def test_skipped_prompts_are_left_out_of_total_and_resume(speaker):
    prompts = speaker.prompts()
    take_of(speaker, prompts[0], "green")
    speaker.set_skipped(prompts[1].id)
    speaker.set_skipped(prompts[2].id)
    assert speaker.skipped() == {prompts[1].id, prompts[2].id}
    p = speaker.progress()
    assert p.prompts_total == len(prompts) - 2 and p.skipped == 2 and p.prompts_done == 1
    assert speaker.first_unrecorded_index() == 3
    speaker.set_skipped(prompts[1].id, False)        # brought back
    assert speaker.skipped() == {prompts[2].id}
    assert speaker.first_unrecorded_index() == 1
    assert speaker.progress().prompts_total == len(prompts) - 1


def test_skipped_list_survives_a_reload_and_a_damaged_file(speaker, tmp_path):
    prompt = speaker.prompts()[5]
    speaker.set_skipped(prompt.id)
    again = Bank(tmp_path / "bank").speakers()[0]
    assert again.skipped() == {prompt.id}
    (speaker.folder / "skipped.json").write_text("{not json", encoding="utf-8")
    assert again.skipped() == set()                  # a damaged list skips nothing


def test_resume_when_everything_is_done_or_skipped():
    prompts = [Prompt(f"en-{i}", f"sentence {i}", "en") for i in range(3)]
    good = type("T", (), {"grade": "green", "duration_s": 2.0, "quality": {"grade": "green"}})()
    takes = {"en-0": good, "en-1": good}
    assert resume_index(prompts, takes.get, {"en-2"}) == 2           # the last one
    assert resume_index(prompts, takes.get, set()) == 2
    p = count_progress(prompts, takes.get, {"en-2"})
    assert (p.prompts_total, p.prompts_done, p.prompts_left) == (2, 2, 0)


def test_bilingual_speakers_get_the_languages_in_turn(tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Wang", ["zh", "en"])
    prompts = speaker.prompts()
    zh, en = load_script("zh"), load_script("en")
    assert [p.language for p in prompts[:6]] == ["zh", "en"] * 3
    assert prompts[0] == zh[0] and prompts[1] == en[0] and prompts[2] == zh[1]
    assert len(prompts) == len(zh) + len(en)
    assert {p.id for p in prompts} == {p.id for p in zh} | {p.id for p in en}


def test_interleave_puts_the_longer_scripts_rest_at_the_end():
    a = [Prompt(f"a{i}", "x", "zh") for i in range(3)]
    b = [Prompt("b0", "y", "en")]
    assert [p.id for p in interleave([a, b])] == ["a0", "b0", "a1", "a2"]
    assert interleave([a]) == a and interleave([]) == []


def test_messages_still_come_first_for_a_bilingual_speaker(tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Wang", ["zh", "en"])
    message = speaker.add_message("I love you, 我爱你")
    assert speaker.prompts()[0] == message and speaker.prompts()[1].language == "zh"


# --------------------------------------------------------------------------- the goal

def test_goal_text_names_the_next_milestone(speaker):
    prompts = speaker.prompts()
    assert "No usable recording yet" in goal_text(speaker.progress())
    take_of(speaker, prompts[0], "green", 2.0)
    words = goal_text(speaker.progress())
    assert "2 seconds of usable recording" in words and "first version" in words
    take_of(speaker, prompts[1], "green", 4.0)       # 3-10 s: a first version can be made
    p = speaker.progress()
    assert [m.short for m in reached_milestones(p)] == ["First version"]
    assert "Next: a trained voice" in goal_text(p) and "54 seconds to go" in goal_text(p)
    take_of(speaker, prompts[2], "red", 9.0)          # a red take brings nothing nearer
    assert goal_text(speaker.progress()) == goal_text(p)


# --------------------------------------------------------------------------- takes graded by older rules

def test_noisy_by_old_rules_is_checked_again(speaker, tmp_path):
    """A clean take, graded red "noisy" against a room check spoiled by speech by the rules before
    they had a number, is found and checked again; today's rules trust its own pauses."""
    prompt = speaker.prompts()[0]
    session = speaker.start_session("mic", -41.7, False)          # a room check spoiled by speech
    writer = speaker.begin_take(prompt, session)
    writer.append(np.clip(speech_like(3.0, seed=5, lead_s=0.6, trail_s=0.6)
                          + noise("pink", 3.0, seed=9, level_dbfs=-75.0), -1, 1))
    take = writer.finish()
    take = process.process_take(speaker, take)
    assert take.grade != "red" and not process.needs_check(take)
    # as the older rules left it: red "too noisy" against the session's floor, with no grader
    old = dict(take.quality, grade="red", noise_floor_source="session", noise_floor_dbfs=-41.7,
               noise_floor_note=None,
               problems=[{"code": "noisy", "severity": "red", "message": "Too much background noise"}])
    old.pop("grader")
    take.quality = old
    take.save()
    take = speaker.current_take(prompt.id)
    assert process.graded_noisy_by_old_rules(take) and process.needs_check(take)
    assert speaker.progress().unchecked == 1                     # being checked again
    assert [t.id for t in process.ungraded_takes(speaker)] == [take.id]

    summary = process.recheck_ungraded(Bank(tmp_path / "bank"))
    assert [t.id for t in summary.checked] == [take.id]
    again = speaker.current_take(prompt.id)
    assert again.grade != "red" and again.quality["grader"] is not None
    assert "disturbed" in again.quality["noise_floor_note"]
    assert not process.graded_noisy_by_old_rules(again) and not process.needs_check(again)
    p = speaker.progress()
    assert p.prompts_done == 1 and p.unchecked == 0 and p.red_takes == 0


def test_red_by_todays_rules_or_for_another_reason_is_left_alone(speaker):
    take = take_of(speaker, speaker.prompts()[0], "red")
    take.quality = {"grade": "red", "noise_floor_source": "session", "grader": 2,
                    "problems": [{"code": "noisy", "severity": "red", "message": "noisy"}]}
    assert not process.graded_noisy_by_old_rules(take)           # today's rules said so
    take.quality = {"grade": "red", "noise_floor_source": "session",
                    "problems": [{"code": "clipping", "severity": "red", "message": "clipped"}]}
    assert not process.graded_noisy_by_old_rules(take)           # old, but not about noise
    take.quality = {"grade": "red", "noise_floor_source": "file",
                    "problems": [{"code": "noisy", "severity": "red", "message": "noisy"}]}
    assert not process.graded_noisy_by_old_rules(take)           # its own pauses said so


def test_a_take_graded_by_old_rules_counts_as_being_checked(speaker):
    prompts = speaker.prompts()
    take = take_of(speaker, prompts[0], "red")
    take.quality = {"grade": "red", "noise_floor_source": "session",
                    "problems": [{"code": "noisy", "severity": "red", "message": "noisy"}]}
    take.save()
    p = speaker.progress()
    assert p.prompts_done == 1 and p.unchecked == 1 and p.red_takes == 0
    assert speaker.first_unrecorded_index() == 1          # not sent back while it is checked again
