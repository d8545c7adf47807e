"""Two synthetic speakers and a small speaker encoder that tells them apart (no real weights).

A different speaker is the same synthetic speech played with every frequency scaled: speech_like
made at `48 kHz * k` and played at 48 kHz has its pitch and formants (vocal tract) times 1/k,
as a shorter vocal tract and a higher voice would.

The encoder is the real SpeakerEncoder class with weights set here rather than trained: a
one-layer LSTM whose cells keep a running mean of the (compressed) mel band powers, and a
projection that centres that spectrum on the average of the two speakers and splits it into
positive and negative parts (ReLU keeps both). So its embedding is "how this voice's spectrum
differs from the average voice", which is what a trained encoder learns, in miniature.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.trust.speaker import (HOP, _one_thread, N_MELS, PARTIAL_FRAMES, EncoderConfig, SpeakerEncoder,
                                mel_frames, partial_slices, prepare)
from tests.testsignals import speech_like

# (f0 in Hz, frequency scale k): a low voice and a high, shorter-tract voice
SPEAKERS = {"low": (120.0, 1.0), "high": (240.0, 0.8)}


def voice(who: str, seconds: float, seed: int) -> np.ndarray:
    """`seconds` of `who` speaking (float32 at 48 kHz); each seed is different "words"."""
    f0, k = SPEAKERS[who]
    return speech_like(seconds, int(48000 * k), seed=seed, f0=f0 * k)[: int(seconds * 48000)]


def _hidden(encoder: SpeakerEncoder, samples: np.ndarray) -> torch.Tensor:
    wav = prepare(samples, 48000)
    slices = partial_slices(len(wav))
    wav = np.pad(wav, (0, max(0, slices[-1].stop * HOP - len(wav))))
    mels = mel_frames(wav)
    with _one_thread():
        _, (h, _) = encoder.lstm(torch.from_numpy(np.stack([mels[s] for s in slices])))
    return h[-1].mean(dim=0)


@torch.no_grad()
def spectrum_encoder(scale: float = 100.0) -> SpeakerEncoder:
    H = N_MELS
    enc = SpeakerEncoder(EncoderConfig(n_mels=N_MELS, hidden=H, layers=1, embedding=2 * H))
    state = {k: torch.zeros_like(v) for k, v in enc.state_dict().items()}
    state["lstm.weight_ih_l0"][2 * H:3 * H] = torch.eye(H) * scale       # cell input: band power
    bias = state["lstm.bias_ih_l0"]
    bias[:H] = float(np.log(1.0 / (PARTIAL_FRAMES - 1)))                  # input gate ~1/160: a mean
    bias[H:2 * H] = 12.0                                                   # forget gate open
    bias[3 * H:] = 12.0                                                    # output gate open
    centre = torch.eye(H) - 1.0 / H
    state["linear.weight"] = torch.cat([centre, -centre])
    enc.load_state_dict(state)
    enc.eval()
    average = torch.stack([_hidden(enc, voice(who, 4.0, 1000 + i))
                           for i, who in enumerate(SPEAKERS)]).mean(dim=0)
    shift = centre @ average
    enc.linear.bias.copy_(torch.cat([-shift, shift]))
    enc.source = "test spectrum encoder"
    return enc


def save_encoder(encoder: SpeakerEncoder, path: Path) -> Path:
    """As resemblyzer's file is laid out: {"model_state": ...} (plus keys we ignore)."""
    torch.save({"model_state": encoder.state_dict(), "step": 0}, path)
    return path
