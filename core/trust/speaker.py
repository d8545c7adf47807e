"""Speaker embeddings: is this the same voice? (a GE2E d-vector encoder, our own code)

The network is the published GE2E speaker encoder shape (Wan et al. 2018): 40 mel channels in,
a 3-layer LSTM of 256, a 256-d projection with ReLU, L2-normalised. Its trained weights are the
file `pretrained.pt` that ships inside the `resemblyzer` 0.1.4 wheel; we read only that file
(torch.load with weights_only=True), never import resemblyzer, and compute the same front end:

    16 kHz mono; volume raised (never lowered) to -30 dBFS; silences longer than ~0.2 s shortened
    (resemblyzer uses webrtcvad here; we use a 30 ms energy gate with the same smoothing);
    power mel spectrogram: 25 ms Hann window, 10 ms hop, 40 Slaney mel bands, not log;
    partial utterances of 160 frames (1.6 s), 1.3 per second (77-frame step, ~50 % overlap),
    the last one kept if it is at least 75 % full; the utterance embedding is the L2-normalised
    mean of the partial embeddings.

Nothing is downloaded: without the weights file, `load_encoder` raises EncoderMissing saying
what to install.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.torchfile import SMALL_FILE_LIMIT, load_torch_file

SAMPLE_RATE = 16_000
N_FFT = 400                  # 25 ms
HOP = 160                    # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160         # 1.6 s
PARTIALS_PER_S = 1.3
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0
VAD_WINDOW = 480             # 30 ms at 16 kHz
VAD_SMOOTH = 8               # windows in the moving average
VAD_MAX_SILENCE = 6          # windows of silence kept next to speech
WEIGHTS_ENV = "VOICEBANK_SPEAKER_ENCODER"
INSTALL_HINT = ("Install the speaker-check weights with `pip install --no-deps resemblyzer==0.1.4` "
                "(a 16 MB package that carries them; voicebank reads only its weights file), or copy "
                "its resemblyzer/pretrained.pt to {folder}.")


class EncoderMissing(Exception):
    """The encoder's weights file is not on this machine (message says what to install)."""


@dataclass
class EncoderConfig:
    n_mels: int = N_MELS
    hidden: int = 256
    layers: int = 3
    embedding: int = 256


class SpeakerEncoder(nn.Module):
    def __init__(self, cfg: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.cfg = cfg
        self.lstm = nn.LSTM(cfg.n_mels, cfg.hidden, cfg.layers, batch_first=True)
        self.linear = nn.Linear(cfg.hidden, cfg.embedding)
        self.source = "random"        # where the weights came from (shown in reports)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """(batch, frames, n_mels) power mels -> (batch, embedding), non-negative, unit length."""
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)


# ---------------------------------------------------------------------------------- weights


def default_weights_folder() -> Path:
    from core.paths import models_dir

    return models_dir() / "speaker-encoder"


def find_weights() -> Path | None:
    """The weights file: $VOICEBANK_SPEAKER_ENCODER, the installed resemblyzer package (found
    without importing it), or <models>/speaker-encoder/pretrained.pt."""
    candidates = []
    if os.environ.get(WEIGHTS_ENV):
        candidates.append(Path(os.environ[WEIGHTS_ENV]))
    if getattr(sys, "frozen", False):       # the installed bundle carries the file beside its code
        candidates.append(Path(getattr(sys, "_MEIPASS", ".")) / "resemblyzer" / "pretrained.pt")
    try:
        spec = importlib.util.find_spec("resemblyzer")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "pretrained.pt" for p in spec.submodule_search_locations]
    try:
        candidates.append(default_weights_folder() / "pretrained.pt")
    except Exception:  # no user data folder at all: only the other places count
        pass
    return next((p for p in candidates if p.is_file()), None)


def encoder_from_state(state: dict, source: str = "state dict") -> SpeakerEncoder:
    """Build the encoder whose sizes the state dict implies and load it (extra keys ignored)."""
    state = state.get("model_state", state)
    try:
        hidden = state["lstm.weight_hh_l0"].shape[1]
        n_mels = state["lstm.weight_ih_l0"].shape[1]
        layers = sum(1 for k in state if k.startswith("lstm.weight_hh_l"))
        embedding = state["linear.weight"].shape[0]
    except (KeyError, AttributeError, IndexError) as exc:
        raise EncoderMissing(f"{source} is not a speaker-encoder weights file ({exc}). "
                             + INSTALL_HINT.format(folder=default_weights_folder())) from None
    model = SpeakerEncoder(EncoderConfig(n_mels, hidden, layers, embedding))
    wanted = {k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))}
    model.load_state_dict(wanted, strict=True)
    model.source = source
    return model.eval()


def load_encoder(path: Path | None = None) -> SpeakerEncoder:
    path = Path(path) if path else find_weights()
    if path is None or not path.is_file():
        raise EncoderMissing("The speaker check cannot run: its weights file is not installed. "
                             + INSTALL_HINT.format(folder=default_weights_folder()))
    try:
        state = load_torch_file(path, limit=SMALL_FILE_LIMIT, what="speaker-check weights file")
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise EncoderMissing(f"The speaker-check weights {path} cannot be read ({first}). "
                             + INSTALL_HINT.format(folder=default_weights_folder())) from None
    if not isinstance(state, dict):
        raise EncoderMissing(f"{path} is not a speaker-encoder weights file. "
                             + INSTALL_HINT.format(folder=default_weights_folder()))
    return encoder_from_state(state, str(path))


# ---------------------------------------------------------------------------------- front end


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    step, knee_mel, log_step = 200.0 / 3, 15.0, np.log(6.4) / 27.0
    return np.where(f < 1000.0, f / step, knee_mel + np.log(np.maximum(f, 1e-9) / 1000.0) / log_step)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    step, knee_mel, log_step = 200.0 / 3, 15.0, np.log(6.4) / 27.0
    return np.where(m < knee_mel, m * step, 1000.0 * np.exp(log_step * (m - knee_mel)))


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft//2+1) triangular filters on the Slaney scale, area-normalised (0 - sr/2)."""
    fft_hz = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    widths = np.diff(edges)
    slopes = edges[:, None] - fft_hz[None, :]
    bank = np.zeros((n_mels, len(fft_hz)))
    for i in range(n_mels):
        rising = -slopes[i] / widths[i]
        falling = slopes[i + 2] / widths[i + 1]
        bank[i] = np.maximum(0, np.minimum(rising, falling))
    bank *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, None]
    return bank.astype(np.float32)


_FILTERS = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel spectrogram of 16 kHz audio; frames centred (zero padding)."""
    x = np.pad(np.asarray(wav, np.float32), N_FFT // 2)
    n = 1 + (len(x) - N_FFT) // HOP
    if n <= 0:
        return np.zeros((0, N_MELS), np.float32)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    power = np.abs(np.fft.rfft(x[idx] * _WINDOW, axis=1)) ** 2
    return (power @ _FILTERS.T).astype(np.float32)


def _shorten_silences(wav: np.ndarray) -> np.ndarray:
    """Keep speech and at most ~0.2 s of the silence around it (an energy gate per 30 ms)."""
    n = len(wav) // VAD_WINDOW
    if n == 0:
        return wav
    frames = wav[: n * VAD_WINDOW].reshape(n, VAD_WINDOW).astype(np.float64)
    db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    voiced = (db > db.max() - 35.0) & (db > -60.0)
    padded = np.concatenate([np.zeros((VAD_SMOOTH - 1) // 2), voiced, np.zeros(VAD_SMOOTH // 2)])
    smooth = np.convolve(padded, np.ones(VAD_SMOOTH) / VAD_SMOOTH, mode="valid")
    mask = np.round(smooth).astype(bool)
    keep = np.convolve(mask, np.ones(VAD_MAX_SILENCE + 1), mode="same") > 0   # dilation
    if not keep.any():
        return wav[: n * VAD_WINDOW]
    return frames[keep].reshape(-1).astype(np.float32)


def prepare(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """16 kHz mono float32, volume raised to -30 dBFS if quieter, long silences shortened."""
    from core.audio.io import resample

    x = np.asarray(samples, np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sample_rate != SAMPLE_RATE:
        x = resample(x, sample_rate, SAMPLE_RATE).astype(np.float32)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
    if rms > 0:
        gain_db = TARGET_DBFS - 20 * np.log10(rms)
        if gain_db > 0:
            x = x * np.float32(10 ** (gain_db / 20))
    return _shorten_silences(x)


def partial_slices(n_samples: int) -> list[slice]:
    """Mel-frame windows of the partial utterances covering n_samples (at least one)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(round(SAMPLE_RATE / PARTIALS_PER_S / HOP))
    starts = range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step)
    slices = [slice(s, s + PARTIAL_FRAMES) for s in starts]
    coverage = (n_samples - slices[-1].start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices.pop()
    return slices


# ---------------------------------------------------------------------------------- embeddings


@contextmanager
def _one_thread():
    """An LSTM step is a tiny matrix product: threads only add waiting (5-50x slower on a busy
    2-core machine). The worker runs one job at a time, so borrowing the setting is safe."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.inference_mode()
def embed_audio(samples: np.ndarray, sample_rate: int, encoder: SpeakerEncoder) -> np.ndarray:
    """The unit-length speaker embedding of one recording."""
    wav = prepare(samples, sample_rate)
    slices = partial_slices(len(wav))
    need = slices[-1].stop * HOP
    if need > len(wav):
        wav = np.pad(wav, (0, need - len(wav)))
    mels = mel_frames(wav)
    batch = torch.from_numpy(np.stack([mels[s] for s in slices]))
    with _one_thread():
        partials = encoder(batch.to(next(encoder.parameters()).device)).cpu().numpy()
    return unit(partials.mean(axis=0))


def embed_file(path: Path, encoder: SpeakerEncoder) -> np.ndarray:
    from core.audio.io import read_audio

    clip = read_audio(path)
    return embed_audio(clip.samples, clip.sample_rate, encoder)


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    norm = np.linalg.norm(v)
    return (v / norm if norm > 0 else v).astype(np.float32)


def mean_embedding(embeddings: list[np.ndarray]) -> np.ndarray:
    """The speaker embedding of several recordings: L2-normalised mean."""
    return unit(np.mean(np.stack(embeddings), axis=0))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else 0.0
