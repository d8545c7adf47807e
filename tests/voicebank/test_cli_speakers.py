"""`voicebank speakers` counts usable takes only: a ✗ Redo take is still to record, a skipped
prompt is not counted, and the minutes are usable minutes."""
from __future__ import annotations

from core.bank.store import Bank
from tests.testsignals import speech_like
from voicebank.cli import main


def graded_take(speaker, prompt, grade: str, seconds: float):
    writer = speaker.begin_take(prompt, speaker.start_session("mic", -60.0, True))
    writer.append(speech_like(seconds, seed=3))
    take = writer.finish()
    take.quality = {"grade": grade, "problems": [], "grader": 2}
    take.cleaned = True                 # as a checked take: nothing left for `recheck` to do
    take.clean_path.write_bytes(take.raw_path.read_bytes())
    take.save()
    return take


def test_speakers_shows_usable_counts(tmp_path, capsys):
    bank = Bank(tmp_path / "bank")
    speaker = bank.create_speaker("Wang Fang", ["zh", "en"])
    prompts = speaker.prompts()
    graded_take(speaker, prompts[0], "green", 30.0)
    graded_take(speaker, prompts[1], "amber", 30.0)
    graded_take(speaker, prompts[2], "red", 60.0)
    speaker.set_skipped(prompts[3].id)
    assert main(["--bank", str(bank.root), "speakers"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[0]
    fields = line.split("\t")
    assert fields[:3] == [speaker.id, "Wang Fang", "zh,en"]
    assert f"2/{len(prompts) - 1} prompts" in fields            # the red one is not done, the skipped one not counted
    assert "1.0 min usable" in fields                           # the red take's minute is not
    assert "1 to redo" in fields and "1 skipped" in fields
    assert not any("not checked" in f for f in fields)


def test_redoing_the_red_take_counts_it(tmp_path, capsys):
    bank = Bank(tmp_path / "bank")
    speaker = bank.create_speaker("Ana", ["en"])
    prompt = speaker.prompts()[0]
    graded_take(speaker, prompt, "red", 6.0)
    main(["--bank", str(bank.root), "speakers"])
    assert "\t0/" in capsys.readouterr().out
    graded_take(speaker, prompt, "green", 6.0)
    main(["--bank", str(bank.root), "speakers"])
    out = capsys.readouterr().out
    assert "\t1/" in out and "0.1 min usable" in out and "to redo" not in out
