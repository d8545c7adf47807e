"""Reading files a person may hand the app: names that are not UTF-8, folders, files they may
not read, files that are cut off or hold NaN. Every bad file is made here, at test time."""
from __future__ import annotations

import os
import struct

import numpy as np
import pytest
import soundfile as sf

from core.audio import io as audio_io
from core.audio.io import AudioFileError, read_audio, write_wav
from tests.testsignals import speech_like

RATE = 48000


def cut(path, keep_bytes: int) -> None:
    """Truncate a file, as a copy interrupted halfway would."""
    with open(path, "r+b") as fh:
        fh.truncate(keep_bytes)


def test_a_wav_whose_name_is_not_utf8_reads(tmp_path):
    path = tmp_path / os.fsdecode(b"take-\xff.wav")         # bytes a Windows or old Linux box may write
    sf.write(os.fsencode(path), speech_like(1.0), RATE)
    clip = read_audio(path)
    assert clip.sample_rate == RATE and abs(clip.duration - 1.0) < 1e-3
    assert not clip.cut_off and clip.nonfinite == 0
    assert audio_io.display_name(path) == "take-\ufffd.wav"        # printable in any message


def test_write_wav_into_a_folder_whose_name_is_not_utf8(tmp_path):
    folder = tmp_path / os.fsdecode(b"bank-\xe9")               # Latin-1 "é", not UTF-8
    out = write_wav(folder / "a.wav", speech_like(0.5), RATE)
    assert read_audio(out).duration == pytest.approx(0.5, abs=1e-3)


def test_a_folder_is_called_a_folder_and_a_missing_file_missing(tmp_path):
    (tmp_path / "takes").mkdir()
    with pytest.raises(AudioFileError, match=r"takes is a folder, not an audio file\. Choose one"):
        read_audio(tmp_path / "takes")
    with pytest.raises(AudioFileError, match="does not exist"):
        read_audio(tmp_path / "nothing.wav")


def test_no_permission_is_said_in_plain_words(tmp_path, monkeypatch):
    path = tmp_path / "locked.wav"
    sf.write(path, speech_like(1.0), RATE)

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    # root reads any file whatever its mode, so the refusal is simulated where the app opens it
    monkeypatch.setattr(audio_io, "open", refused, raising=False)
    with pytest.raises(AudioFileError) as caught:
        read_audio(path)
    message = str(caught.value)
    assert message.startswith("You do not have permission to read locked.wav.")
    assert "System error" not in message and "not an audio file" not in message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can read a file with mode 000")
def test_no_permission_on_a_real_file(tmp_path):
    path = tmp_path / "locked.wav"
    sf.write(path, speech_like(1.0), RATE)
    path.chmod(0)
    try:
        with pytest.raises(AudioFileError, match="You do not have permission to read locked.wav"):
            read_audio(path)
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_a_cut_off_wav_is_read_as_far_as_it_goes_and_says_so(tmp_path, subtype):
    path = tmp_path / "take.wav"
    sf.write(path, speech_like(12.0), RATE, subtype=subtype)
    width = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}[subtype]
    cut(path, 44 + 4 * RATE * width)                         # 4 s of the 12 s left
    clip = read_audio(path)
    assert clip.cut_off and clip.duration == pytest.approx(4.0, abs=0.01)
    assert clip.cut_off_message() == "take.wav is cut off: it should last 12 s but only 4 s are in the file."
    with pytest.raises(AudioFileError, match=r"take\.wav is cut off: it should last 12 s but only 4 s"):
        read_audio(path, whole=True)


def test_a_short_cut_off_wav_shows_tenths(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, speech_like(1.0), RATE)
    cut(path, 44 + RATE)                                     # half of the 1 s
    assert read_audio(path).cut_off_message() == \
        "short.wav is cut off: it should last 1.0 s but only 0.5 s are in the file."


def test_a_whole_wav_and_a_streaming_header_are_not_cut_off(tmp_path):
    path = tmp_path / "whole.wav"
    sf.write(path, speech_like(2.0), RATE)
    assert not read_audio(path).cut_off
    # a writer that could not seek back leaves 0xFFFFFFFF as the data size: "unknown", not cut off
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at:at + 4] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    assert not read_audio(path).cut_off


def test_a_cut_off_flac_keeps_what_decodes(tmp_path):
    path = tmp_path / "take.flac"
    sf.write(path, speech_like(12.0), RATE)
    cut(path, path.stat().st_size // 2)
    clip = read_audio(path)
    assert clip.cut_off and 1.0 < clip.duration < 11.0
    assert clip.cut_off_message().startswith("take.flac is cut off: it should last 12 s but only ")


def test_nan_and_inf_are_counted_and_read_as_silence(tmp_path):
    path = tmp_path / "float.wav"
    samples = speech_like(1.0)
    samples[100:110] = np.nan
    samples[200] = np.inf
    sf.write(path, samples, RATE, subtype="FLOAT")
    clip = read_audio(path)
    assert clip.nonfinite == 11 and np.all(np.isfinite(clip.samples))
    assert clip.damaged_message() == ("float.wav has 11 damaged sample(s) that are not numbers "
                                      "(NaN or infinity).")
