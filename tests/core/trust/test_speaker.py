"""Speaker embeddings: the front end's facts, the encoder's structure and weights file, and that
two different synthetic speakers come out different while one speaker's recordings agree."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.trust import speaker as sp

from .voices import voice

pytestmark = pytest.mark.consent


def test_mel_filterbank_is_slaney_40_bands_to_8_khz():
    bank = sp.mel_filterbank()
    assert bank.shape == (40, 201)                       # 25 ms window at 16 kHz: 400-point FFT
    hz = np.linspace(0, 8000, 201)
    centres = hz[bank.argmax(axis=1)]
    assert np.all(np.diff(centres) >= 0) and (bank.sum(axis=1) > 0).all()
    # below 1 kHz the Slaney scale is linear: equal spacing; above it, widening
    low = np.diff(centres[centres < 900])
    assert low.max() - low.min() <= 40.0                 # one FFT bin of rounding
    assert np.diff(centres)[-1] > 3 * low.mean()
    assert bank[-1, -1] == 0 and bank[:, -3:].sum() > 0  # the top band ends at Nyquist


def test_mel_frames_every_10_ms_and_power_not_log():
    x = 0.1 * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000).astype(np.float32)
    mels = sp.mel_frames(x)
    assert mels.shape == (101, 40)                       # centred frames: 1 + 16000 // 160
    assert (mels >= 0).all()
    assert np.allclose(sp.mel_frames(2 * x), 4 * mels, rtol=1e-4)   # power: doubling the wave x4
    assert int(mels[50].argmax()) == int(sp.mel_filterbank()[:, 25].argmax())  # FFT bin 25 = 1 kHz


def test_partials_are_1_6_s_at_1_3_per_second():
    three = sp.partial_slices(3 * 16000)
    assert [(s.start, s.stop) for s in three] == [(0, 160), (77, 237), (154, 314)]
    assert len(sp.partial_slices(8000)) == 1             # a short clip still gives one partial
    # the last partial is dropped when less than 75 % of it would be audio
    n = (77 * 3 + 160 * 3 // 4) * 160 - 160
    assert sp.partial_slices(n)[-1].start == 154


def test_prepare_raises_quiet_audio_and_shortens_long_silences():
    speech = voice("low", 3.0, seed=1) * 0.05           # quiet: about -50 dBFS
    silence = np.zeros(48000 * 2, np.float32)
    out = sp.prepare(np.concatenate([speech, silence, speech]), 48000)
    # two clips of 2.2 s of voice (0.4 s of silence at each end) around a 2 s gap: 8 s in all
    assert len(out) < (8.0 - 2.0) * 16000                 # the long silences are shortened
    assert len(out) > 2 * 2.0 * 16000                     # the voice is kept
    loud = sp.prepare(voice("low", 3.0, seed=1), 48000)
    rms = float(np.sqrt(np.mean(loud.astype(np.float64) ** 2)))
    assert rms > 10 ** (-30 / 20) * 0.9                   # never lowered below the -30 dBFS target


def test_random_encoder_structure_and_weights_file_round_trip(tmp_path):
    torch.manual_seed(0)
    enc = sp.SpeakerEncoder().eval()
    assert enc.lstm.num_layers == 3 and enc.lstm.hidden_size == 256 and enc.linear.out_features == 256
    x = voice("low", 3.0, seed=2)
    e = sp.embed_audio(x, 48000, enc)
    assert e.shape == (256,) and (e >= 0).all() and abs(np.linalg.norm(e) - 1) < 1e-5
    # laid out as resemblyzer's pretrained.pt: {"step", "model_state" (+ GE2E's scale), "optimizer_state"}
    state = dict(enc.state_dict(), similarity_weight=torch.tensor([10.0]), similarity_bias=torch.tensor([-5.0]))
    path = tmp_path / "pretrained.pt"
    torch.save({"step": 1, "model_state": state, "optimizer_state": {}}, path)
    loaded = sp.load_encoder(path)
    assert loaded.source == str(path)
    assert np.allclose(sp.embed_audio(x, 48000, loaded), e, atol=1e-6)
    assert sp.embed_file(_wav(tmp_path / "x.wav", x), loaded).shape == (256,)


def _wav(path, x):
    import soundfile as sf

    sf.write(path, x, 48000, subtype="PCM_16")
    return path


class Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_weights_file_cannot_run_code_and_bad_files_say_what_to_install(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"model_state": Evil()}, evil)        # loading it the unsafe way would call print
    with pytest.raises(sp.EncoderMissing, match="cannot be read.*pip install --no-deps resemblyzer"):
        sp.load_encoder(evil)
    other = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(2)}, other)
    with pytest.raises(sp.EncoderMissing, match="not a speaker-encoder weights file"):
        sp.load_encoder(other)


def test_no_weights_installed_says_exactly_what_to_install(monkeypatch):
    monkeypatch.setattr(sp, "find_weights", lambda: None)
    with pytest.raises(sp.EncoderMissing) as info:
        sp.load_encoder()
    text = str(info.value)
    assert "pip install --no-deps resemblyzer==0.1.4" in text and "speaker-encoder" in text


def test_weights_are_found_by_env_then_package_then_models_folder(tmp_path, monkeypatch, encoder_path):
    assert sp.find_weights() == encoder_path             # $VOICEBANK_SPEAKER_ENCODER
    monkeypatch.delenv(sp.WEIGHTS_ENV)
    monkeypatch.setattr(sp.importlib.util, "find_spec", lambda name: None)
    assert sp.find_weights() is None
    stored = sp.default_weights_folder() / "pretrained.pt"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(encoder_path.read_bytes())
    assert sp.find_weights() == stored


def test_two_synthetic_speakers_differ_and_one_speaker_agrees(encoder):
    low = [sp.embed_audio(voice("low", 4.0, seed=s), 48000, encoder) for s in range(4)]
    high = [sp.embed_audio(voice("high", 4.0, seed=s), 48000, encoder) for s in range(4)]
    same = sp.cosine(sp.embed_audio(voice("low", 10.0, seed=50), 48000, encoder), sp.mean_embedding(low))
    other = sp.cosine(sp.embed_audio(voice("high", 10.0, seed=50), 48000, encoder), sp.mean_embedding(low))
    from core.trust.consent import THRESHOLD

    assert same > THRESHOLD > other
    assert min(sp.cosine(a, b) for a in low for b in low) > max(sp.cosine(a, b) for a in low for b in high)
