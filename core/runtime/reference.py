"""The prepared reference: what synthesis imitates, computed once per recording and text.

  wav @16 kHz + 0.6 s zeros -> HuBERT -> SoVITS.extract_latent -> prompt tokens (25 Hz)
  wav @32 kHz (peak > 1 divided by min(2, peak)) -> linear spectrogram (the style reference)
  reference text + final 。/. -> phones + BERT features

A recording shorter than 3 s is refused and one longer than 10 s cut at a pause (the original
refuses both); a cut recording is used without its transcript. `Synthesizer.set_reference`
caches the result per file, modification time and text.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.audio.io import AudioFileError, read_audio, resample
from core.engine.features import SynthesisError, bert_features, hubert_features
from core.engine.sovits import SoVITS
from core.engine.spectrogram import linear_spectrogram
from core.runtime.device import DeviceSetup
from core.text import TextError

__all__ = ["Reference", "prepare_reference", "pause_cut", "REF_MIN_S", "REF_MAX_S"]

REF_MIN_S, REF_MAX_S = 3.0, 10.0   # the original refuses references outside 3-10 s
REF_PAD_S = 0.6                    # int(0.3 * 32000) zeros appended at 16 kHz (a quirk: 0.6 s)
SSL_RATE = 16000                   # HuBERT's input rate
SILENT_PEAK = 1e-3                 # about -60 dBFS: nothing was recorded
END_MARKS = set("，。？！,.?!~:：—…")  # the original's "splits": a text ending in one is terminated


@dataclass
class Reference:
    path: Path
    duration_s: float            # of the file
    used_s: float                # after trimming
    trimmed: bool
    text: str | None             # the prompt text as fed (final mark added); None = reference-free
    phone_ids: list[int]         # of the prompt text ([] without text)
    bert: Tensor                 # [1024, len(phone_ids)] on the device
    prompt_tokens: Tensor | None # [T25] on the device; None in reference-free mode
    spec: Tensor                 # [1, 1025, frames] at 32 kHz on the device
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def info(self, cached: bool = False) -> dict:
        return {
            "path": str(self.path),
            "duration_s": round(self.duration_s, 3),
            "used_s": round(self.used_s, 3),
            "trimmed": self.trimmed,
            "mode": "text" if self.text is not None else "reference-free",
            "text": self.text,
            "prompt_tokens": 0 if self.prompt_tokens is None else int(self.prompt_tokens.numel()),
            "notes": list(self.notes),
            "timings": dict(self.timings),
            "cached": cached,
        }


def pause_cut(wav16k: np.ndarray, lo_s: float = REF_MIN_S, hi_s: float = REF_MAX_S) -> int:
    """Sample index (16 kHz) of the quietest moment between lo_s and hi_s: where to cut a long
    reference. Energy in 20 ms frames, smoothed over 100 ms so that a pause wins over a single
    quiet frame inside a word; among equally quiet frames the latest wins (a longer reference)."""
    hop = SSL_RATE // 50
    n = len(wav16k) // hop
    energy = np.square(wav16k[: n * hop].reshape(n, hop).astype(np.float64)).mean(1)
    smooth = np.convolve(energy, np.ones(5) / 5, mode="same")
    first, last = int(lo_s * 50), min(int(hi_s * 50), n) - 1
    window = smooth[first:last + 1]
    best = first + (len(window) - 1 - int(np.argmin(window[::-1])))
    return best * hop + hop // 2


def _has_han(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)


def prepare_reference(path: Path, text: str | None, *, setup: DeviceSetup, sovits: SoVITS,
                      hubert: torch.nn.Module, bert_model: Any, sample_rate: int) -> Reference:
    """Read and check the recording, then compute everything synthesis needs from it on
    `setup`'s device; every problem a user can cause is a SynthesisError."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    try:
        clip = read_audio(path)
    except AudioFileError as exc:
        raise SynthesisError(f"The reference recording cannot be used: {exc}") from None
    wav16 = resample(clip.samples, clip.sample_rate, SSL_RATE)
    duration = len(wav16) / SSL_RATE
    if duration < REF_MIN_S:
        raise SynthesisError(
            f"The reference recording is {duration:.1f} s long; choose one of "
            f"{REF_MIN_S:.0f} to {REF_MAX_S:.0f} seconds.")
    notes: list[str] = []
    trimmed = duration > REF_MAX_S
    cut_s = duration
    if trimmed:  # cut at a pause rather than refuse (the original refuses)
        cut = pause_cut(wav16)
        wav16, cut_s = wav16[:cut], cut / SSL_RATE
        notes.append(f"The reference recording is {duration:.1f} s long; its first "
                     f"{cut_s:.1f} s (up to a pause) are used.")
    peak = float(np.abs(wav16).max()) if wav16.size else 0.0
    if peak < SILENT_PEAK:
        where = f"its first {cut_s:.1f} s are" if trimmed else "it is"
        raise SynthesisError(f"The reference recording is silent ({where} silence); choose a "
                             "recording of the voice speaking for 3 to 10 seconds.")
    if trimmed and text is not None:
        # The transcript covers the whole file; a prompt text that the prompt audio does not
        # say misleads the GPT, so the cut reference is used without it.
        notes.append("Its transcript no longer matches the shortened recording, so the "
                     "reference is used without text (reference-free mode). Choose a "
                     "recording of 3 to 10 s to use a transcript.")
        text = None
    sr = sample_rate
    wav32 = resample(clip.samples, clip.sample_rate, sr)[: int(round(cut_s * sr))]
    timings["load_audio"] = time.perf_counter() - t

    # Prompt text -> phones + BERT features.
    t = time.perf_counter()
    phone_ids: list[int] = []
    bert = torch.zeros(1024, 0, device=setup.device)
    if text is not None:
        if text[-1] not in END_MARKS:
            text += "。" if _has_han(text) else "."
        try:
            from core.text.frontend import phonemize

            ph = phonemize(text)
        except TextError as exc:
            raise SynthesisError(f"The reference text cannot be used: {exc}") from None
        phone_ids = list(ph.ids)
        with setup.autocast():
            bert = bert_features(bert_model, ph).float()
        notes.extend(f"Reference text: {n}" for n in ph.notes)
    timings["text"] = time.perf_counter() - t

    # Prompt tokens: HuBERT on the raw 16 kHz audio + 0.6 s of zeros, then the codebook.
    t = time.perf_counter()
    prompt = None
    if text is not None:  # reference-free mode needs no prompt (the original skips it)
        padded = np.concatenate([wav16, np.zeros(int(REF_PAD_S * SSL_RATE), np.float32)])
        with torch.inference_mode(), setup.autocast():
            ssl = hubert_features(hubert, torch.from_numpy(padded))
        with torch.inference_mode():
            prompt = sovits.extract_latent(ssl.float())[0, 0].clone()
    timings["hubert"] = time.perf_counter() - t

    # Style reference: linear spectrogram at 32 kHz, loud files scaled down first.
    t = time.perf_counter()
    peak32 = float(np.abs(wav32).max())
    if peak32 > 1:
        wav32 = wav32 / min(2.0, peak32)
    cfg = sovits.cfg
    with torch.inference_mode():
        spec = linear_spectrogram(torch.from_numpy(np.ascontiguousarray(wav32)).to(setup.device),
                                  cfg.filter_length, cfg.hop_length, cfg.win_length).clone()
    timings["spec"] = time.perf_counter() - t
    return Reference(path, duration, cut_s, trimmed, text, phone_ids, bert, prompt, spec,
                     notes, timings)
