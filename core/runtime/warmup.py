"""The `warmup` lever: one short synthesis pass at load, so the first real one costs what a warm one does."""
from __future__ import annotations

import time
from typing import Any

import torch

__all__ = ["warmup"]


@torch.inference_mode()
def warmup(synth: Any, phones: int = 40, prompt_tokens: int = 100, new_tokens: int = 24) -> float:
    """One short GPT + SoVITS pass on dummy inputs (no reference needed); returns seconds.

    Touches every kernel a real synthesis uses (prefill, decode steps, every decoder conv) so
    the first real synthesis does not pay for oneDNN primitive creation and first allocations.
    """
    t = time.perf_counter()
    dev = synth.device
    gpt, sovits = synth.gpt, synth.sovits
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, gpt.cfg.phoneme_vocab_size, (1, phones), generator=g).to(dev)
    bert = torch.zeros(1, gpt.cfg.bert_dim, phones, device=dev)
    prompt = torch.randint(0, gpt.cfg.eos, (1, prompt_tokens), generator=g).to(dev)
    with synth.setup.autocast():
        tokens = gpt.generate(x, bert, prompt, top_k=15, max_new_tokens=new_tokens,
                              eos_disabled=True, generator=torch.Generator(device=dev).manual_seed(0))[0]
    spec = torch.rand(1, sovits.cfg.spec_channels, 200, generator=g).to(dev)
    sovits.decode(tokens.reshape(1, 1, -1), x, [spec], noise_scale=0.5,
                  generator=torch.Generator(device=dev).manual_seed(0))
    return time.perf_counter() - t
