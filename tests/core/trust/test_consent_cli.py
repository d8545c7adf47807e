"""`voicebank consent`: the statement shown, a recording added from a file, bad input explained."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voicebank.cli import main
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


def _square(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 48000)) / 48000
    return (0.5 * np.sign(np.sin(2 * np.pi * 220 * t))).astype(np.float32)


@pytest.mark.parametrize("kind", ["silence", "square wave"])
def test_a_file_without_speech_is_refused_at_once(bank, speaker, tmp_path, capsys, kind):
    wav = tmp_path / "statement.wav"
    sf.write(wav, np.zeros(8 * 48000, np.float32) if kind == "silence" else _square(8.0), 48000)
    assert run(bank, "--speaker", speaker.id, "--file", str(wav)) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicebank consent: no speech was heard in statement.wav, so it was not kept.")
    assert "read aloud by Anna Li" in err and "--record" in err
    assert current_consent(speaker) is None and not (speaker.folder / "consent").exists()


def test_a_file_with_nan_is_refused_with_its_own_message(bank, speaker, tmp_path, capsys):
    samples = voice("low", 8.0, seed=3)
    samples[5:9] = np.nan
    wav = tmp_path / "statement.wav"
    sf.write(wav, samples, 48000, subtype="FLOAT")
    assert run(bank, "--speaker", speaker.id, "--file", str(wav)) == 1
    err = capsys.readouterr().err
    assert "statement.wav: The recording is damaged: 4 of its samples are not numbers" in err
    assert current_consent(speaker) is None and not (speaker.folder / "consent").exists()


def test_a_cut_off_file_is_refused_and_says_how_long_it_should_be(bank, speaker, tmp_path, capsys):
    wav = tmp_path / "statement.wav"
    sf.write(wav, voice("low", 12.0, seed=3), 48000)
    with open(wav, "r+b") as fh:
        fh.truncate(44 + 4 * 48000 * 2)                     # 4 s of 12 s
    assert run(bank, "--speaker", speaker.id, "--file", str(wav)) == 1
    err = capsys.readouterr().err
    assert "statement.wav is cut off: it should last 12 s but only 4 s are in the file." in err
    assert "cannot count as consent; nothing was kept" in err
    assert current_consent(speaker) is None and not (speaker.folder / "consent").exists()


def test_a_file_whose_name_is_not_utf8_is_accepted(bank, speaker, tmp_path, capsys):
    import os

    wav = tmp_path / os.fsdecode(b"d\xe9claration.wav")
    sf.write(os.fsencode(wav), voice("low", 8.0, seed=3), 48000)
    assert run(bank, "--speaker", speaker.id, "--file", str(wav)) == 0
    assert "Consent kept" in capsys.readouterr().out
    assert current_consent(speaker) is not None


def test_a_donor_name_that_is_not_utf8_creates_nothing(bank, speaker, tmp_path, capsys):
    wav = tmp_path / "statement.wav"
    sf.write(wav, voice("low", 8.0, seed=3), 48000)
    assert run(bank, "--speaker", speaker.id, "--file", str(wav), "--donor", "Tom\udcff") == 2
    err = capsys.readouterr().err
    assert err.startswith("voicebank consent: the --donor value “Tom\ufffd” has a character that is not UTF-8")
    assert current_consent(speaker) is None and not (speaker.folder / "consent").exists()
