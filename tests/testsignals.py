"""Deterministic synthetic test signals shared by every test suite (core and GUI).

Nothing here reads a file or a sound card: every signal is built from a seed, so a test that fails
fails the same way on every machine.

Level convention used throughout: ``dBFS = 10*log10(mean(x**2))`` (mean power, so a full-scale
square wave is 0 dBFS and a full-scale sine is -3 dBFS).

TRUE SNR (what `mix_at_snr` produces and what the quality tests compare against)::

    SNR = 10*log10( mean power of the speech over its ACTIVE part / mean power of the noise )

where the active part is the set of 10 ms frames whose speech power is within
`ACTIVE_RANGE_DB` (40 dB) of the loudest speech frame (`active_mask`). Leading/trailing silence
and the pauses between words are digital zeros in `speech_like`, so they are never active;
syllable fade-ins/outs are, as far as they are within 40 dB of the peak. This is close in spirit to
ITU-T P.56 "active speech level" and to how the quality gate measures speech level.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter, lfilter, resample_poly, sosfilt, sosfiltfilt

ACTIVE_RANGE_DB = 40.0      # frames within this many dB of the loudest frame count as active
FRAME_S = 0.010             # 10 ms analysis frames (RNNoise's frame)
SPEECH_PEAK = 10 ** (-6 / 20)   # speech_like() is normalised to a -6 dBFS peak

# (F1, F2, F3, F4) in Hz for a few vowels: rough adult averages, enough to move the spectrum
# around from syllable to syllable the way real speech does.
_VOWELS = {
    "a": (730, 1090, 2440, 3400),
    "i": (270, 2290, 3010, 3700),
    "u": (300, 870, 2240, 3300),
    "e": (530, 1840, 2480, 3500),
    "o": (570, 840, 2410, 3300),
    "er": (490, 1350, 1690, 3300),
}
# Fricative noise bands (Hz): "s", "sh", "f"/"th". These give full-band speech its energy above 8 kHz.
_FRICATIVES = {"s": (4000, 13000), "sh": (2200, 8000), "f": (1500, 14000)}


def _check_seconds(seconds: float) -> None:
    # A sample count passed as `seconds` would silently allocate gigabytes.
    if not 0 <= seconds <= 600:
        raise ValueError(f"`seconds` is a duration in seconds (0-600), got {seconds!r}; "
                         "did you pass a sample count?")


@dataclass
class SpeechInfo:
    """What `speech_like_info` built, for tests that need the ground truth."""
    samples: np.ndarray
    sample_rate: int
    syllables: int
    words: int
    speech_start_s: float           # first non-zero sample of the voice
    speech_end_s: float             # last non-zero sample of the voice
    syllable_spans: list[tuple[float, float]] = field(default_factory=list)


def speech_like(seconds: float, sample_rate: int = 48000, seed: int = 0, f0: float = 140.0,
                lead_s: float = 0.4, trail_s: float = 0.4) -> np.ndarray:
    """`seconds` of speech-like audio in total (float32 mono, peak -6 dBFS).

    The voice fills [lead_s, seconds - trail_s]; before and after are digital silence.
    """
    return speech_like_info(seconds, sample_rate, seed, f0, lead_s, trail_s).samples


def speech_like_info(seconds: float, sample_rate: int = 48000, seed: int = 0, f0: float = 140.0,
                     lead_s: float = 0.4, trail_s: float = 0.4) -> SpeechInfo:
    """Like `speech_like`, plus the ground truth (syllable count, where the voice is)."""
    _check_seconds(seconds)
    sr = int(sample_rate)
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out = np.zeros(n, dtype=np.float64)
    start, end = lead_s, seconds - trail_s
    if end - start < 0.1:
        return SpeechInfo(out.astype(np.float32), sr, 0, 0, lead_s, lead_s)

    # 1. Lay out words and syllables: ~0.185 s syllables (about 4.5/s with pauses), 1-3 per word,
    #    60-160 ms pauses between words.
    spans: list[tuple[float, float]] = []
    words = 0
    t = start
    while t < end - 0.12:
        words += 1
        for _ in range(int(rng.integers(1, 4))):
            dur = float(rng.uniform(0.15, 0.22))
            if t + dur > end:
                dur = end - t
            if dur < 0.12:
                break
            spans.append((t, t + dur))
            t += dur
        t += float(rng.uniform(0.06, 0.16))

    # 2. Glottal source over the whole voiced region: an impulse train following a pitch contour
    #    (slow wobble + declination + jitter), shaped to a glottal-like -12 dB/octave roll-off and
    #    differentiated for lip radiation (+6 dB/octave): -6 dB/octave overall, as in real voice.
    time = np.arange(n) / sr
    rel = np.clip((time - start) / max(end - start, 1e-9), 0.0, 1.0)
    phase0 = rng.uniform(0, 2 * np.pi)
    contour = f0 * (1.0 + 0.18 * np.sin(2 * np.pi * 0.6 * time + phase0)) * (1.08 - 0.16 * rel)
    contour *= 1.0 + 0.01 * rng.standard_normal(n).cumsum() / np.sqrt(np.arange(1, n + 1))
    cycles = np.cumsum(contour) / sr
    pulses = np.zeros(n)
    idx = np.nonzero(np.diff(np.floor(cycles)) > 0)[0] + 1
    pulses[idx] = 1.0
    pole = np.exp(-2 * np.pi * 150.0 / sr)          # double pole at 150 Hz: glottal roll-off
    source = lfilter([1.0], [1.0, -2 * pole, pole * pole], pulses)
    source = np.diff(source, prepend=0.0)            # lip radiation
    source += 0.02 * np.std(source) * rng.standard_normal(n)   # breathiness

    # 3. Each syllable: optional fricative onset + a vowel through 4 formant resonators,
    #    under a smooth amplitude envelope.
    vowel_names = list(_VOWELS)
    fric_names = list(_FRICATIVES)
    nyq = sr / 2
    for a, b in spans:
        i0, i1 = int(a * sr), min(int(b * sr), n)
        seg_len = i1 - i0
        if seg_len <= 0:
            continue
        stress = float(rng.uniform(0.55, 1.0))
        fric_len = 0
        if rng.random() < 0.45:
            lo, hi = _FRICATIVES[fric_names[int(rng.integers(len(fric_names)))]]
            fric_len = min(int(rng.uniform(0.05, 0.09) * sr), seg_len // 2)
            hi = min(hi, 0.45 * sr)
            if lo < 0.9 * hi and fric_len > 16:
                sos = butter(4, [lo / nyq, hi / nyq], btype="bandpass", output="sos")
                burst = sosfilt(sos, rng.standard_normal(fric_len + 512))[512:]
                burst *= np.hanning(fric_len) * 0.05 * stress
                out[i0:i0 + fric_len] += burst
        v0 = i0 + fric_len // 2          # vowel overlaps the fricative's tail, as in coarticulation
        vlen = i1 - v0
        formants = np.array(_VOWELS[vowel_names[int(rng.integers(len(vowel_names)))]], float)
        formants *= rng.uniform(0.95, 1.05, size=4)
        y = source[v0:i1].copy()
        for k, fk in enumerate(formants):
            if fk >= 0.9 * nyq:
                continue
            bw = 60.0 + 40.0 * k
            r = np.exp(-np.pi * bw / sr)
            th = 2 * np.pi * fk / sr
            y = lfilter([1.0 - r], [1.0, -2 * r * np.cos(th), r * r], y)
        env = np.ones(vlen)
        att, dec = min(int(0.025 * sr), vlen // 3), min(int(0.04 * sr), vlen // 3)
        if att:
            env[:att] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, att))
        if dec:
            env[-dec:] = 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, dec))
        y *= env * stress / (np.sqrt(np.mean(y * y)) + 1e-12) * 0.2
        out[v0:i1] += y

    peak = np.max(np.abs(out))
    if peak > 0:
        out *= SPEECH_PEAK / peak
    nz = np.nonzero(out)[0]
    s0 = nz[0] / sr if len(nz) else lead_s
    s1 = (nz[-1] + 1) / sr if len(nz) else lead_s
    return SpeechInfo(out.astype(np.float32), sr, len(spans), words, s0, s1, spans)


def noise(kind: str = "white", seconds: float = 3.0, sample_rate: int = 48000, seed: int = 1,
          level_dbfs: float = -50.0) -> np.ndarray:
    """Stationary noise of mean power `level_dbfs` (float32).

    kind: "white"; "pink" (1/f power, like a fan or distant traffic); "brown" (1/f^2, rumble);
    "hum" (50 Hz mains hum with harmonics and a little hiss).
    """
    _check_seconds(seconds)
    sr = int(sample_rate)
    n = int(round(seconds * sr))
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros(0, np.float32)
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind in ("pink", "brown"):
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / sr)
        f[0] = f[1] if n > 1 else 1.0
        spec /= np.sqrt(f) if kind == "pink" else f      # amplitude ~ f^-1/2 (pink) or f^-1
        spec[f < 20] = 0.0                                # no DC / sub-audio drift
        x = np.fft.irfft(spec, n)
    elif kind == "hum":
        t = np.arange(n) / sr
        x = sum(a * np.sin(2 * np.pi * 50 * h * t + h) for h, a in ((1, 1.0), (2, 0.5), (3, 0.35), (5, 0.2)))
        x = x + 0.05 * rng.standard_normal(n)
    else:
        raise ValueError(f"unknown noise kind {kind!r}")
    x = x / np.sqrt(np.mean(x * x) + 1e-30) * 10 ** (level_dbfs / 20)
    return x.astype(np.float32)


def active_mask(speech: np.ndarray, sample_rate: int = 48000) -> np.ndarray:
    """Per-sample bool: inside a 10 ms frame within ACTIVE_RANGE_DB of the loudest frame."""
    x = np.asarray(speech, np.float64)
    hop = max(1, int(round(FRAME_S * sample_rate)))
    nf = -(-len(x) // hop)
    padded = np.zeros(nf * hop)
    padded[:len(x)] = x
    p = np.mean(padded.reshape(nf, hop) ** 2, axis=1)
    if nf == 0 or p.max() <= 0:
        return np.zeros(len(x), bool)
    frames = p >= p.max() * 10 ** (-ACTIVE_RANGE_DB / 10)
    return np.repeat(frames, hop)[:len(x)]


def active_power(speech: np.ndarray, sample_rate: int = 48000) -> float:
    """Mean power of `speech` over its active part (see module docstring)."""
    x = np.asarray(speech, np.float64)
    m = active_mask(x, sample_rate)
    return float(np.mean(x[m] ** 2)) if m.any() else 0.0


def mix_at_snr(speech: np.ndarray, noise_: np.ndarray, snr_db: float, sample_rate: int = 48000) -> np.ndarray:
    """speech + noise scaled so that the TRUE SNR (module docstring) is exactly `snr_db`.

    The noise is tiled or cut to the speech's length. Returns float32 (not clipped).
    """
    s = np.asarray(speech, np.float64)
    nz = np.resize(np.asarray(noise_, np.float64), len(s))
    p_n = np.mean(nz * nz)
    if p_n <= 0:
        raise ValueError("noise is silent")
    gain = np.sqrt(active_power(s, sample_rate) / p_n / 10 ** (snr_db / 10))
    return (s + gain * nz).astype(np.float32)


def noise_for_snr(speech: np.ndarray, noise_: np.ndarray, snr_db: float, sample_rate: int = 48000) -> np.ndarray:
    """The noise as `mix_at_snr` would scale it (e.g. to make a matching room-tone recording)."""
    nz = np.asarray(noise_, np.float64)
    gain = np.sqrt(active_power(speech, sample_rate) / np.mean(nz * nz) / 10 ** (snr_db / 10))
    return (gain * nz).astype(np.float32)


def band_limit(x: np.ndarray, sample_rate: int, hz: float) -> np.ndarray:
    """Steep (10th-order Butterworth, zero-phase) low-pass at `hz`, like a telephone/Bluetooth path."""
    sos = butter(10, hz / (sample_rate / 2), btype="low", output="sos")
    return sosfiltfilt(sos, np.asarray(x, np.float64)).astype(np.float32)


def resampled(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling (e.g. to make 8 kHz-sampled speech and bring it back to 48 kHz)."""
    from math import gcd
    g = gcd(int(from_rate), int(to_rate))
    return resample_poly(np.asarray(x, np.float64), to_rate // g, from_rate // g).astype(np.float32)


def clip(x: np.ndarray, gain: float) -> np.ndarray:
    """Amplify by `gain` and hard-clip to [-1, 1], like an overdriven input stage."""
    return np.clip(np.asarray(x, np.float64) * gain, -1.0, 1.0).astype(np.float32)


def dbfs(x: np.ndarray) -> float:
    """Mean power in dBFS (module convention); -inf for silence."""
    p = float(np.mean(np.asarray(x, np.float64) ** 2)) if len(x) else 0.0
    return 10 * np.log10(p) if p > 0 else float("-inf")
