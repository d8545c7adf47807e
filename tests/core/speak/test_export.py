"""Exporting what was said: WAV, FLAC and OGG, joined in order; clear errors, no half files."""
from __future__ import annotations

import pytest
import soundfile as sf

from core.speak.export import ExportError, export_audio, suggested_name, with_default_suffix
from tests.diskfull import full_disk


@pytest.mark.parametrize("name, fmt", [("said.wav", "WAV"), ("said.FLAC", "FLAC"), ("said.ogg", "OGG")])
def test_formats_are_readable(tmp_path, make_wav, name, fmt):
    one = make_wav(tmp_path / "a.wav", seconds=0.5)
    two = make_wav(tmp_path / "b.wav", seconds=0.25, rate=16000)        # resampled to 32 kHz
    out = export_audio([one, two], tmp_path / name, gap_s=0.25)
    info = sf.info(str(out))
    assert info.format == fmt and info.samplerate == 32000
    assert info.duration == pytest.approx(1.0, abs=0.02)
    assert not list(tmp_path.glob(".*.part"))


def test_bad_name_missing_folder_and_nothing_said(tmp_path, make_wav):
    wav = make_wav(tmp_path / "a.wav")
    with pytest.raises(ExportError, match=r"\.wav, \.flac or \.ogg"):
        export_audio([wav], tmp_path / "said.mp3")
    with pytest.raises(ExportError, match="does not exist. Choose another folder"):
        export_audio([wav], tmp_path / "nope" / "said.wav")
    with pytest.raises(ExportError, match="Speak first"):
        export_audio([], tmp_path / "said.wav")
    (tmp_path / "broken.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(ExportError, match="could not be read"):
        export_audio([tmp_path / "broken.wav"], tmp_path / "said.wav")


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path, make_wav, monkeypatch, suffix):
    wav = make_wav(tmp_path / "a.wav")
    full_disk(monkeypatch, room=1000)          # the disk fills up part-way through the file
    with pytest.raises(ExportError, match="The disk is full") as caught:
        export_audio([wav], tmp_path / f"said{suffix}")
    assert "disk space" in str(caught.value) and "was not saved" in str(caught.value)
    assert not (tmp_path / f"said{suffix}").exists() and not list(tmp_path.glob(".*.part"))


def test_suggested_name_and_default_suffix(tmp_path):
    assert suggested_name("   ").endswith(".wav") and suggested_name("   ") == "speech.wav"
    name = suggested_name("Hello world, " * 10)
    assert name.endswith(".wav") and "/" not in name and len(name) <= 45
    assert suggested_name("a/b\\c:d?") == "a-b-c-d.wav"
    assert suggested_name("你好，今天天气很好。") == "你好-今天天气很好.wav"   # not "speaker.wav"
    assert with_default_suffix(tmp_path / "said") == tmp_path / "said.wav"
    assert with_default_suffix(tmp_path / "said.ogg") == tmp_path / "said.ogg"
