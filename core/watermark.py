"""Inaudible watermark on every audio the app synthesizes: "synthetic, made with voicebank" + a voice id.

    marked = embed(audio, 32000, voice_id=payload_id("my-voice"))   # >= 36 dB below the audio
    found = detect(samples, sample_rate)                            # Detection(found, voice_id, ...)

How it works (our own scheme, numpy only):
  The spectrum 500 Hz - 7 kHz is cut into 52 bands of 125 Hz and time into 8 ms cells. Each cell's
  level is nudged up or down by at most about 1 dB following a pseudo-random +-1 pattern that
  repeats every 2.048 s (256 cells x 52 bands); the voice id picks one of 256 patterns. The nudge
  is a multiplicative gain on the short-time spectrum, so the mark is made of the audio itself: it
  has the audio's own timbre, sits where the audio is, and digital silence stays exactly zero.
  Quiet bands get a relatively larger nudge than loud ones (the mark's spectrum is flatter than the
  audio's, capped at about +-1 dB), scaled so that the whole mark is TARGET_SNR_DB below the audio.
  The detector resamples to 16 kHz, measures each cell's level relative to its frame, removes what
  the neighbouring cells predict, weights each cell by the nudge the embedder would have given it,
  folds the excerpt onto the 2.048 s period and correlates with every (pattern, time offset).
  The score is a z-value: on audio without the mark it is close to a standard normal draw for
  each of the trials, so the threshold follows from the number of trials and a false-alarm rate
  (FALSE_ALARM per file). Only cell levels matter, so the mark survives
  resampling, gain, MP3/OGG (which keep band levels) and cutting (any 3 s excerpt holds 1.5 periods).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

RATE = 16000                       # the detector's rate (marks survive resampling to 16 kHz)
WIN_S, HOP_S = 0.016, 0.004        # STFT window and hop
HOPS_PER_CELL = 2                  # 8 ms cells
BAND_LO_HZ, BAND_HZ, N_BANDS = 500.0, 125.0, 52   # 500 Hz - 7 kHz
PERIOD = 256                       # cells per pattern period (2.048 s)
N_IDS = 256                        # voice ids 0..255; 0 = generic (voice unknown)
GENERIC_ID = 0
KEY = b"voicebank-watermark-v1"
TARGET_SNR_DB = 36.5               # mark power this far below the audio's (the requirement is 35)
MAX_NUDGE = 0.12                   # per-cell amplitude change at most +-12 % (about +-1 dB)
FLATTEN = 1.5                      # nudge ~ (frame's loudest band / this band)^(FLATTEN/2)
QUIET_DB = 50.0                    # bands this far below the frame's loudest are left alone
DETECT_RANGE_DB = 30.0             # the detector reads cells within this of the frame's loudest
                                   # (measured: reading further down loses more after MP3/OGG)
WEIGHT_CAP_PCT = 60.0              # cells weighted by their expected nudge, capped at this percentile
FALSE_ALARM = 1e-5                 # per file analysed: chance that unmarked audio is called marked
WINDOW_S, WINDOW_HOP_S = 4.0, 2.0  # long files are also searched window by window
MAX_ANALYSED_S = 600.0


@dataclass
class Detection:
    found: bool
    voice_id: int | None       # None when not found; GENERIC_ID when made with no known voice
    score: float               # z-value of the best (window, pattern, offset)
    threshold: float           # found = score >= threshold
    seconds: float             # seconds of audio analysed
    offset_s: float = 0.0      # where the best window starts

    def to_dict(self) -> dict:
        return asdict(self)


def payload_id(voice_folder_id: str | None) -> int:
    """The 8-bit id written for a voice folder (1..255; 0 only for "no known voice")."""
    if not voice_folder_id:
        return GENERIC_ID
    digest = hashlib.sha256(KEY + b"/" + str(voice_folder_id).encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:4], "big") % (N_IDS - 1)


def payload_id_for_files(*paths) -> int:
    """The id of the voice folder (the one holding voice.json) that any of these files is in:
    the reference WAV of a zero-shot voice, the model files of a built one."""
    from pathlib import Path

    for path in paths:
        if path and (Path(path).parent / "voice.json").is_file():
            return payload_id(Path(path).parent.name)
    return GENERIC_ID


@lru_cache(maxsize=1)
def _patterns() -> np.ndarray:
    """(N_IDS, PERIOD, N_BANDS) of +-1, the same on every machine (seeded from KEY)."""
    seed = int.from_bytes(hashlib.sha256(KEY).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(N_IDS, PERIOD, N_BANDS), dtype=np.int8) * 2 - 1


@lru_cache(maxsize=1)
def _pattern_spectra() -> np.ndarray:
    """FFT of each pattern along time, for the circular correlation over all offsets at once."""
    return np.fft.rfft(_patterns().astype(np.float32), axis=1)


def _bands(n_fft: int, sr: int) -> np.ndarray:
    """Band index of each rfft bin, -1 outside 500 Hz - 7 kHz."""
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    b = np.floor((f - BAND_LO_HZ) / BAND_HZ).astype(int)
    b[(f < BAND_LO_HZ) | (b >= N_BANDS)] = -1
    return b


def _stft(x: np.ndarray, n: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed frames starting at -n (so every sample is covered by full overlap)."""
    padded = np.concatenate([np.zeros(n), x, np.zeros(2 * n)])
    count = (len(x) + n) // hop + 1
    index = np.arange(count)[:, None] * hop + np.arange(n)[None, :]
    window = np.hanning(n + 1)[:-1]
    return np.fft.rfft(padded[index] * window, axis=1), window


def _band_power(spec: np.ndarray, bands: np.ndarray) -> np.ndarray:
    power = np.abs(spec) ** 2
    out = np.zeros((len(spec), N_BANDS))
    for b in range(N_BANDS):
        sel = bands == b
        if sel.any():
            out[:, b] = power[:, sel].mean(1)
    return out


def _mark(x: np.ndarray, sr: int, voice_id: int, start_s: float, scale: float) -> np.ndarray:
    """The additive signal that nudges each cell (before the SNR calibration)."""
    n = max(16, int(round(WIN_S * sr)) // 4 * 4)
    hop = n // 4
    spec, window = _stft(x, n, hop)
    bands = _bands(n, sr)
    power = _band_power(spec, bands)
    loudest = power.max(1, keepdims=True) + 1e-30
    nudge = np.minimum(scale * (loudest / (power + 1e-30)) ** (FLATTEN / 2), MAX_NUDGE)
    nudge[power < loudest * 10 ** (-QUIET_DB / 10)] = 0.0
    centre_s = (np.arange(len(spec)) * hop - n + n / 2) / sr + start_s
    cell = np.floor(centre_s / (HOPS_PER_CELL * HOP_S) + 1e-9).astype(np.int64) % PERIOD
    signs = _patterns()[voice_id][cell]                       # (frames, bands)
    gain = np.zeros(spec.shape)
    inside = bands >= 0
    gain[:, inside] = (nudge * signs)[:, bands[inside]]
    frames = np.fft.irfft(spec * gain, n, axis=1) * window
    total = np.zeros(len(x) + 3 * n)
    norm = np.zeros(len(x) + 3 * n)
    w2 = window * window
    for k in range(len(frames)):         # overlap-add (weighted: exact for gain = 1)
        total[k * hop:k * hop + n] += frames[k]
        norm[k * hop:k * hop + n] += w2
    mark = total[n:n + len(x)] / np.maximum(norm[n:n + len(x)], 1e-9)
    mark[x == 0] = 0.0                   # digital silence stays silent
    return mark


def embed(audio: np.ndarray, sample_rate: int, voice_id: int = GENERIC_ID,
          start_s: float = 0.0) -> np.ndarray:
    """`audio` with the watermark (float32, same length, within [-1, 1]).

    `start_s`: where this piece starts in a longer output (sentence by sentence), so that the
    pattern runs on without a jump and any excerpt of the whole is marked the same way.
    """
    if not 0 <= int(voice_id) < N_IDS:
        raise ValueError(f"voice_id must be 0..{N_IDS - 1}, got {voice_id}")
    x = np.asarray(audio, np.float32)
    if x.ndim != 1:
        raise ValueError(f"embed() takes mono audio (one dimension), got shape {x.shape}")
    power = float(np.mean(x.astype(np.float64) ** 2)) if x.size else 0.0
    if x.size < int(WIN_S * sample_rate) * 2 or power <= 0 or sample_rate < 8000:
        return x.copy()
    x64 = x.astype(np.float64)
    scale, mark = 0.012, None
    for _ in range(3):                   # the cap makes the level non-linear in `scale`: iterate
        mark = _mark(x64, sample_rate, int(voice_id), start_s, scale)
        mark_power = float(np.mean(mark ** 2))
        if mark_power <= 0:
            return x.copy()
        snr = 10 * math.log10(power / mark_power)
        scale *= 10 ** ((snr - TARGET_SNR_DB) / 20)
    if snr < TARGET_SNR_DB:              # never louder than the target
        mark *= 10 ** ((snr - TARGET_SNR_DB) / 20)
    return np.clip(x64 + mark, -1.0, 1.0).astype(np.float32)


def _cell_residuals(band_power: np.ndarray, offset: int) -> np.ndarray | None:
    """Per cell: level relative to its frame, minus the mean of its two time neighbours,
    robustly clipped; 0 where the cell is too quiet to say anything."""
    m = (len(band_power) - offset) // HOPS_PER_CELL
    if m < 3:
        return None
    cells = band_power[offset:offset + m * HOPS_PER_CELL].reshape(m, HOPS_PER_CELL, N_BANDS).sum(1)
    frame_max = cells.max(1, keepdims=True)
    loud_enough = cells > frame_max * 10 ** (-DETECT_RANGE_DB / 10)
    valid = loud_enough & (frame_max > cells.max() * 1e-4) & (cells > 0)
    valid[1:] &= valid[:-1].copy()
    valid[:-1] &= valid[1:].copy()
    if valid.sum() < 8:
        return None
    level = np.log(cells + 1e-30) - np.log(cells.sum(1, keepdims=True) + 1e-30)
    padded = np.pad(level, ((1, 1), (0, 0)), mode="edge")
    resid = (level - 0.5 * (padded[:-2] + padded[2:])) * valid
    limit = 2.0 * float(np.median(np.abs(resid[valid]))) + 1e-12
    resid = np.clip(resid, -limit, limit)
    # The embedder nudged quiet bands more than loud ones: weight each cell by the nudge it would
    # have had (a matched filter; loud cells mostly add host noise).
    expected = (frame_max / (cells + 1e-30)) ** (FLATTEN / 2) * valid
    cap = float(np.percentile(expected[valid], WEIGHT_CAP_PCT))
    return resid * np.minimum(expected, cap) / cap


def _window_scores(x16: np.ndarray) -> tuple[float, int, int] | None:
    """Best (z, voice id, start cell offset in hops) over all patterns and offsets."""
    n = int(round(WIN_S * RATE))
    spec, _ = _stft(x16, n, int(round(HOP_S * RATE)))
    power = _band_power(spec, _bands(n, RATE))
    best = None
    for offset in range(HOPS_PER_CELL):
        resid = _cell_residuals(power, offset)
        if resid is None:
            continue
        folded = np.zeros((PERIOD, N_BANDS))
        np.add.at(folded, np.arange(len(resid)) % PERIOD, resid)
        norm = float(np.sqrt((folded ** 2).sum()))
        if norm <= 0:
            continue
        # corr[id, s] = sum_k,b folded[k, b] * pattern[id, (k + s) % PERIOD, b], via FFT
        cross = np.conj(np.fft.rfft(folded, axis=0))[None] * _pattern_spectra()
        corr = np.fft.irfft(cross.sum(2), PERIOD, axis=1) / norm
        ident, shift = np.unravel_index(int(np.argmax(corr)), corr.shape)
        z = float(corr[ident, shift])
        if best is None or z > best[0]:
            best = (z, int(ident), offset)
    return best


def threshold_for(trials: int, false_alarm: float = FALSE_ALARM) -> float:
    """z such that the largest of `trials` standard normal draws exceeds it with `false_alarm`."""
    target = false_alarm / max(trials, 1)
    lo, hi = 0.0, 40.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(mid / math.sqrt(2)) > target:
            lo = mid
        else:
            hi = mid
    return round(hi, 2)


def detect(audio: np.ndarray, sample_rate: int) -> Detection:
    """Is this voicebank's synthetic speech? Searches the whole file and 4 s windows."""
    from core.audio.io import resample

    x = np.asarray(audio, np.float32)
    if x.ndim != 1:
        raise ValueError(f"detect() takes mono audio (one dimension), got shape {x.shape}")
    x = x[:int(MAX_ANALYSED_S * sample_rate)]
    seconds = len(x) / sample_rate if sample_rate else 0.0
    x16 = resample(x, int(sample_rate), RATE).astype(np.float64)
    win, hop = int(WINDOW_S * RATE), int(WINDOW_HOP_S * RATE)
    starts = [0] if len(x16) <= win + hop else list(range(0, len(x16) - win + 1, hop))
    pieces = [(s, x16[s:s + win]) for s in starts]
    if len(starts) > 1:
        pieces.append((0, x16))          # a continuous output: every period adds up
    trials = len(pieces) * HOPS_PER_CELL * PERIOD * N_IDS
    threshold = threshold_for(trials)
    best = (-math.inf, None, 0)
    for start, piece in pieces:
        found = _window_scores(piece)
        if found is not None and found[0] > best[0]:
            best = (found[0], found[1], start)
    score = best[0] if math.isfinite(best[0]) else 0.0
    hit = score >= threshold
    return Detection(hit, best[1] if hit else None, round(score, 2), threshold, round(seconds, 2),
                     round(best[2] / RATE, 2))


def describe(d: Detection) -> str:
    """One line for people: what was found."""
    if not d.found:
        return (f"no voicebank watermark found (score {d.score:.1f}, needs {d.threshold:.1f}; "
                f"{d.seconds:.1f} s analysed)")
    voice = "no named voice" if d.voice_id == GENERIC_ID else f"voice id {d.voice_id}"
    return (f"synthetic — made with voicebank ({voice}), score {d.score:.1f} "
            f"(threshold {d.threshold:.1f}; {d.seconds:.1f} s analysed)")
