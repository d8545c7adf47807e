"""Synthesis figures of the GPU bench (`python -m core.bench.gpu`, key `synthesis`).

The saved random full-size models (`core.bench.memory.save_models`) are loaded as the app loads a
voice (`Synthesizer(ModelPaths(...))`, the device's default fast paths), the random GPT's EOS held
off (`no_eos`) so every run decodes exactly the tokens asked for. Then, with the CUDA-graph
decode step on (`graph_on`: `StaticDecode(use_graph=True)`, what `FastPaths.cuda_graph` installs)
and off (`graph_off`: the eager loop, as `--no-cuda-graph`), each the median of `runs` after a
warm-up (which also captures the graphs):

| key | meaning |
| --- | --- |
| batch1.tokens_per_s | GPT decode rate of the standard text (250 new tokens), prefill excluded |
| batch1.prefill_ms, gpt_s | GPT prefill (text + 150 prompt tokens), and the whole GPT stage |
| batch1.e2e_s, rtf | `synthesize` of the standard text (10 s of speech): text, BERT, GPT, SoVITS |
| batch1.first_audio_s | `stream` of the standard text: time to the first audio (`first_audio_mode`: "pieces" where the pipeline streams a sentence in pieces, else "sentence": the whole first sentence) |
| batch8.tokens_per_s | GPT decode over 8 texts at once, 250 new tokens each: 8 x 250 / (stage - prefill) |
| batch8.per_row_tokens_per_s | the same divided by 8 |
| batch8.gpt_s | that whole batched GPT stage |
| batch8.rtf, total_s, audio_s, first_audio_s | `stream` of 9 sentences x `long_tokens` with batch_size 8 (the pipeline's batches: one sentence, then 8): wall / speech, and the time to the first sentence |
| peak_gpu_mb | torch.cuda.max_memory_allocated over the mode (null on the CPU) |
| notes | the graph path's notes (a failed capture falls back to eager: said here) |

Plus `load_s` (loading the files with the fast paths and warm-up), `fast_paths` (the load's
report), `config` (new_tokens, long_tokens, runs).
"""
from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = ["gpu_synthesis"]


def gpu_synthesis(models: Path, device: str = "cuda", smoke: bool = False, runs: int | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    from core.bench.machine import median, sync, timed
    from core.bench.models import LONG_TEXTS, PROMPT_TEXT, SR, STANDARD_TEXT, no_eos
    from core.bench.synthesis import _gpt_stage
    from core.engine.features import BERT_NAME, HUBERT_NAME, bert_features
    from core.runtime.cuda_decode import StaticDecode
    from core.runtime.levers import FastPaths
    from core.runtime.pipeline import ModelPaths, SynthesisOptions, Synthesizer
    from core.text.frontend import phonemize

    say = log or (lambda s: None)
    runs = runs or (1 if smoke else 3)
    new_tokens, long_tokens = (8, 6) if smoke else (250, 50)
    dev = torch.device(device)
    # On the CPU (smoke) the plain path: the CPU levers' load-time gates are not what this measures.
    fast = FastPaths.for_device(dev) if dev.type == "cuda" else FastPaths.plain()
    say("loading the models")
    synth = Synthesizer(ModelPaths(gpt=models / "gpt.ckpt", sovits=models / "sovits.pth",
                                   hubert=models / HUBERT_NAME, bert=models / BERT_NAME), device=device, fast=fast)
    synth.gpt.ar_predict_layer.register_forward_hook(no_eos)
    synth.set_reference(models / "ref.wav", PROMPT_TEXT)
    res: dict[str, Any] = {"load_s": round(synth.load_s, 3), "fast_paths": synth.fast_report.as_dict(),
                           "config": {"new_tokens": new_tokens, "long_tokens": long_tokens, "runs": runs}}
    opts = SynthesisOptions(seed=1, pause_s=0.0, max_new_tokens=new_tokens, max_sentence_chars=100)
    long_texts = LONG_TEXTS[:2] if smoke else LONG_TEXTS[:9]
    lopts = SynthesisOptions(seed=1, pause_s=0.0, max_new_tokens=long_tokens, batch_size=8, max_sentence_chars=20)
    pieces = "pieces" in inspect.signature(synth.stream).parameters

    ref = synth.reference
    text_ph = phonemize(STANDARD_TEXT)
    x1 = torch.tensor([ref.phone_ids + list(text_ph.ids)], device=dev)
    b1 = torch.cat([ref.bert, bert_features(synth.bert, text_ph).to(dev)], 1)[None].float()
    prompt = ref.prompt_tokens[None]
    rows = [phonemize(t) for t in LONG_TEXTS[:8]]
    x8 = [torch.tensor(ref.phone_ids + list(p.ids), device=dev) for p in rows]
    b8 = [torch.cat([ref.bert, bert_features(synth.bert, p).to(dev)], 1).float() for p in rows]

    notes: list[str] = []

    def first_audio() -> float:
        nonlocal pieces
        t = time.perf_counter()
        try:
            it = synth.stream(STANDARD_TEXT, opts, pieces=True) if pieces else synth.stream(STANDARD_TEXT, opts)
            next(it)
        except Exception as exc:  # noqa: BLE001 - the pieces path is new: fall back, and say so
            if not pieces:
                raise
            pieces = False
            notes.append(f"stream(pieces=True) failed ({type(exc).__name__}: {exc}); first audio is the whole sentence")
            return first_audio()
        sync(dev)
        first = time.perf_counter() - t
        it.close()
        return first

    def long_run() -> tuple[float, float, float]:
        t0 = time.perf_counter()
        first, n = None, 0
        for part in synth.stream("".join(long_texts), lopts):
            if first is None:
                sync(dev)
                first = time.perf_counter() - t0
            n += part.audio.size
        sync(dev)
        return time.perf_counter() - t0, first or 0.0, n / SR

    # The batch as `generate` pads it (right-padded, true lengths), for timing its prefill alone.
    lens8 = torch.tensor([len(x) for x in x8], device=dev)
    xs8 = torch.zeros(len(x8), int(lens8.max()), dtype=torch.long, device=dev)
    bs8 = torch.zeros(len(x8), b8[0].shape[0], int(lens8.max()), device=dev)
    for i, (x, b) in enumerate(zip(x8, b8)):
        xs8[i, :len(x)], bs8[i, :, :len(x)] = x, b

    def batch8() -> tuple[float, float]:
        def prefill():
            cache = synth.gpt.new_cache(len(x8), xs8.shape[1] + prompt.shape[1] + new_tokens)
            return synth.gpt.prefill(xs8, bs8, prompt.expand(len(x8), -1), cache, lens8)

        with synth.setup.autocast(), torch.inference_mode():
            t_pre, _ = timed(prefill, dev)
            t_all, _ = timed(lambda: synth.gpt.generate(x8, b8, prompt, top_k=15, max_new_tokens=new_tokens,
                                                        eos_disabled=True, seed=1), dev)
        return t_pre, t_all

    for mode, graph in (("graph_on", True), ("graph_off", False)):
        synth.gpt.static_decode = StaticDecode(use_graph=True) if graph else None
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        say(f"synthesis, CUDA graphs {'on' if graph else 'off'}: warm-up")
        synth.synthesize(STANDARD_TEXT, opts)       # captures the batch-1 graph
        batch8()                                     # and the batch-8 one
        long_run()
        say(f"synthesis, CUDA graphs {'on' if graph else 'off'}: measuring")
        with synth.setup.autocast():
            pre, gall = zip(*[_gpt_stage(synth, x1, b1, prompt, new_tokens, dev) for _ in range(runs)])
        e2e = [timed(lambda: synth.synthesize(STANDARD_TEXT, opts), dev) for _ in range(runs)]
        audio_s = len(e2e[0][1]) / SR
        e2e_s = median([t for t, _ in e2e])
        row1 = {"tokens_per_s": round(new_tokens / max(median(list(gall)) - median(list(pre)), 1e-9), 1),
                "prefill_ms": round(median(list(pre)) * 1e3, 2), "gpt_s": round(median(list(gall)), 4),
                "e2e_s": round(e2e_s, 4), "audio_s": round(audio_s, 3), "rtf": round(e2e_s / audio_s, 5),
                "first_audio_s": round(median([first_audio() for _ in range(runs)]), 4),
                "first_audio_mode": "pieces" if pieces else "sentence"}
        p8, g8 = zip(*[batch8() for _ in range(runs)])
        tok8 = len(x8) * new_tokens / max(median(list(g8)) - median(list(p8)), 1e-9)
        total, first, laudio = sorted(long_run() for _ in range(runs))[runs // 2]
        row8 = {"tokens_per_s": round(tok8, 1), "per_row_tokens_per_s": round(tok8 / len(x8), 1),
                "gpt_s": round(median(list(g8)), 4), "total_s": round(total, 4), "audio_s": round(laudio, 3),
                "rtf": round(total / max(laudio, 1e-9), 5), "first_audio_s": round(first, 4),
                "sentences": len(long_texts)}
        res[mode] = {"batch1": row1, "batch8": row8,
                     "peak_gpu_mb": (round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
                                     if dev.type == "cuda" else None),
                     "notes": (list(synth.gpt.static_decode.notes) if graph else []) + notes}
    return res
