"""Linear and log-mel spectrograms exactly as GPT-SoVITS v2 computes them.

The SoVITS style encoder reads the linear magnitude spectrogram of the reference clip and training
uses a 128-bin log-mel for its reconstruction loss. Both must match the original bit for bit (within
float tolerance), so the STFT conventions are fixed here: reflect padding of (n_fft - hop) / 2 on
each side, then `center=False`, periodic Hann window, and a small epsilon inside the square root.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["linear_spectrogram", "mel_spectrogram", "spec_to_mel", "mel_filterbank"]


def linear_spectrogram(
    wave: torch.Tensor, n_fft: int = 2048, hop: int = 640, win: int = 2048
) -> torch.Tensor:
    """Magnitude STFT: wave [B, N] (or [N]) -> [B, n_fft // 2 + 1, frames]."""
    if wave.dim() == 1:
        wave = wave.unsqueeze(0)
    pad = (n_fft - hop) // 2
    # Padding instead of center=True makes frames = (N + n_fft - hop - n_fft) // hop + 1 = N // hop.
    padded = F.pad(wave.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    window = torch.hann_window(win, dtype=wave.dtype, device=wave.device)
    stft = torch.stft(
        padded, n_fft, hop_length=hop, win_length=win, window=window,
        center=False, normalized=False, onesided=True, return_complex=True,
    )
    # 1e-8 keeps the gradient of sqrt finite at exact zeros (the original's choice).
    return torch.sqrt(stft.real.pow(2) + stft.imag.pow(2) + 1e-8)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    # Slaney's auditory-toolbox scale: linear below 1 kHz, logarithmic above.
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=8)
def _filterbank_np(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    fft_freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    # Slaney normalisation: every triangle has unit area, so bands carry equal energy.
    weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_filterbank(
    sr: int = 32000, n_fft: int = 2048, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None
) -> torch.Tensor:
    """Slaney-style triangular filters [n_mels, n_fft // 2 + 1] (what librosa builds by default)."""
    return torch.from_numpy(_filterbank_np(sr, n_fft, n_mels, float(fmin), float(fmax or sr / 2)).copy())


def spec_to_mel(
    spec: torch.Tensor, sr: int = 32000, n_fft: int = 2048, n_mels: int = 128,
    fmin: float = 0.0, fmax: float | None = None,
) -> torch.Tensor:
    """Log-mel from a linear magnitude spectrogram [B, n_fft // 2 + 1, T] -> [B, n_mels, T]."""
    basis = mel_filterbank(sr, n_fft, n_mels, fmin, fmax).to(spec.dtype).to(spec.device)
    return torch.log(torch.clamp(torch.matmul(basis, spec), min=1e-5))


def mel_spectrogram(
    wave: torch.Tensor, n_fft: int = 2048, hop: int = 640, win: int = 2048, sr: int = 32000,
    n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
) -> torch.Tensor:
    """Log-mel of a waveform [B, N] -> [B, n_mels, N // hop]."""
    return spec_to_mel(linear_spectrogram(wave, n_fft, hop, win), sr, n_fft, n_mels, fmin, fmax)
