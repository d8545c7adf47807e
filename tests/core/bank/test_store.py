import json

import numpy as np
import pytest
import soundfile as sf

from core.bank.prompts import load_script
from core.bank.store import Bank, BankError, Session


@pytest.fixture
def speaker(private_bank):
    return Bank().create_speaker("Lǐ Míng", ["zh", "en"])


def record(speaker, prompt, seconds=0.5, rate=48000, session=None):
    session = session or speaker.start_session("fake mic", -62.0, True)
    writer = speaker.begin_take(prompt, session, rate)
    t = np.arange(int(seconds * rate)) / rate
    audio = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    for start in range(0, len(audio), 1024):
        writer.append(audio[start:start + 1024])
    return writer.finish()


def test_speaker_folder_is_plain_files(speaker, private_bank):
    assert speaker.folder == private_bank / speaker.id
    assert speaker.id == "li-ming"
    info = json.loads((speaker.folder / "speaker.json").read_text(encoding="utf-8"))
    assert info["name"] == "Lǐ Míng" and info["languages"] == ["zh", "en"]
    assert Bank().speaker("li-ming").name == "Lǐ Míng"
    # a second speaker with the same name gets its own folder
    assert Bank().create_speaker("Li Ming", ["en"]).id == "li-ming-2"


def test_bad_speaker_input(private_bank):
    with pytest.raises(BankError, match="name"):
        Bank().create_speaker("   ", ["zh"])
    with pytest.raises(BankError, match="languages"):
        Bank().create_speaker("A", ["fr"])
    with pytest.raises(BankError, match="No speaker called"):
        Bank().speaker("ghost")


def test_prompts_messages_first_then_scripts(speaker):
    msg = speaker.add_message("  I love you,   Anna ")
    assert msg.id == "msg-0001" and msg.text == "I love you, Anna" and msg.is_message
    prompts = speaker.prompts()
    assert prompts[0] == msg
    assert len(prompts) == 1 + len(load_script("zh")) + len(load_script("en"))
    with pytest.raises(BankError, match="empty"):
        speaker.add_message("   ")
    with pytest.raises(BankError, match="characters long"):
        speaker.add_message("x" * 1000)


def test_take_is_48k_pcm16_with_metadata(speaker):
    prompt = speaker.prompts()[0]
    take = record(speaker, prompt)
    info = sf.info(str(take.raw_path))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "PCM_16")
    assert take.duration_s == pytest.approx(0.5, abs=0.03)
    meta = json.loads(take.meta_path.read_text())
    assert meta["prompt_id"] == prompt.id and meta["text"] == prompt.text
    assert not list(take.folder.glob("*.part"))


def test_device_at_44k1_is_converted_to_48k(speaker):
    take = record(speaker, speaker.prompts()[0], rate=44100)
    assert sf.info(str(take.raw_path)).samplerate == 48000
    assert take.capture_rate == 44100
    assert take.duration_s == pytest.approx(0.5, abs=0.03)


def test_rerecord_keeps_every_take_and_uses_the_newest(speaker):
    prompt = speaker.prompts()[1]
    first = record(speaker, prompt)
    second = record(speaker, prompt)
    assert [t.id for t in speaker.takes(prompt.id)] == [first.id, second.id]
    assert speaker.current_take(prompt.id).id == second.id
    assert first.raw_path.exists()


def test_aborted_and_empty_takes_leave_nothing(speaker):
    prompt = speaker.prompts()[0]
    session = speaker.start_session()
    writer = speaker.begin_take(prompt, session)
    writer.append(np.zeros(1024, np.int16))
    writer.abort()
    assert speaker.begin_take(prompt, session).finish() is None
    assert speaker.takes(prompt.id) == []
    assert speaker.leftover_parts() == []


def test_progress_and_resume_point(speaker):
    prompts = speaker.prompts()
    assert speaker.first_unrecorded_index() == 0
    session = speaker.start_session()
    for p in prompts[:3]:
        record(speaker, p, session=session)
    progress = speaker.progress()
    assert progress.prompts_done == 3 and progress.prompts_total == len(prompts)
    assert progress.minutes_recorded == pytest.approx(1.5 / 60, abs=0.01)
    assert speaker.first_unrecorded_index() == 3
    # a gap earlier in the list is where the next session resumes
    for t in speaker.takes(prompts[1].id):
        t.raw_path.unlink()
        t.meta_path.unlink()
    assert speaker.first_unrecorded_index() == 1


def test_wav_without_json_is_recovered(speaker):
    take = record(speaker, speaker.prompts()[0])
    take.meta_path.unlink()          # as if power failed between the two renames
    recovered = speaker.current_take(take.prompt_id)
    assert recovered.id == take.id and recovered.recovered
    assert recovered.text == take.text and recovered.duration_s == pytest.approx(0.5, abs=0.03)


def test_damaged_json_does_not_hide_the_take(speaker):
    take = record(speaker, speaker.prompts()[0])
    take.meta_path.write_text("{ half a json")
    assert speaker.current_take(take.prompt_id).recovered


def test_sessions_round_trip(speaker):
    s = speaker.start_session("USB mic", -63.5, True)
    assert speaker.session(s.id) == s
    assert speaker.sessions() == [s]
    assert isinstance(s, Session)


def test_missing_script_is_a_bank_error(speaker, monkeypatch):
    import core.bank.store as store

    def gone(language):
        raise FileNotFoundError(f"resources/scripts/{language}.txt")

    monkeypatch.setattr(store, "load_script", gone)
    with pytest.raises(BankError, match="Reinstall voicebank"):
        speaker.prompts()
