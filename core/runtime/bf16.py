"""The bf16 levers of the CPU (`bf16_decoder`, `chunked_decoder`, `bf16_bert`) and their figure, SNR.

Each is lossy (except the chunked decoder in fp32), so each is measured against fp32 on the
loaded model before it is kept: the decoder's output and the BERT's features must stay >= the
gate's SNR (`core.runtime.gates.SNR_GATE_DB`); where they do not, the fp32 path is put back.
Whether the CPU has native bf16 at all is `core.runtime.gates.cpu_has_native_bf16`. The bf16 KV
cache is a GPT setting (`Text2Semantic.kv_dtype`), gated by greedy agreement in
`core.runtime.apply`.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from core.runtime.chunked_vocoder import ChunkConfig, ChunkedGenerator
from core.runtime.gates import BERT_PROBE_TEXT, SNR_GATE_DB

__all__ = ["snr_db", "decoder_snr", "use_cpu_decoder", "use_bf16_bert"]


def snr_db(test: Tensor, ref: Tensor) -> float:
    """10 log10(|ref|^2 / |test - ref|^2); inf when identical."""
    ref = ref.detach().double().flatten()
    err = (test.detach().double().flatten() - ref).pow(2).sum().item()
    sig = ref.pow(2).sum().item()
    if err == 0:
        return math.inf
    return 10 * math.log10(max(sig, 1e-30) / err)


def _generator(sovits: nn.Module) -> nn.Module:
    dec = sovits.dec
    return dec.inner if isinstance(dec, ChunkedGenerator) else dec


@torch.inference_mode()
def decoder_snr(sovits: nn.Module, candidate: nn.Module | None = None, frames: int = 150,
                seed: int = 0) -> float:
    """SNR (dB) of a decoder (default: the chunked bf16 one) against the fp32 whole-sequence
    generator, on a seeded random latent long enough to span several chunks, in the model's own
    style space (a style vector from a random spectrogram)."""
    gen = _generator(sovits)
    if candidate is None:
        candidate = ChunkedGenerator(gen, torch.bfloat16)
    g = torch.Generator().manual_seed(seed)
    p = next(gen.parameters())
    z = torch.randn(1, sovits.cfg.inter_channels, frames, generator=g).to(p.device)
    spec = torch.rand(1, sovits.cfg.spec_channels, frames, generator=g).to(p.device)
    ge = sovits.ref_style(spec)
    return snr_db(candidate(z, g=ge), gen(z, g=ge))


def use_cpu_decoder(sovits: nn.Module, bf16: bool = True, chunked: bool = True,
                    gate_db: float = SNR_GATE_DB, check: bool = True) -> tuple[bool, float | None]:
    """Wrap the generator in a `ChunkedGenerator`: chunked (exact) and/or bf16 (if its output
    reaches the gate against fp32). Returns (bf16 used, its SNR or None if not measured).
    `check=False`: bf16 without measuring (its gate passed before: the cached verdict)."""
    gen = _generator(sovits)
    if not (bf16 or chunked) or not ChunkedGenerator.supports(gen):
        return False, None
    cfg = ChunkConfig(enabled=chunked)
    snr = None
    if bf16:
        candidate = ChunkedGenerator(gen, torch.bfloat16, cfg)
        snr = decoder_snr(sovits, candidate) if check else None
        if not check or snr >= gate_db:
            sovits.dec = candidate
            return True, snr
    sovits.dec = ChunkedGenerator(gen, None, cfg) if chunked else gen
    return False, snr


@torch.inference_mode()
def use_bf16_bert(bert: Any, gate_db: float = SNR_GATE_DB, text: str = BERT_PROBE_TEXT,
                  check: bool = True) -> tuple[bool, float | None]:
    """Convert the BERT's weights to bf16 in place if its features on `text` stay >= `gate_db`
    SNR against fp32; otherwise the fp32 weights are put back. Returns (used, snr).
    `check=False`: convert without measuring (the gate passed before: the cached verdict; snr None).

    One parameter at a time, and the fp32 originals are only referenced (memory-mapped from the
    file where transformers loaded them so), so the conversion adds the bf16 half, not a copy.
    """
    from core.engine.features import char_features

    model = bert.model
    if next(model.parameters()).dtype == torch.bfloat16:
        return True, math.inf
    if not check:
        for p in model.parameters():
            if p.dtype == torch.float32:
                p.data = p.data.to(torch.bfloat16)
        return True, None
    ref = char_features(bert, text)
    originals = []
    for p in model.parameters():
        if p.dtype == torch.float32:
            originals.append((p, p.data))
            p.data = p.data.to(torch.bfloat16)
    snr = snr_db(char_features(bert, text), ref)
    if snr < gate_db:
        for p, data in originals:
            p.data = data
        return False, snr
    return True, snr
