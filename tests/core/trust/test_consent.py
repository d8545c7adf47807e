"""Consent: the statements, their recordings in the bank, and the check that stops a build when
the recordings are not the voice of the person who consented (two different synthetic speakers)."""
from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import soundfile as sf

from core.trust import consent as ct
from core.trust.likeness import sounds_like_you

from .conftest import add_takes, give_consent
from .voices import voice

pytestmark = pytest.mark.consent
DAY = date(2026, 11, 24)


def test_statements_name_the_speaker_the_date_and_what_the_voice_is_for():
    en = ct.statement("en", "Anna Li", DAY)
    assert "My name is Anna Li. Today is 24 November 2026." in en
    assert "stay on this computer" in en and "delete" in en and "speak" in en
    zh = ct.statement("zh", "李安娜", DAY)
    assert zh.startswith("我叫李安娜。今天是2026年11月24日。")
    assert "只保存在这台电脑上" in zh and "删除" in zh
    donor = ct.statement("en", "Tom Li", DAY, role="donor", patient="Anna Li")
    assert donor.startswith("My name is Tom Li.") and "giving my voice to Anna Li" in donor
    zh_donor = ct.statement("zh", "李汤姆", DAY, role="donor", patient="李安娜")
    assert "我把我的声音捐给李安娜" in zh_donor
    with pytest.raises(ct.ConsentError, match="the person the voice is for"):
        ct.statement("en", "Tom", DAY, role="donor", patient=" ")


def test_consent_is_kept_in_the_bank_as_recorded(anna):
    assert ct.current_consent(anna) is None and ct.consent_blockers(anna) == [ct.NEED_CONSENT]
    audio = voice("low", 8.0, seed=3)
    record = ct.record_consent(anna, audio, 48000, day=DAY)
    assert record.wav_path == anna.folder / "consent" / f"{record.id}.wav"
    stored, rate = sf.read(record.wav_path, dtype="int16")
    assert rate == 48000 and np.array_equal(stored, np.round(audio * 32767).astype(np.int16))
    meta = json.loads(record.meta_path.read_text(encoding="utf-8"))
    assert meta["date"] == "2026-11-24" and meta["language"] == "zh" and meta["role"] == "self"
    assert meta["name"] == meta["patient"] == "Anna" and meta["text"].startswith("我叫Anna。")
    assert ct.consent_blockers(anna) == []
    # a second recording is added; the first stays on disk, the newest counts
    second = ct.record_consent(anna, audio, 48000, "en", day=DAY)
    assert record.wav_path.exists() and ct.current_consent(anna).id == second.id
    assert len(ct.consents(anna)) == 2


def test_a_too_short_or_abandoned_recording_leaves_nothing(anna):
    with pytest.raises(ct.ConsentError, match="only 1.0 s long"):
        ct.record_consent(anna, voice("low", 1.0, seed=1), 48000, day=DAY)
    writer = ct.ConsentWriter(anna, "text", "en", 48000)
    writer.append(np.zeros((4800, 1), np.int16))
    writer.abort()
    assert ct.current_consent(anna) is None
    assert not any((anna.folder / "consent").iterdir())


def test_same_speaker_passes_with_the_figure(anna):
    give_consent(anna, "low")
    check = ct.check_speaker(anna)
    assert check.ok and check.verdict == "same" and check.takes == 6
    assert check.similarity >= check.threshold == ct.THRESHOLD
    assert f"{check.percent} %" in check.message and "match" in check.message
    assert ct.current_consent(anna).embedding is not None      # kept with the consent


def test_mismatch_with_another_speaker_stops_with_what_to_do(anna):
    give_consent(anna, "high")                  # someone else read the consent statement
    check = ct.check_speaker(anna)
    assert not check.ok and check.verdict == "different"
    assert check.similarity < ct.THRESHOLD
    assert f"similarity {check.percent} %, 75 % needed" in check.message
    assert "voice donor" in check.message and "record the consent statement again" in check.message
    with pytest.raises(ct.ConsentError, match="do not sound like"):
        ct.require_consent(anna)


def test_proxy_donor_records_their_own_consent(bank):
    patient = bank.create_speaker("Anna", ["en"])
    add_takes(patient, "high")                  # her son Tom reads the prompts for her
    give_consent(patient, "low", role="donor", name="Tom")    # ... but the wrong person consents
    assert not ct.check_speaker(patient).ok
    record = give_consent(patient, "high", role="donor", name="Tom")
    assert record.role == "donor" and record.name == "Tom" and record.patient == "Anna"
    assert "giving my voice to Anna" in record.text
    check = ct.check_speaker(patient)
    assert check.ok and check.role == "donor" and "Tom (voice donor)" in check.message


def test_without_the_weights_the_check_warns_and_says_what_to_install(anna, monkeypatch):
    from core.trust import speaker

    give_consent(anna, "high")
    monkeypatch.setattr(speaker, "find_weights", lambda: None)
    check = ct.check_speaker(anna)
    assert check.ok and check.verdict == "not checked" and check.similarity is None
    assert check.message.startswith("Warning:") and "pip install --no-deps resemblyzer" in check.message


def test_no_consent_blocks_the_build(anna, bank, base_files, tmp_path):
    from core.train.build import BuildError, build_voice, check_ready

    from tests.core.train.conftest import config

    cfg = config(anna, bank, base_files)
    assert check_ready(cfg) == [ct.NEED_CONSENT]
    with pytest.raises(BuildError, match="Record the consent statement first"):
        build_voice(cfg, tmp_path / "job")


def test_mismatch_stops_the_build_and_same_speaker_goes_on(anna, bank, base_files, tmp_path):
    from core.train.build import BuildCancelled, BuildError, build_voice, check_ready

    from tests.core.train.conftest import config

    give_consent(anna, "high")
    cfg = config(anna, bank, base_files)
    assert check_ready(cfg) == []               # a recording exists; whose voice is checked next
    with pytest.raises(BuildError, match=r"do not sound like .*similarity \d+ %, 75 % needed"):
        build_voice(cfg, tmp_path / "job")
    assert not (anna.folder / "voices").exists()

    give_consent(anna, "low")                   # Anna records it herself
    with pytest.raises(BuildCancelled):         # stopped at once after the check: no training here
        build_voice(cfg, tmp_path / "job", cancel=lambda: True)
    job = json.loads((tmp_path / "job" / "job.json").read_text(encoding="utf-8"))
    assert job["speaker_check"]["verdict"] == "same" and job["speaker_check"]["similarity"] >= ct.THRESHOLD


def test_zero_shot_voices_need_consent_too(anna):
    from core.train.build import BuildError, make_zero_shot_voice

    with pytest.raises(BuildError, match="consent statement first"):
        make_zero_shot_voice(anna)
    give_consent(anna, "high")
    with pytest.raises(BuildError, match="do not sound like"):
        make_zero_shot_voice(anna)
    give_consent(anna, "low")
    folder = make_zero_shot_voice(anna)
    card = json.loads((folder / "voice.json").read_text(encoding="utf-8"))
    assert card["speaker_check"]["verdict"] == "same" and card["speaker_check"]["takes"] == 1


def test_sounds_like_you_after_a_build(anna, tmp_path):
    mine = tmp_path / "like.wav"
    sf.write(mine, voice("low", 5.0, seed=77), 48000)
    other = tmp_path / "unlike.wav"
    sf.write(other, voice("high", 5.0, seed=77), 48000)
    like, unlike = sounds_like_you(anna, mine), sounds_like_you(anna, other)
    assert like.similarity > ct.THRESHOLD > unlike.similarity
    assert like.words in ("very like you", "like you") and unlike.words == "not much like you yet"
    assert like.sentence().startswith(f"Sounds {like.words}: {like.percent} %")
    assert like.mine and like.takes == 6


def test_worker_likeness_job_keeps_the_score_in_voice_json(anna, tmp_path):
    from core.worker import build_jobs, jobs

    voice_dir = anna.folder / "voices" / "v1"
    voice_dir.mkdir(parents=True)
    (voice_dir / "voice.json").write_text(json.dumps({"id": "v1", "name": "Mine"}), encoding="utf-8")
    sample = voice_dir / "sample.wav"
    sf.write(sample, voice("low", 5.0, seed=78), 48000)
    events = []
    ctx = jobs.JobContext("j1", tmp_path / "job", events.append)
    data = jobs.REGISTRY["likeness"]({"speaker_id": anna.id, "bank_root": str(anna.folder.parent),
                                      "voice_dir": str(voice_dir), "sample": str(sample)}, ctx)
    assert data["similarity"] > ct.THRESHOLD and data["percent"] > 75
    card = json.loads((voice_dir / "voice.json").read_text(encoding="utf-8"))
    assert card["name"] == "Mine" and card["likeness"] == data      # the card's fields untouched

    # the build job moves the build's consent check into the voice's card
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    (build_dir / "job.json").write_text(json.dumps({"speaker_check": {"verdict": "same", "similarity": 0.9}}))
    build_jobs._keep_speaker_check(build_dir, voice_dir)
    card = json.loads((voice_dir / "voice.json").read_text(encoding="utf-8"))
    assert card["speaker_check"]["similarity"] == 0.9 and card["likeness"] == data
