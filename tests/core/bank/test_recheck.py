"""Takes whose check was cut short by a crash (no grade, no cleaned copy) are found and checked
again; a take still being recorded (`.wav.part`) is never touched."""
from __future__ import annotations

import os
import time

import pytest

from core.bank import process
from core.bank.process import needs_check, recheck_ungraded, ungraded_takes
from core.bank.store import Bank
from tests.testsignals import speech_like


def record(speaker, prompt, seconds: float = 2.0, seed: int = 0):
    writer = speaker.begin_take(prompt, speaker.start_session())
    writer.append(speech_like(seconds, seed=seed))
    return writer.finish()


def backdate(take, seconds: float = 60.0) -> None:
    """As if the take had been recorded in an earlier run of the app."""
    when = time.time() - seconds
    os.utime(take.raw_path, (when, when))


@pytest.fixture
def crashed(tmp_path):
    """A bank as a crash leaves it: one take checked, one never checked, one whose JSON was
    lost, one whose cleaned copy is gone, and one still being recorded."""
    bank = Bank(tmp_path / "bank")
    speaker = bank.create_speaker("Anna", ["en"])
    prompts = speaker.prompts()
    done = process.process_take(speaker, record(speaker, prompts[0], seed=1))
    never = record(speaker, prompts[1], seed=2)                     # killed before its check
    lost_json = record(speaker, prompts[2], seed=3)
    lost_json.meta_path.unlink()                                    # killed before its JSON
    no_clean = process.process_take(speaker, record(speaker, prompts[3], seed=4))
    no_clean.clean_path.unlink()
    for take in (done, never, lost_json, no_clean):
        backdate(take)
    part = speaker.folder / "takes" / prompts[4].id / "t20990101-000000000-abcd.wav.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"RIFF....WAVE")                               # a take being recorded now
    return bank, speaker, dict(done=done, never=never, lost_json=lost_json, no_clean=no_clean, part=part)


def test_finds_exactly_the_takes_left_unchecked(crashed):
    bank, speaker, t = crashed
    found = {take.id for take in ungraded_takes(speaker)}
    assert found == {t["never"].id, t["lost_json"].id, t["no_clean"].id}
    assert not needs_check(t["done"])


def test_rechecks_them_all_and_leaves_the_part_alone(crashed):
    bank, speaker, t = crashed
    part_bytes = t["part"].read_bytes()
    seen = []
    summary = recheck_ungraded(bank, on_done=lambda take, error: seen.append((take.id, error)))
    assert {take_id for take_id, _ in seen} == {t["never"].id, t["lost_json"].id, t["no_clean"].id}
    assert all(error is None for _, error in seen) and not summary.failed
    assert "3 take(s) left unchecked last time were checked now." == summary.describe()
    for key in ("never", "lost_json", "no_clean"):
        [again] = [x for x in speaker.takes(t[key].prompt_id) if x.id == t[key].id]
        assert again.grade in ("green", "amber", "red") and again.cleaned and again.clean_path.exists()
        assert again.quality["speech_s"] > 0.5
    assert t["part"].read_bytes() == part_bytes                   # the take in progress: untouched
    assert ungraded_takes(speaker) == []
    assert recheck_ungraded(bank).checked == []                   # nothing left to do next time


def test_takes_recorded_after_the_start_are_left_to_the_record_page(crashed):
    bank, speaker, t = crashed
    started = time.time() - 30.0                # the takes were backdated 60 s before now
    fresh = record(speaker, speaker.prompts()[5], seed=6)           # written now, after "start"
    found = {take.id for take in ungraded_takes(speaker, before=started)}
    assert fresh.id not in found and t["never"].id in found
    assert fresh.id in {take.id for take in ungraded_takes(speaker)}


def test_one_failing_take_does_not_stop_the_others(crashed, monkeypatch):
    bank, speaker, t = crashed
    real = process.process_take

    def flaky(speaker_, take, *args, **kwargs):
        if take.id == t["never"].id:
            raise OSError(5, "Input/output error")
        return real(speaker_, take, *args, **kwargs)

    monkeypatch.setattr(process, "process_take", flaky)
    summary = recheck_ungraded(bank)
    assert [take.id for take, _ in summary.failed] == [t["never"].id]
    assert {take.id for take in summary.checked} == {t["lost_json"].id, t["no_clean"].id}
    assert summary.describe().endswith("1 take(s) could not be checked (Input/output error). They are kept "
                                       "as recorded and are checked again the next time the app starts.")
    assert t["never"].raw_path.exists()                            # nothing is lost
    assert [take.id for take in ungraded_takes(speaker)] == [t["never"].id]


def test_stops_between_takes_when_asked(crashed):
    bank, speaker, t = crashed
    summary = recheck_ungraded(bank, should_stop=lambda: True)
    assert summary.stopped and summary.checked == []


def test_without_rnnoise_a_graded_uncleaned_take_is_not_checked_forever(crashed):
    bank, speaker, t = crashed
    take = t["done"]
    take.cleaned = False
    take.save()
    assert needs_check(take, can_clean=True) and not needs_check(take, can_clean=False)


def test_the_command_line_lists_and_rechecks_them(crashed, capsys):
    from voicebank.cli import main

    bank, speaker, t = crashed
    assert main(["--bank", str(bank.root), "speakers"]) == 0
    out = capsys.readouterr().out
    assert "\t3 not checked" in out and "`voicebank recheck` checks them now" in out
    assert main(["--bank", str(bank.root), "recheck"]) == 0
    out = capsys.readouterr().out
    assert f"{t['never'].prompt_id}/{t['never'].id}\t" in out
    assert out.rstrip().endswith("3 take(s) left unchecked last time were checked now.")
    assert main(["--bank", str(bank.root), "speakers"]) == 0
    assert "not checked" not in capsys.readouterr().out


def test_a_take_whose_file_was_cut_off_is_graded_with_what_is_there_and_says_so(tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Anna", ["en"])
    take = record(speaker, speaker.prompts()[0], seconds=6.0)
    with open(take.raw_path, "r+b") as fh:                  # a copy of the bank that stopped early
        fh.truncate(44 + 2 * 48000 * 2)
    checked = process.process_take(speaker, take)
    [problem] = [p for p in checked.quality["problems"] if p["code"] == "file_cut_off"]
    assert problem["message"].startswith(f"{take.id}.wav is cut off: it should last 6 s but only 2 s are in the file.")
    assert checked.grade in ("amber", "red") and checked.quality["duration_s"] == pytest.approx(2.0, abs=0.01)
