import csv
import zipfile

import pytest
import soundfile as sf

from core.bank.export import backup_speaker, export_dataset
from core.bank.restore import restore_speaker
from core.bank.store import Bank, BankError
from tests.core.bank.test_store import record


@pytest.fixture
def speaker(private_bank):
    sp = Bank().create_speaker("Anna", ["en"])
    sp.add_message("I love you | always")
    session = sp.start_session("mic", -65.0, True)
    for prompt in sp.prompts()[:4]:
        record(sp, prompt, session=session)
    return sp


def test_ljspeech_layout(speaker, tmp_path):
    red = speaker.current_take(speaker.prompts()[3].id)
    red.quality = {"grade": "red", "problems": []}
    red.save()
    summary = export_dataset(speaker, tmp_path / "ds")
    assert summary.clips == 3 and summary.skipped_red == 1
    rows = list(csv.reader(open(tmp_path / "ds" / "metadata.csv", encoding="utf-8"), delimiter="|"))
    assert [r[0] for r in rows] == [p.id for p in speaker.prompts()[:3]]
    assert rows[0][1] == "I love you always"          # the column separator never leaks into text
    assert all(len(r) == 3 and r[1] == r[2] for r in rows)
    for row in rows:
        info = sf.info(str(tmp_path / "ds" / "wavs" / f"{row[0]}.wav"))
        assert info.samplerate == 48000 and info.subtype == "PCM_16"
    with_red = export_dataset(speaker, tmp_path / "ds2", include_red=True, sample_rate=22050)
    assert with_red.clips == 4
    assert sf.info(str(tmp_path / "ds2" / "wavs" / f"{red.prompt_id}.wav")).samplerate == 22050


def test_export_refuses_a_non_empty_folder(speaker, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "precious.txt").write_text("keep me")
    with pytest.raises(BankError, match="not empty"):
        export_dataset(speaker, tmp_path / "full")
    assert (tmp_path / "full" / "precious.txt").read_text() == "keep me"


def test_backup_restore_round_trip(speaker, tmp_path, private_bank):
    zip_path = backup_speaker(speaker, tmp_path / "anna.zip")
    before = {p.relative_to(speaker.folder): p.read_bytes() for p in speaker.folder.rglob("*") if p.is_file()}
    other = Bank(tmp_path / "other-bank")
    restored = restore_speaker(other, zip_path)
    after = {p.relative_to(restored.folder): p.read_bytes() for p in restored.folder.rglob("*") if p.is_file()}
    assert before == after
    assert restored.progress().prompts_done == 4
    # restoring over an existing speaker needs --replace, and keeps the old folder aside
    with pytest.raises(BankError, match="already has"):
        restore_speaker(Bank(), zip_path)
    restore_speaker(Bank(), zip_path, replace=True)
    assert list((private_bank / ".replaced").iterdir())
    assert [s.id for s in Bank().speakers()] == ["anna"]


def test_restore_refuses_foreign_and_malicious_zips(tmp_path, private_bank):
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    with pytest.raises(BankError, match="not a readable zip"):
        restore_speaker(Bank(), not_zip)
    foreign = tmp_path / "photos.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("holiday/img1.jpg", b"\xff\xd8")
    with pytest.raises(BankError, match="not a voicebank backup"):
        restore_speaker(Bank(), foreign)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("anna/speaker.json", "{}")
        zf.writestr("anna/../../escape.txt", "x")
    with pytest.raises(BankError, match="unsafe path"):
        restore_speaker(Bank(), evil)
    assert not (tmp_path / "escape.txt").exists()
    assert Bank().speakers() == []
