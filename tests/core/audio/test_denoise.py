"""RNNoise cleanup through the ctypes shim: real library, synthetic speech with a known clean source."""
from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate

from core.audio import denoise as dn
from tests import testsignals as ts

SR = 48000


def _lag(y: np.ndarray, x: np.ndarray) -> int:
    c = correlate(y.astype(np.float64), x.astype(np.float64), mode="full", method="fft")
    return int(np.argmax(c)) - (len(x) - 1)


def _hagerman_snr(clean: np.ndarray, noise: np.ndarray, **kw) -> float:
    """Output SNR of the denoiser, split by the Hagerman-Olofsson phase-inversion method.

    Process s+n and s-n: RNNoise sees the same band energies and applies ~the same gains, so
    (y1+y2)/2 is the processed speech and (y1-y2)/2 the processed noise. SNR uses the same
    active-speech definition as the input's true SNR (testsignals).
    """
    y1 = dn.denoise(clean + noise, SR, **kw).cleaned.astype(np.float64)
    y2 = dn.denoise(clean - noise, SR, **kw).cleaned.astype(np.float64)
    s, n = (y1 + y2) / 2, (y1 - y2) / 2
    m = ts.active_mask(clean, SR)
    return 10 * math.log10(np.mean(s[m] ** 2) / np.mean(n ** 2))


def _band_change_db(clean: np.ndarray, out: np.ndarray, lo: float, hi: float) -> float:
    """Level change (dB) of `out` vs `clean` in [lo, hi) Hz, over the clean signal's active frames."""
    nfft, hop = 960, 480
    idx = np.arange(0, len(clean) - nfft, hop)
    w = np.hanning(nfft)
    c = np.abs(np.fft.rfft(clean[idx[:, None] + np.arange(nfft)] * w, axis=1)) ** 2
    o = np.abs(np.fft.rfft(out[idx[:, None] + np.arange(nfft)] * w, axis=1)) ** 2
    f = np.fft.rfftfreq(nfft, 1 / SR)
    act = c.sum(1) > c.sum(1).max() * 1e-4
    band = (f >= lo) & (f < hi)
    return float(10 * np.log10(o[act][:, band].sum() / c[act][:, band].sum()))


# --------------------------------------------------------------------------- shape, rate, edge cases

@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000, 96000])
def test_same_length_rate_and_alignment_at_any_rate(sr: int) -> None:
    s = ts.speech_like(2.5, sample_rate=sr, seed=1)
    x = ts.mix_at_snr(s, ts.noise("white", 2.5, sr, seed=3), 15, sr)
    r = dn.denoise(x, sr)
    assert r.sample_rate == sr
    assert r.cleaned.dtype == np.float32 and r.cleaned.shape == x.shape
    assert r.vad_prob.dtype == np.float32 and len(r.vad_prob) == math.ceil(len(x) * 100 / sr)
    assert np.all(np.abs(r.cleaned) <= 1.0)
    assert abs(_lag(r.cleaned, x)) <= 2 * max(1, sr // SR)      # delay compensated
    assert abs(_lag(r.cleaned, s)) <= 2 * max(1, sr // SR)
    assert ts.dbfs(r.cleaned[: int(0.3 * sr)]) < ts.dbfs(x[: int(0.3 * sr)]) - 15   # lead-in noise removed


@pytest.mark.parametrize("n", [0, 1, 100, 479, 480, 481, 961])
def test_tiny_inputs(n: int) -> None:
    x = ts.noise("white", n / SR, seed=2, level_dbfs=-30.0) if n else np.zeros(0, np.float32)
    r = dn.denoise(x, SR)
    assert len(r.cleaned) == n and len(r.vad_prob) == math.ceil(n / 480)
    assert np.all(np.isfinite(r.cleaned))
    assert len(dn.voice_probability(x, SR)) == math.ceil(n / 480)
    r16 = dn.denoise(x[: n // 3], 16000)
    assert len(r16.cleaned) == n // 3 and len(r16.vad_prob) == math.ceil((n // 3) / 160)


def test_out_of_range_and_nan_input_is_clipped_not_crashing() -> None:
    x = ts.speech_like(1.0, seed=1) * 6.0          # float values up to +-3
    x[100] = np.nan
    r = dn.denoise(x, SR)
    assert np.all(np.isfinite(r.cleaned)) and np.max(np.abs(r.cleaned)) <= 1.0
    assert len(r.cleaned) == len(x)


def test_raw_delay_constant_matches_the_library() -> None:
    x = ts.mix_at_snr(ts.speech_like(2.0, seed=5), ts.noise("white", 2.0, seed=6), 20)
    with dn.RNNoise() as rn:
        y, vad = rn.process(x)
    assert len(y) == len(x) and len(vad) == math.ceil(len(x) / 480)
    assert abs(_lag(y, x) - dn.RNNoise.DELAY) <= 2


def test_streaming_in_chunks_equals_one_call() -> None:
    x = ts.mix_at_snr(ts.speech_like(1.5, seed=5), ts.noise("pink", 1.5, seed=6), 15)
    x = x[: len(x) // 480 * 480]
    with dn.RNNoise() as a:
        whole, vad_whole = a.process(x)
    with dn.RNNoise() as b:
        parts = [b.process(x[i:i + 4800]) for i in range(0, len(x), 4800)]
    assert np.array_equal(np.concatenate([p[0] for p in parts]), whole)
    assert np.array_equal(np.concatenate([p[1] for p in parts]), vad_whole)
    rn = dn.RNNoise()
    rn.close()
    rn.close()                                      # idempotent
    with pytest.raises(RuntimeError):
        rn.process(x)


def test_missing_package_raises_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dn, "_lib", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(dn.DenoiserUnavailable, match="pip install pyrnnoise"):
        dn.denoise(np.zeros(1000, np.float32), SR)
    assert not dn.available()


def test_does_not_import_pyrnnoise_package() -> None:
    # In a fresh interpreter: `import pyrnnoise` would drag in audiolab, PyAV and matplotlib.
    import subprocess
    import sys
    code = ("import sys, numpy as np; from core.audio import denoise, quality; "
            "quality.analyze(np.zeros(4800, np.float32), 48000); denoise.denoise(np.zeros(4800), 48000); "
            "bad = [m for m in ('pyrnnoise', 'audiolab', 'av', 'matplotlib', 'torch', 'PySide6') if m in sys.modules]; "
            "assert not bad, bad")
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=60)


# --------------------------------------------------------------------------- does it help, does it harm

@pytest.mark.parametrize("kind", ["white", "pink"])
@pytest.mark.parametrize("seed,snr", [(0, 10), (1, 10), (2, 10), (1, 20), (2, 20)])
def test_noisy_speech_snr_improves(kind: str, seed: int, snr: float) -> None:
    clean = ts.speech_like(4.0, seed=seed).astype(np.float64)
    noise = ts.noise_for_snr(clean, ts.noise(kind, 4.0, seed=7), snr).astype(np.float64)
    out = _hagerman_snr(clean, noise)
    assert out >= snr + 3.0, (kind, seed, snr, out)


def test_heavy_noise_improves_against_clean_source() -> None:
    # At 0-5 dB input even the plain error vs the clean source (which also counts every change
    # RNNoise makes to the voice itself) shrinks a lot.
    clean = ts.speech_like(4.0, seed=1)
    for snr in (0, 5):
        x = ts.mix_at_snr(clean, ts.noise("white", 4.0, seed=7), snr)
        y = dn.denoise(x, SR).cleaned

        def sdr(est: np.ndarray) -> float:
            return 10 * math.log10(np.sum(clean.astype(float) ** 2) / np.sum((est.astype(float) - clean) ** 2))
        assert sdr(y) > sdr(x) + 5.0, snr


def test_rnnoise_alone_dulls_clean_speech() -> None:
    """The measurement that justifies protect_clean: unprotected RNNoise on clean speech."""
    clean = ts.speech_like(4.0, seed=2)
    x = clean + ts.noise_for_snr(clean, ts.noise("white", 4.0, seed=7), 45)
    raw = dn.denoise(x, SR, protect_clean=False)
    assert raw.mix == 1.0
    assert _band_change_db(clean, raw.cleaned, 4000, 16000) < -3.0     # measured: -6 to -15 dB
    assert abs(_band_change_db(clean, raw.cleaned, 0, 4000)) < 1.0      # the vowel band survives


@pytest.mark.parametrize("noise_db", [None, 45.0, 60.0])
def test_clean_speech_is_not_made_worse(noise_db: float | None) -> None:
    clean = ts.speech_like(4.0, seed=2)
    x = clean if noise_db is None else ts.mix_at_snr(clean, ts.noise("pink", 4.0, seed=7), noise_db)
    r = dn.denoise(x, SR)
    assert r.mix == 0.0 and r.snr_db >= dn.BYPASS_SNR_DB
    err_in = np.sum((x.astype(float) - clean) ** 2)
    err_out = np.sum((r.cleaned.astype(float) - clean) ** 2)
    assert err_out <= err_in * 1.01                       # no further from the clean source
    for lo, hi in ((0, 1000), (1000, 4000), (4000, 8000), (8000, 16000)):
        assert abs(_band_change_db(clean, r.cleaned, lo, hi)) < 0.5


def test_borderline_take_is_blended_and_loses_less_treble() -> None:
    clean = ts.speech_like(4.0, seed=2)
    x = ts.mix_at_snr(clean, ts.noise("white", 4.0, seed=7), 32)
    blended = dn.denoise(x, SR)
    full = dn.denoise(x, SR, protect_clean=False)
    assert 0.0 < blended.mix < 1.0
    assert _band_change_db(clean, blended.cleaned, 4000, 16000) > _band_change_db(clean, full.cleaned, 4000, 16000) + 2
    # A caller that already knows the take is noisy (the quality report) gets full cleanup.
    assert dn.denoise(x, SR, snr_db=15.0).mix == 1.0
    assert dn.denoise(x, SR, snr_db=50.0).mix == 0.0


# --------------------------------------------------------------------------- voice probability and speed

def test_vad_is_high_in_speech_and_low_in_silence() -> None:
    s = ts.speech_like(4.0, seed=3)
    x = s + ts.noise("white", 4.0, seed=4, level_dbfs=-70.0)
    vad = dn.voice_probability(x, SR)
    frames = ts.active_mask(s, SR)[::480][: len(vad)]
    assert vad[frames].mean() > 0.8
    assert vad[~frames].mean() < 0.3
    assert vad[:30].max() < 0.2                              # the first 300 ms (lead silence)
    # Aligned: the first confident frame is within 20 ms of the first active frame.
    assert abs(int(np.argmax(vad > 0.5)) - int(np.argmax(frames))) <= 2
    at16 = dn.voice_probability(ts.resampled(x, SR, 16000), 16000)
    assert at16[frames[: len(at16)]].mean() > 0.8


def test_ten_seconds_denoise_in_under_a_second_and_a_half() -> None:
    x = ts.mix_at_snr(ts.speech_like(10.0, seed=8), ts.noise("pink", 10.0), 20)
    dn.denoise(x[:SR], SR)
    times = []
    for _ in range(2):                        # best of two: the box is shared with other suites
        t0 = time.perf_counter()
        dn.denoise(x, SR)
        times.append(time.perf_counter() - t0)
    assert min(times) < 1.5, times            # ~0.4 s idle (25x realtime)


def test_int16_input_is_scaled() -> None:
    x = ts.mix_at_snr(ts.speech_like(1.0, seed=1), ts.noise("white", 1.0, seed=3), 15)
    pcm = np.round(x * 32767).astype(np.int16)
    a, b = dn.denoise(x, SR), dn.denoise(pcm, SR)
    assert b.cleaned.dtype == np.float32 and len(b.cleaned) == len(x)
    assert np.max(np.abs(a.cleaned - b.cleaned)) < 0.01
