"""`voicebank consent --file` on a disk that fills up: one plain line, nothing half-added."""
from __future__ import annotations

import pytest
import soundfile as sf

from core.bank.store import Bank
from core.trust import consent as ct
from tests.diskfull import run_cli_with_file_size_limit
from tests.testsignals import speech_like


def test_consent_file_on_a_full_disk(tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Ada", ["en"])
    wav = tmp_path / "statement.wav"
    sf.write(str(wav), speech_like(5.0), 48000, subtype="PCM_16")           # 480 kB
    done = run_cli_with_file_size_limit(["--bank", str(tmp_path / "bank"), "consent", "--speaker", "ada",
                                         "--file", str(wav)], 200_000)
    err = done.stderr.strip()
    assert done.returncode == 1 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("voicebank consent: The file has grown too large for this disk, so "
                          "statement.wav could not be added as the consent recording.")
    assert "Nothing was changed" in err and "disk space" in err
    assert ct.current_consent(speaker) is None
    folder = ct.consent_folder(speaker)
    assert not folder.exists() or not any(folder.iterdir())


def test_recording_the_statement_when_the_disk_fills(private_bank, monkeypatch):
    from core.diskspace import DiskFullError
    from tests.diskfull import full_disk

    speaker = Bank().create_speaker("Ada", ["en"])
    text = ct.statement("en", "Ada")
    writer = ct.ConsentWriter(speaker, text, "en", 48000)
    speech = speech_like(6.0)
    blocks = [speech[i:i + 1024] for i in range(0, len(speech), 1024)]
    for block in blocks[:190]:                          # ~4 s reach the disk
        writer.append(block)
    room = full_disk(monkeypatch, room=0)
    with pytest.raises(DiskFullError) as caught:
        writer.append(blocks[190])
    message = str(caught.value)
    assert message.startswith("The disk is full, so recording stopped. The statement was cut off, so "
                              "it was not kept: consent needs the whole statement.")
    assert "disk space" in message and message.endswith("Then record the statement again.")
    refused = room.refused
    for block in blocks[191:]:
        writer.append(block)                            # dropped: nothing queued or written
    assert room.refused == refused
    with pytest.raises(ct.ConsentError, match="cut off"):
        writer.finish()                                 # a part of the statement is not consent
    assert ct.current_consent(speaker) is None
    assert not list(ct.consent_folder(speaker).iterdir())
