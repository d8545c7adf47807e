import numpy as np
import pytest
import soundfile as sf

from core.audio.io import AudioFileError, read_audio, resample, to_int16, write_wav
from tests.audiofiles import make_bad_inputs, make_two_hour_file, tone


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return make_bad_inputs(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name,rate", [("stereo.wav", 48000), ("rate8k.wav", 8000), ("rate96k.wav", 96000),
                                       ("float.wav", 48000), ("pcm24.wav", 48000), ("take.flac", 48000),
                                       ("take.ogg", 48000), ("silent.wav", 48000)])
def test_readable_formats_become_float_mono(bad, name, rate):
    clip = read_audio(bad[name])
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.sample_rate == rate
    assert abs(clip.duration - 1.0) < 0.01
    if name == "stereo.wav":
        assert clip.channels == 2
        # the mix-down is the mean of both channels
        expected = (tone() + tone(freq=330)) / 2
        assert np.max(np.abs(clip.samples - expected)) < 1e-3
    elif name != "silent.wav":
        assert 0.25 < np.max(np.abs(clip.samples)) < 0.35


@pytest.mark.parametrize("name,words", [("empty.wav", "empty"), ("notes.wav", "not an audio file"),
                                        ("corrupt.wav", "not an audio file"), ("header-only.wav", "no audio")])
def test_unreadable_files_get_a_clear_message(bad, name, words):
    with pytest.raises(AudioFileError) as err:
        read_audio(bad[name])
    assert words in str(err.value)
    assert "Traceback" not in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AudioFileError, match="does not exist"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioFileError, match="folder"):
        read_audio(tmp_path)


def test_two_hour_file_is_refused_before_reading(tmp_path):
    path = make_two_hour_file(tmp_path / "long.flac")
    with pytest.raises(AudioFileError) as err:
        read_audio(path)
    assert "2 h 00 min" in str(err.value) and "Cut it" in str(err.value)
    assert read_audio(path, max_seconds=None).duration == pytest.approx(7200, abs=0.01)


def test_nan_in_float_wav_is_neutralised(tmp_path):
    data = tone()
    data[100:200] = np.nan
    sf.write(str(tmp_path / "nan.wav"), data, 48000, subtype="FLOAT")
    clip = read_audio(tmp_path / "nan.wav")
    assert np.all(np.isfinite(clip.samples))


def test_resample_keeps_a_tone_and_length():
    x = tone(rate=44100, freq=1000)
    y = resample(x, 44100, 48000)
    assert len(y) == 48000
    spectrum = np.abs(np.fft.rfft(y[4800:-4800]))
    peak_hz = np.argmax(spectrum) * 48000 / len(y[4800:-4800])
    assert abs(peak_hz - 1000) < 3


def test_write_wav_is_atomic_and_pcm16(tmp_path):
    path = write_wav(tmp_path / "a" / "x.wav", tone(), 48000)
    info = sf.info(str(path))
    assert info.subtype == "PCM_16" and info.samplerate == 48000
    assert not list(path.parent.glob("*.part"))
    assert to_int16(np.array([2.0, -2.0, 0.5]))[0] == 32767
