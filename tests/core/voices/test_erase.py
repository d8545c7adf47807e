"""The right to erase: a deleted voice or speaker leaves no file of theirs behind."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.bank.store import BankError
from core.voices.card import list_voices
from core.voices.erase import delete_speaker, delete_voice, speaker_files
from core.voices.package import VoicePackageError
from tests.core.voices.conftest import files_of, make_voice


def _speak_data(speaker, voice_ids: list[str]) -> None:
    """What the speak page leaves: cached phrases and a history with audio, per voice."""
    speak = Path(speaker.folder) / "speak"
    (speak / "phrase-cache").mkdir(parents=True)
    (speak / "phrase-cache" / "0123abcd.wav").write_bytes(b"RIFF cached")
    (speak / "history").mkdir()
    said = []
    for i, vid in enumerate(voice_ids):
        audio = speak / "history" / f"said-{i}.wav"
        audio.write_bytes(b"RIFF said")
        said.append({"id": f"h{i}", "text": "hello", "audio": str(audio), "voice": vid,
                     "own": False, "said_at": "2026-01-01T12:00:00"})
    (speak / "history.json").write_text(json.dumps({"said": said}))


def test_delete_voice_removes_it_and_what_was_made_with_it(speaker, tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    (tmp_path / "jobs" / "job-7").mkdir(parents=True)
    (tmp_path / "jobs" / "job-7" / "sentence-0.wav").write_bytes(b"RIFF")
    keep = make_voice(speaker, "v-keep")
    gone = make_voice(speaker, "v-gone")
    (gone.parent / ".v-gone.part").mkdir()
    (gone.parent / ".v-gone.part" / "gpt.ckpt").write_bytes(b"half")
    build = Path(speaker.folder) / "builds" / "current"
    build.mkdir(parents=True)
    (build / "job.json").write_text(json.dumps({"voice_id": "v-gone"}))
    (build / "gpt.state.pt").write_bytes(b"checkpoint")
    _speak_data(speaker, ["v-keep", "v-gone"])
    kept_files = files_of(keep)

    report = delete_voice(gone)

    assert not gone.exists() and not (gone.parent / ".v-gone.part").exists()
    assert not build.exists() and not any((tmp_path / "jobs").iterdir())
    assert not (Path(speaker.folder) / "speak" / "phrase-cache").exists()
    history = json.loads((Path(speaker.folder) / "speak" / "history.json").read_text())
    assert [s["voice"] for s in history["said"]] == ["v-keep"]
    assert sorted(p.name for p in (Path(speaker.folder) / "speak" / "history").iterdir()) == ["said-0.wav"]
    assert files_of(keep) == kept_files and [c.id for _, c in list_voices(speaker)] == ["v-keep"]
    assert (Path(speaker.folder) / "consent" / "consent.wav").exists()   # the speaker's own record
    assert gone in report.removed and report.files >= 8 and "v-gone" in report.describe()


def test_delete_voice_leaves_a_build_of_another_voice(speaker, tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    gone = make_voice(speaker, "v-gone")
    build = Path(speaker.folder) / "builds" / "current"
    build.mkdir(parents=True)
    (build / "job.json").write_text(json.dumps({"voice_id": "v-next"}))
    delete_voice(gone)
    assert (build / "job.json").exists()


@pytest.mark.parametrize("what", ["speaker", "takes", "not-there"])
def test_delete_voice_refuses_what_is_not_a_voice(what, speaker, tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    folder = {"speaker": Path(speaker.folder), "takes": Path(speaker.folder) / "takes",
              "not-there": Path(speaker.folder) / "voices" / "nope"}[what]
    folder.mkdir(parents=True, exist_ok=True)
    with pytest.raises(VoicePackageError, match="not a voice folder"):
        delete_voice(folder)
    assert (Path(speaker.folder) / "speaker.json").exists()


def test_delete_speaker_removes_every_file_of_theirs_and_nothing_else(bank, speaker, tmp_path,
                                                                      monkeypatch):
    jobs = tmp_path / "jobs"
    monkeypatch.setenv("VOICEBANK_JOBS", str(jobs))
    (jobs / "job-1").mkdir(parents=True)
    (jobs / "job-1" / "speech.wav").write_bytes(b"RIFF")
    make_voice(speaker, "v-1")
    _speak_data(speaker, ["v-1"])
    folder = Path(speaker.folder)
    for rel in ("takes/zh-0001/t1.wav", "takes/zh-0001/t1.clean.wav", "sessions/s1.json",
                "builds/current/gpt.state.pt", ".cache/train-features/t1.abc.pt", "pronunciations.json"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"data")
    # Copies kept aside by `restore --replace`, and an interrupted restore.
    replaced = bank.root / ".replaced"
    (replaced / "anna-2026-01-01T120000").mkdir(parents=True)
    (replaced / "anna-2026-01-01T120000" / "speaker.json").write_text("{}")
    (bank.root / ".restore-anna-ab12cd34").mkdir()
    # Another speaker whose name starts the same must be untouched.
    other = bank.create_speaker("Anna", ["en"])
    assert other.id == "anna-2"
    make_voice(other, "v-other", consent=False)
    (replaced / "anna-2-2026-01-01T120000").mkdir()
    (bank.root / ".restore-anna-2-ab12cd34").mkdir()
    other_files = files_of(Path(other.folder))

    planned = speaker_files(bank, "anna")
    report = delete_speaker(bank, "anna")

    assert report.removed == planned
    assert not folder.exists() and not (replaced / "anna-2026-01-01T120000").exists()
    assert not (bank.root / ".restore-anna-ab12cd34").exists()
    assert not any(jobs.iterdir())
    assert files_of(Path(other.folder)) == other_files
    assert (replaced / "anna-2-2026-01-01T120000").exists()
    assert (bank.root / ".restore-anna-2-ab12cd34").exists()
    assert [s.id for s in bank.speakers()] == ["anna-2"]
    assert report.files >= 16 and "not touched" in report.describe()


def test_delete_speaker_can_keep_the_shared_scratch(bank, speaker, tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    (tmp_path / "jobs" / "job-1").mkdir(parents=True)
    delete_speaker(bank, speaker.id, scratch=False)
    assert (tmp_path / "jobs" / "job-1").exists() and not Path(speaker.folder).exists()


def test_delete_unknown_speaker_is_a_clear_error(bank, speaker):
    with pytest.raises(BankError, match="No speaker called 'bob'"):
        delete_speaker(bank, "bob")
    assert Path(speaker.folder).exists()
