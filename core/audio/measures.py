"""The measures behind the per-take quality gate (core.audio.quality), each a plain function of
the samples: levels and frame powers, the room's noise floor and what that noise sounds like, the
WADA-SNR blind estimate, the voice's bandwidth, BS.1770 loudness, and the syllables of a prompt.
No thresholds and no wording: quality.analyze combines these into a report and grades it.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtri
from scipy.stats import gamma as gamma_dist

FLOOR_MIN_DBFS = -120.0     # digital silence reads as this, so no -inf reaches JSON or arithmetic
WADA_RANGE_DB = (-20.0, 50.0)   # WADA over-reads above ~30 dB; past 50 dB it only means "very clean"
NOISE_FRAME_S = 0.030           # room-tone frames (20-50 ms: long enough to average, short enough for a cough)
TRIM_ABOVE_MEDIAN_DB = 6.0      # robust mean: frames louder than median + 6 dB (a cough, a click) are dropped
LOUD_ABOVE_QUIET_DB = 10.0      # room check: frames this far above its quiet part are speech or a sound
NEAR_LOUD_FRAMES = 2            # ...and this many frames each side are its edges, not the room


# --------------------------------------------------------------------------- levels and noise floor

def power_db(p: float | np.ndarray) -> float | np.ndarray:
    """Power -> dBFS, never below FLOOR_MIN_DBFS."""
    return np.maximum(10 * np.log10(np.maximum(p, 1e-30)), FLOOR_MIN_DBFS)


def frame_powers(x: np.ndarray, hop: int) -> np.ndarray:
    """Mean power of each whole frame of `hop` samples (a partial last frame is dropped)."""
    nf = len(x) // hop
    if nf == 0:
        return np.zeros(0)
    return np.mean(x[:nf * hop].reshape(nf, hop) ** 2, axis=1)


def robust_mean_power(p: np.ndarray) -> float:
    """Mean power after dropping frames louder than median + 6 dB (a cough, a click, a knock).

    For steady noise almost nothing is dropped, so this is ~the true mean power (which is what
    SNR needs), unlike a plain low percentile, which under-reads fluctuating noise.
    """
    if len(p) == 0:
        return 0.0
    keep = p <= np.median(p) * 10 ** (TRIM_ABOVE_MEDIAN_DB / 10)
    return float(np.mean(p[keep])) if keep.any() else float(np.median(p))


def measure_noise_floor(samples: np.ndarray, sample_rate: int) -> float:
    """Room tone -> noise floor in dBFS (mean power of 30 ms frames, robust to a cough or click)."""
    x = np.nan_to_num(np.asarray(samples, np.float64).ravel())
    if len(x) == 0:
        raise ValueError("no samples: record some room tone first")
    hop = max(1, int(round(NOISE_FRAME_S * sample_rate)))
    p = frame_powers(x, hop) if len(x) >= hop else np.array([np.mean(x * x)])
    return float(power_db(robust_mean_power(p)))


@dataclass(frozen=True)
class RoomTone:
    """What the room check heard, told apart: the steady background, and what rose above it."""
    floor_dbfs: float       # mean power of the steady part (the quiet frames), robust to a cough
    quiet_s: float          # how much of the recording was that steady background
    loud_s: float           # how much rose clearly above it (speech, a door, a knock)
    loud_runs: int          # in how many separate stretches
    voice_s: float          # of the loud part, how much RNNoise heard as a voice (0 without it)


def room_tone(samples: np.ndarray, sample_rate: int, vad_prob: np.ndarray | None = None) -> RoomTone:
    """Split a room-tone recording into its steady background and what rose above it.

    30 ms frames more than LOUD_ABOVE_QUIET_DB above the quiet part (the 10th percentile of frame
    levels) are "loud"; they and NEAR_LOUD_FRAMES on each side are left out of the floor. Steady
    noise of any colour (a fan, a hum, hiss) hardly moves from frame to frame, so nothing is loud.
    `vad_prob`: RNNoise's voice probability per 10 ms frame, to tell a voice from a bang.
    """
    x = np.nan_to_num(np.asarray(samples, np.float64).ravel())
    if len(x) == 0:
        raise ValueError("no samples: record some room tone first")
    hop = max(1, int(round(NOISE_FRAME_S * sample_rate)))
    p = frame_powers(x, hop) if len(x) >= hop else np.array([np.mean(x * x)])
    pdb = power_db(p)
    loud = pdb > np.percentile(pdb, 10) + LOUD_ABOVE_QUIET_DB
    near = np.convolve(loud.astype(np.int8), np.ones(2 * NEAR_LOUD_FRAMES + 1, np.int8), "same") > 0
    quiet = ~near
    floor = float(power_db(robust_mean_power(p[quiet] if quiet.any() else p)))
    voice_s = 0.0
    if vad_prob is not None and loud.any():
        per = max(1, int(round(NOISE_FRAME_S / 0.010)))        # 10 ms VAD frames per 30 ms frame
        v = fit_frames(vad_prob, len(p) * per).reshape(len(p), per).max(axis=1)
        voice_s = float(np.sum(loud & (v >= 0.5)) * hop / sample_rate)
    return RoomTone(floor, float(quiet.sum() * hop / sample_rate), float(loud.sum() * hop / sample_rate),
                    count_runs(loud, 1), voice_s)


def describe_noise(samples: np.ndarray, sample_rate: int) -> str:
    """What the room tone sounds like, from where its power sits in frequency."""
    x = np.asarray(samples, np.float64)
    if len(x) < 256:
        return "background noise"
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sample_rate)
    total = spec.sum() + 1e-30
    mains = sum(spec[(f > h * base - 3) & (f < h * base + 3)].sum() for base in (50, 60) for h in (1, 2, 3))
    if mains / total > 0.5:
        return "an electrical hum (mains 50/60 Hz: a charger, a lamp dimmer, or a ground loop in the cable)"
    if spec[f < 500].sum() / total > 0.7:
        return "a low rumble (traffic, a fan, air conditioning or a fridge)"
    return "a steady hiss (a fan, a computer, or the microphone's own noise with the gain turned up)"


# --------------------------------------------------------------------------- WADA-SNR

@lru_cache(maxsize=1)
def _wada_table() -> tuple[np.ndarray, np.ndarray]:
    """G(SNR) for SNR = -20..100 dB, from Kim & Stern's model rather than a typed-in table.

    Model: clean speech amplitude ~ Gamma(shape 0.4) with a random sign, noise Gaussian;
    G = log E|z| - E log|z| for z = speech + noise. Expectations are taken over 200k stratified
    (quantile-midpoint) samples of each distribution, randomly paired with a fixed seed, so the table
    is deterministic and smooth. Limits check out: G(-inf) = 0.409 (Gaussian), G(+inf) = 1.645.
    """
    m = 200_000
    q = (np.arange(m) + 0.5) / m
    rng = np.random.default_rng(1234)
    s = gamma_dist.ppf(q, 0.4) * rng.choice([-1.0, 1.0], size=m)
    s /= np.sqrt(np.mean(s * s))
    n = ndtri(q)[rng.permutation(m)]
    n /= np.sqrt(np.mean(n * n))
    snrs = np.arange(-20.0, 101.0)
    g = np.empty_like(snrs)
    for i, snr in enumerate(snrs):
        z = np.abs(s * 10 ** (snr / 20) + n)
        g[i] = np.log(np.mean(z)) - np.mean(np.log(np.maximum(z, 1e-20)))
    return snrs, np.maximum.accumulate(g)    # monotone, for interpolation


def wada_snr(samples: np.ndarray) -> float:
    """Blind SNR estimate (Kim & Stern 2008, WADA), clamped to WADA_RANGE_DB."""
    x = np.nan_to_num(np.asarray(samples, np.float64).ravel())
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak == 0:
        return WADA_RANGE_DB[0]
    a = np.maximum(np.abs(x / peak), 1e-10)     # as in the reference code: eps for exact zeros
    g = math.log(max(float(np.mean(a)), 1e-10)) - float(np.mean(np.log(a)))
    snrs, table = _wada_table()
    est = float(np.interp(g, table, snrs))
    return float(np.clip(est, *WADA_RANGE_DB))


# --------------------------------------------------------------------------- text

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def _english_syllables(word: str) -> int:
    w = word.lower().replace("'", "")
    groups = re.findall(r"[aeiouy]+", w)
    n = len(groups)
    # Silent final e ("make"), but not "-le" after a consonant ("table") or words like "the"/"be".
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    # "-ed" is silent unless after t/d ("jumped" 1, "wanted" 2).
    if w.endswith("ed") and len(w) > 3 and w[-3] not in "td" and n > 1:
        n -= 1
    return max(1, n)


def syllable_count(text: str) -> int:
    """Syllables in a prompt: one per Han character, vowel groups per English word, one per digit."""
    han = len(_HAN.findall(text))
    rest = _HAN.sub(" ", text)
    words = sum(_english_syllables(w) for w in _WORD.findall(rest))
    digits = len(re.findall(r"\d", rest))
    return han + words + digits


def text_language(text: str) -> str:
    """"zh" when at least half the prompt's syllables are Han characters, else "en"."""
    han = len(_HAN.findall(text))
    return "zh" if han * 2 >= max(1, syllable_count(text)) else "en"


# --------------------------------------------------------------------------- spectrum

DETECT = 0.3    # voice power must be >= 0.3x the noise power in a band to count as present (-5 dB)


def voice_bandwidth(x: np.ndarray, sr: int, active: np.ndarray, hop: int, range_db: float) -> tuple[float | None, bool]:
    """Effective bandwidth (Hz) of the voice, and whether the noise hid the true roll-off.

    Long-term spectra of voice-active and non-active 10 ms-hop frames; the voice spectrum minus the
    noise spectrum, smoothed over +-250 Hz; bandwidth = highest frequency where that is within
    `range_db` of its peak and at least -5 dB relative to the noise there (weaker excess is within
    the estimate's scatter). If that detection limit lies above the threshold just past that point,
    the measurement is limited by noise, not by the microphone, and the grade ignores it.
    """
    nfft = 1 << int(math.ceil(math.log2(max(64, 0.02 * sr))))
    nf = len(active)
    starts = np.arange(nf) * hop
    ok = starts + nfft <= len(x)
    if not (active & ok).any():
        return None, False
    win = np.hanning(nfft)

    def mean_spec(mask: np.ndarray) -> np.ndarray:
        idx = starts[mask & ok]
        if len(idx) == 0:
            return np.zeros(nfft // 2 + 1)
        idx = idx[:: max(1, len(idx) // 400)]       # <= ~400 frames: plenty for a long-term average
        frames = x[idx[:, None] + np.arange(nfft)] * win
        return np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)

    sp, nz = mean_spec(active), mean_spec(~active)
    f = np.fft.rfftfreq(nfft, 1 / sr)
    k = max(1, int(round(250 / (f[1] - f[0]))))
    kern = np.ones(2 * k + 1) / (2 * k + 1)
    sp, nz = np.convolve(sp, kern, "same"), np.convolve(nz, kern, "same")
    clean = np.maximum(sp - nz, 0.0)
    ref = clean[f >= 80].max() if (f >= 80).any() else clean.max()
    if ref <= 0:
        return None, False
    thr = ref * 10 ** (-range_db / 10)
    good = (clean >= thr) & (clean >= DETECT * nz)
    if not good.any():
        return None, False
    top = int(np.nonzero(good)[0][-1])
    bw = float(min(f[top] + (f[1] - f[0]) / 2, sr / 2))
    beyond = nz[top + 1: top + 1 + 4 * k]
    noise_limited = bool(len(beyond) and np.median(beyond) * DETECT > thr)
    return bw, noise_limited


def loudness_lufs(x: np.ndarray, sr: int) -> float | None:
    """BS.1770 integrated loudness (pyloudnorm); None when it cannot be measured."""
    if len(x) < int(0.4 * sr) + 1:
        return None      # BS.1770 gates 400 ms blocks: shorter clips have no integrated loudness
    try:
        import pyloudnorm
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = float(pyloudnorm.Meter(sr).integrated_loudness(x))
    except Exception:
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- frames

def count_runs(mask: np.ndarray, min_len: int) -> int:
    """How many runs of at least `min_len` consecutive True values the mask holds."""
    if not mask.any():
        return 0
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    lengths = np.nonzero(d == -1)[0] - np.nonzero(d == 1)[0]
    return int(np.sum(lengths >= min_len))


def fit_frames(v: np.ndarray, n: int) -> np.ndarray:
    """A per-frame series cut or edge-padded to exactly n frames."""
    v = np.asarray(v, np.float64).ravel()
    if len(v) >= n:
        return v[:n]
    return np.pad(v, (0, n - len(v)), mode="edge") if len(v) else np.zeros(n)
