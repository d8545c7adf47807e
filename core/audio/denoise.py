"""RNNoise cleanup and voice-activity probability, through the library bundled in pyrnnoise.

We never `import pyrnnoise`: its __init__ pulls in audiolab, PyAV and matplotlib (hundreds of MB)
for features we don't use. We only locate its package folder (find_spec runs no code) and load
the shared library with ctypes. The RNNoise model is compiled into that library.

RNNoise works at 48 kHz on 480-sample (10 ms) frames of float32 in int16 scale, and returns for
each frame a voice probability. Its output lags its input by a fixed delay (measured below,
`RNNoise.DELAY`); `denoise` removes that lag so the cleaned take lines up with the raw take.
"""
from __future__ import annotations

import ctypes
import importlib.util
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

INSTALL_HINT = "pip install pyrnnoise==0.4.5 (on macOS: pyrnnoise==0.4.3)"

# Clean-take protection (see `denoise`): RNNoise always reshapes the spectrum a little, even when
# there is nothing to remove. Takes whose own SNR estimate is at or above BYPASS_SNR_DB are kept
# as recorded; at or below FULL_SNR_DB they get the full RNNoise output; in between, a linear mix.
FULL_SNR_DB = 25.0
BYPASS_SNR_DB = 40.0

_lib: ctypes.CDLL | None = None


class DenoiserUnavailable(RuntimeError):
    """The RNNoise library could not be found or loaded; the message says how to fix it."""


def _library_names() -> list[str]:
    if sys.platform.startswith("win"):
        return ["rnnoise.dll", "librnnoise.dll"]
    if sys.platform == "darwin":
        return ["librnnoise.dylib", "librnnoise.0.dylib"]
    return ["librnnoise.so", "librnnoise.so.0"]


def _load() -> ctypes.CDLL:
    """Load (once) and declare the four C functions we use."""
    global _lib
    if _lib is not None:
        return _lib
    try:
        spec = importlib.util.find_spec("pyrnnoise")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DenoiserUnavailable(f"RNNoise is not installed. Install it with: {INSTALL_HINT}")
    folder = Path(list(spec.submodule_search_locations)[0])
    candidates = [folder / name for name in _library_names() if (folder / name).exists()]
    if not candidates:
        raise DenoiserUnavailable(
            f"The pyrnnoise package in {folder} has no RNNoise library for this system. "
            f"Reinstall it with: {INSTALL_HINT}")
    try:
        lib = ctypes.CDLL(str(candidates[0]))
    except OSError as exc:
        raise DenoiserUnavailable(
            f"Could not load {candidates[0].name} ({exc}). Reinstall it with: {INSTALL_HINT}") from exc
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.restype = None
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                          ctypes.POINTER(ctypes.c_float)]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_get_frame_size.argtypes = []
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    if lib.rnnoise_get_frame_size() != RNNoise.FRAME:
        raise DenoiserUnavailable(
            f"Unexpected RNNoise frame size {lib.rnnoise_get_frame_size()}. Reinstall: {INSTALL_HINT}")
    _lib = lib
    return lib


def available() -> bool:
    """True when RNNoise can be loaded (the GUI greys out "Clean up" otherwise)."""
    try:
        _load()
        return True
    except DenoiserUnavailable:
        return False


class RNNoise:
    """One stateful RNNoise denoiser at 48 kHz. Feed consecutive audio of one recording.

    Use as a context manager or call close(); a state must not be shared between threads.
    """
    FRAME = 480
    RATE = 48000
    # Output sample i corresponds to input sample i - DELAY. Measured by cross-correlating input and
    # output on speech (959) and on white noise (960); tests/core/audio/test_denoise.py checks it.
    # Two frames, 20 ms, as the ecosystem notes found through pyrnnoise's own wrapper.
    DELAY = 960

    def __init__(self) -> None:
        self._lib = _load()
        self._state = self._lib.rnnoise_create(None)
        if not self._state:
            raise DenoiserUnavailable("RNNoise could not allocate its state (out of memory?).")

    def process(self, samples_48k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Denoise 48 kHz float audio in [-1, 1].

        Returns (output, vad): output has len(samples_48k) samples, delayed by DELAY (no
        compensation here, so streaming callers can keep calling); vad has one probability per
        started 480-sample frame. A last partial frame is zero-padded, so a streaming caller
        should pass whole frames (multiples of FRAME) until the end.
        """
        if self._state is None:
            raise RuntimeError("RNNoise.process() after close()")
        x = np.asarray(samples_48k, dtype=np.float32).ravel()
        n = len(x)
        nf = -(-n // self.FRAME)
        if nf == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        # Values outside [-1, 1] are clipped: they can't come from a real converter, and RNNoise's
        # int16-scale model was never trained on them (a float file may hold them after gain).
        frames = np.zeros(nf * self.FRAME, dtype=np.float32)
        frames[:n] = np.clip(x, -1.0, 1.0) * 32767.0
        out = np.empty_like(frames)
        vad = np.empty(nf, dtype=np.float32)
        fn = self._lib.rnnoise_process_frame
        st = ctypes.c_void_p(self._state)
        fptr = ctypes.POINTER(ctypes.c_float)
        base_in = frames.ctypes.data
        base_out = out.ctypes.data
        step = self.FRAME * 4
        for i in range(nf):
            # Pointers straight into the numpy buffers: no per-frame copies.
            vad[i] = fn(st, ctypes.cast(base_out + i * step, fptr), ctypes.cast(base_in + i * step, fptr))
        return (out[:n] / 32767.0).astype(np.float32), vad

    def close(self) -> None:
        if self._state is not None:
            self._lib.rnnoise_destroy(self._state)
            self._state = None

    def __enter__(self) -> "RNNoise":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


@dataclass
class DenoiseResult:
    cleaned: np.ndarray      # float32 mono in [-1, 1], same rate and length as the input, time-aligned
    sample_rate: int
    vad_prob: np.ndarray     # float32, one voice probability per 10 ms frame of the input
    mix: float = 1.0         # share of RNNoise output in `cleaned` (1 = fully denoised, 0 = bypassed)
    snr_db: float | None = None   # the SNR the mix was chosen from (given, or quick estimate)


def as_float_mono(samples: np.ndarray) -> np.ndarray:
    """float32 mono: integer PCM is scaled to [-1, 1), (frames, channels) arrays are averaged
    (soundfile's layout), NaN/inf become 0. Values beyond +-1 are kept (callers decide)."""
    x = np.asarray(samples)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float64) / (np.iinfo(x.dtype).max + 1.0)
    x = np.asarray(x, np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return np.nan_to_num(x.ravel(), nan=0.0, posinf=1.0, neginf=-1.0)


def _ratio(sample_rate: int) -> Fraction:
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    return Fraction(RNNoise.RATE, int(sample_rate))


def _to_48k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    r = _ratio(sample_rate)
    if r == 1:
        return x
    return resample_poly(x, r.numerator, r.denominator).astype(np.float32)


def _from_48k(y: np.ndarray, sample_rate: int, n: int) -> np.ndarray:
    r = _ratio(sample_rate)
    if r != 1:
        y = resample_poly(y, r.denominator, r.numerator).astype(np.float32)
    if len(y) < n:
        y = np.pad(y, (0, n - len(y)))
    return y[:n]


def _frames_10ms(n: int, sample_rate: int) -> int:
    """Number of (started) 10 ms frames in n samples at sample_rate."""
    return int(-(-n * 100 // int(sample_rate)))


def _run(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input float32 in [-1,1], RNNoise output aligned to the input, vad per input 10 ms frame)."""
    # Values outside [-1, 1] are clipped before RNNoise (see RNNoise.process).
    x = np.clip(as_float_mono(samples), -1.0, 1.0)
    n = len(x)
    nv = _frames_10ms(n, sample_rate)
    if n == 0:
        return x, x.copy(), np.zeros(0, np.float32)
    x48 = _to_48k(x, sample_rate)
    # Pad by the delay so the last real samples come out; then drop the first DELAY samples.
    padded = np.concatenate([x48, np.zeros(RNNoise.DELAY, np.float32)])
    with RNNoise() as rn:
        y48, vad = rn.process(padded)
    y48 = y48[RNNoise.DELAY:RNNoise.DELAY + len(x48)]
    y = np.clip(_from_48k(y48, sample_rate, n), -1.0, 1.0).astype(np.float32)
    # RNNoise's frame i covers 48 kHz samples [480 i, 480 i + 480), i.e. the input's i-th 10 ms.
    if len(vad) < nv:
        vad = np.pad(vad, (0, nv - len(vad)), mode="edge")
    return x, y, vad[:nv].astype(np.float32)


def quick_snr_db(x: np.ndarray, sample_rate: int, vad: np.ndarray) -> float | None:
    """A rough SNR for choosing the clean-take mix: loud voiced frames vs the quietest frames.

    Noise = mean power of the quietest 10 % of 10 ms frames; speech = mean power of frames RNNoise
    calls voice (p > 0.5) that are also above the 50th percentile of energy. None if undecidable
    (too short, or no voice at all). quality.analyze gives the careful estimate; this one only
    has to tell "already clean" from "noisy". On steady noise it reads 1.5-2.5 dB high (the quietest
    frames sit below the noise's mean power), which errs towards keeping the take as recorded.
    """
    hop = int(sample_rate) // 100
    nf = min(len(x) // max(hop, 1), len(vad))
    if hop == 0 or nf < 20:
        return None
    p = np.mean(x[:nf * hop].astype(np.float64).reshape(nf, hop) ** 2, axis=1)
    quiet = np.sort(p)[:max(1, nf // 10)]
    noise = float(np.mean(quiet))
    voiced = (vad[:nf] > 0.5) & (p > np.median(p))
    if not voiced.any():
        return None
    speech = float(np.mean(p[voiced])) - noise
    if speech <= 0:
        return -10.0
    if noise <= 1e-14:          # digital silence: as clean as it gets
        return 100.0
    return float(10 * np.log10(speech / noise))


def _mix_for(snr: float | None) -> float:
    if snr is None:
        return 1.0
    return float(np.clip((BYPASS_SNR_DB - snr) / (BYPASS_SNR_DB - FULL_SNR_DB), 0.0, 1.0))


def denoise(samples: np.ndarray, sample_rate: int, *, protect_clean: bool = True,
            snr_db: float | None = None) -> DenoiseResult:
    """RNNoise cleanup at any sample rate (resampled to 48 kHz and back, polyphase, exact ratio).

    The result has the input's rate and length and lines up with it sample for sample.
    With protect_clean (default), an already-clean take is returned (nearly) unchanged: on clean
    speech RNNoise takes 5-15 dB off the 4-16 kHz band (measured, see tests/core/audio/
    test_denoise.py), so we blend its output with the input by the take's SNR: full cleanup at
    <= FULL_SNR_DB, none at >= BYPASS_SNR_DB. Pass `snr_db` (e.g. QualityReport.snr_db, measured
    against the session's room tone) to choose the blend; otherwise a quick estimate is used.
    """
    x, y, vad = _run(samples, sample_rate)
    if len(x) == 0:
        return DenoiseResult(y, int(sample_rate), vad, 1.0, None)
    snr = snr_db if snr_db is not None else quick_snr_db(x, sample_rate, vad)
    if protect_clean:
        y, mix = protect_clean_speech(x, y, snr)
    else:
        mix = 1.0
    return DenoiseResult(y, int(sample_rate), vad, mix, snr)


def protect_clean_speech(original: np.ndarray, denoised: np.ndarray,
                         snr_db: float | None) -> tuple[np.ndarray, float]:
    """Blend RNNoise's output with the time-aligned original by the take's SNR -> (audio, mix).

    Lets a caller that measured the SNR carefully (quality.analyze against the room tone) run
    RNNoise once with protect_clean=False and choose the blend afterwards.
    """
    mix = _mix_for(snr_db)
    if mix >= 1.0:
        return denoised, 1.0
    x = np.clip(as_float_mono(original), -1.0, 1.0)
    # The output is time-aligned with the input, so a linear blend doesn't comb-filter.
    return (mix * denoised + (1.0 - mix) * x).astype(np.float32), mix


def voice_probability(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """RNNoise's voice probability for each 10 ms frame of the input (float32)."""
    return _run(samples, sample_rate)[2]
