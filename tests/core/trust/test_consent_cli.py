"""`voicebank consent`: the statement shown, a recording added from a file, bad input explained."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.cli import main
from core.trust.consent import current_consent

from .voices import voice

pytestmark = pytest.mark.consent


@pytest.fixture
def speaker(bank):
    return bank.create_speaker("Anna Li", ["en"])


def run(bank, *args) -> int:
    return main(["--bank", str(bank.root), "consent", *args])


def test_without_a_recording_it_shows_the_statement_and_how_to_record(bank, speaker, capsys):
    assert run(bank, "--speaker", speaker.id) == 0
    out = capsys.readouterr().out
    assert "no consent recording yet" in out and "My name is Anna Li." in out and "--record" in out
    assert current_consent(speaker) is None


def test_a_file_becomes_the_consent_and_the_donor_is_named(bank, speaker, tmp_path, capsys):
    wav = tmp_path / "statement.wav"
    sf.write(wav, voice("low", 8.0, seed=3), 48000)
    assert run(bank, "--speaker", speaker.id, "--file", str(wav), "--donor", "Tom Li") == 0
    assert "Consent kept" in capsys.readouterr().out
    record = current_consent(speaker)
    assert record is not None and record.role == "donor" and record.name == "Tom Li"
    assert "giving my voice to Anna Li" in record.text
    assert run(bank, "--speaker", speaker.id) == 0
    assert "by Tom Li (donor)" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [(b"not audio at all", "voicebank consent:"),
                                              (None, "only 1.0 s long")])
def test_bad_or_short_files_are_explained_and_nothing_is_kept(bank, speaker, tmp_path, capsys,
                                                               content, message):
    wav = tmp_path / "statement.wav"
    if content is None:
        sf.write(wav, np.zeros(48000, np.float32) + 0.01, 48000)
    else:
        wav.write_bytes(content)
    assert run(bank, "--speaker", speaker.id, "--file", str(wav)) == 1
    assert message in capsys.readouterr().err
    assert current_consent(speaker) is None


def test_an_unknown_speaker_is_one_clear_line(bank, capsys):
    assert run(bank, "--speaker", "nobody") == 1
    assert "voicebank consent:" in capsys.readouterr().err
