"""`voicebank bench`: synthesis and fine-tuning speed with full-size v2 models (random weights).

Models and workload: `core.bench.models`; training figures: `core.bench.training`; the command
line: `core.bench.cli` (`python -m core.bench`).

Nothing is downloaded: the GPT (77.6 M parameters), the SoVITS generator (v2 `s2.json` sizes),
HuBERT-base (`HubertConfig()`) and a BERT-large shaped chinese-roberta (24 x 1024, vocabulary
21128) are built from their configurations with seeded random weights, so every stage costs what
it costs with the real files. The random GPT's EOS logit is pushed down (a hook on the head sets it to -1e4) so that
it never stops early: the workload has exactly the tokens it asks for.

The standard workload (batch 1): a 59-phone Chinese sentence after a reference whose 5.4 s of
audio (+0.6 s of padding, as the original) give 150 prompt tokens and a 16-phone prompt text;
250 new tokens = 10 s of speech. The long workload: 20 sentences in batches of 8 (the first
batch holds one sentence, as `Synthesizer` does), `long_tokens` tokens each.

Every figure is the median of `--runs` runs after one warm-up run (the warm-up is also reported:
`first_synthesis_s`, the first synthesis after the models were loaded, with the pipeline's load
time warm-up already done). `--quick` uses reduced-size models and tiny workloads (CI: < 60 s).

JSON keys (`--json`; seconds unless the name says otherwise):

| key | meaning |
| --- | --- |
| machine.cpu / cores / threads / torch / device / gpu | where it ran (threads: torch's default intra-op threads) |
| machine.native_bf16 | the CPU has AVX512-BF16/AMX (CPU bf16 fast path possible; false under an ISA cap such as ATEN_CPU_CAPABILITY=avx2) |
| machine.isa | `CpuInfo.summary()`: CPU model, torch's SIMD level, the ISA flags that matter, the int8 kernel's accumulation, ISA caps forced in the environment |
| machine.int8_accumulation | measured: "int32" (VNNI/AMX) or "int16 (saturating)" (AVX2 kernels: `int8_kernel_saturates`) |
| machine.int8_reduce_range | Int8Linear's 7-bit inputs are on (where the kernel saturates, or forced by `--int8-reduce-range`) |
| machine.load_before / load_after | 1-min load average before and after (other work on the box) |
| config.quick, runs, models ("full"/"reduced"), seed | the run's settings |
| config.text_phones, prompt_phones, prompt_tokens, new_tokens | the standard workload's sizes |
| fast_paths | what the pipeline switched on (`FastPathReport`: int8_gpt, lean_int8, fused_decode, scripted_decode, fold_weight_norm, chunked_decoder, bf16_decoder, bf16_snr_db, bf16_kv_cache, cuda_graph, bf16_bert, bf16_bert_snr_db, threads, overlap, warmup_s, notes, gates, gate_s, gate_cache, cpu) |
| fast_paths.gates | the load-time gates (`core.runtime.gates`): lever -> {metric, value, threshold, passed, seconds, steps, basis}; a lever that failed is off |
| fast_paths.gate_s / gate_cache / cpu | seconds the gates took at load (always measured here: models in memory, gate_cache "off"), and the CPU they ran on |
| load_s | building the pipeline from in-memory models: fast-path conversion + load-time gates + warm-up |
| reference_s | preparing the reference once (HuBERT + BERT + spectrogram; then cached per voice) |
| gpt_prefill_ms | GPT prefill of text + prompt (one pass) |
| gpt_tokens_per_s | GPT decode rate, prefill excluded |
| gpt_s | GPT stage for the 250 tokens, prefill included |
| sovits_s, sovits_rtf | SoVITS decode of the 250 tokens, and divided by the audio's duration |
| sovits_new_length_s | SoVITS decode at lengths not seen before in the process (as real sentences are), scaled to 250 tokens |
| e2e_s, e2e_rtf | `Synthesizer.synthesize` (text front end + BERT + GPT + SoVITS), reference cached |
| audio_s | duration of the standard workload's audio (10 s) |
| first_synthesis_s, first_to_warm | the first synthesis after load, and its ratio to e2e_s (target <= 2) |
| stream_first_audio_s | `stream()` of the standard text: time to the first audio (one sentence: the whole sentence) |
| pieces_first_audio_s | `stream(pieces=True)` (what the Speak page runs): time to the first piece of the 10 s sentence |
| pieces_total_s | the same, time to the last piece (the pieces' extra decoding included) |
| pieces_snr_db | the pieces joined against the whole-sentence audio, same tokens, noise off: SNR in dB |
| stage_s | e2e's own breakdown (text, bert, gpt, sovits), median run |
| peak_rss_mb | peak resident memory of the process while synthesising (all four models loaded; the counter is reset after building them where Linux allows: see peak_rss_reset) |
| peak_rss_reset | true if peak_rss_mb covers synthesis only (else: the whole process, model building included) |
| build_peak_rss_mb | peak resident memory while building the random models and the int8 gate's copies |
| peak_gpu_mb | torch.cuda.max_memory_allocated (CUDA only, else null) |
| long.sentences, tokens_per_sentence, batch_size | the long workload |
| long.audio_s, total_s, rtf, first_audio_s | its speech duration, wall time, RTF, time to first streamed audio |
| long.overlap | whether the pipeline's default overlaps GPT(n+1) with SoVITS(n) here (total_s is in that mode) |
| long.sequential_total_s / overlapped_total_s | total_s with overlap off / on (both always measured) |
| gates.int8_agreement | share of the first 100 greedy steps (`GATE_STEPS`, as the load-time gate) where the pipeline's fast GPT (int8, bf16 KV cache, as switched on AFTER the load-time gates: a refused lever is not in it, see fast_paths.gates for each lever's own figure) fed by its fast BERT (bf16) picks the token of the fp32 GPT fed by the fp32 BERT (gate >= 0.95; null if all are off) |
| gates.int8_free_running_prefix | leading greedy tokens identical when both run free |
| gates.bf16_snr_db | bf16 decoder (chunked, as the pipeline runs it) vs the fp32 whole-sequence generator: output SNR on the loaded model (gate >= 30 dB; null if not tried) |
| train.sovits / train.gpt | {batch, frames or tokens, fp32: {steps_per_s, peak_mb}, amp: {...} or null (CUDA only)} |

Training figures are one optimiser step of the generator (SoVITS: reconstruction + KL-like +
commitment terms, no discriminator) or of the GPT (`forward_train`'s summed cross-entropy) with
AdamW at a fixed batch; they measure the models' forward/backward cost, not `core.train`'s loop.

CUDA: everything runs with `--device cuda` (timings synchronise the GPU); the GPT decodes over a
static KV cache with a CUDA-graph-captured step (`core.runtime.cuda_decode`, `FastPaths.cuda_graph`;
`--no-cuda-graph` for the eager loop). That path was written without a GPU: its figures are
whatever this command measures on one (none recorded yet).

`--memory` (`core/bench/memory.py`) measures peak RAM instead, loading saved models in a
fresh process as the app does.
"""
from __future__ import annotations

import copy
import math
import gc
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from core.bench.machine import cpu_name, load_average, median, peak_rss_mb, reset_peak_rss, sync, timed
from core.bench.models import (
    LONG_TEXTS, PROMPT_TEXT, REF_SECONDS, SR, STANDARD_TEXT, build_models, reference_wav,
)
from core.bench.training import train_figures

__all__ = ["run_bench", "format_result", "JSON_KEYS"]


# Every key of the JSON result (dotted for nested ones); the docstring's table documents each.
JSON_KEYS = (
    "machine.cpu", "machine.cores", "machine.threads", "machine.torch", "machine.device", "machine.gpu",
    "machine.native_bf16", "machine.isa", "machine.int8_accumulation", "machine.int8_reduce_range",
    "machine.load_before", "machine.load_after",
    "config.quick", "config.runs", "config.models", "config.seed", "config.text_phones",
    "config.prompt_phones", "config.prompt_tokens", "config.new_tokens",
    "fast_paths.int8_gpt", "fast_paths.lean_int8", "fast_paths.fused_decode", "fast_paths.scripted_decode",
    "fast_paths.fold_weight_norm", "fast_paths.chunked_decoder", "fast_paths.bf16_decoder",
    "fast_paths.bf16_snr_db", "fast_paths.bf16_kv_cache", "fast_paths.cuda_graph",
    "fast_paths.bf16_bert", "fast_paths.bf16_bert_snr_db", "fast_paths.threads", "fast_paths.overlap", "fast_paths.warmup_s",
    "fast_paths.notes", "fast_paths.gates", "fast_paths.gate_s", "fast_paths.gate_cache", "fast_paths.cpu",
    "load_s", "reference_s", "gpt_prefill_ms", "gpt_tokens_per_s", "gpt_s",
    "sovits_s", "sovits_rtf", "sovits_new_length_s", "e2e_s", "e2e_rtf", "audio_s", "first_synthesis_s", "first_to_warm",
    "stream_first_audio_s", "pieces_first_audio_s", "pieces_total_s", "pieces_snr_db", "stage_s", "peak_rss_mb", "peak_rss_reset", "build_peak_rss_mb", "peak_gpu_mb",
    "long.sentences", "long.tokens_per_sentence", "long.batch_size", "long.audio_s", "long.total_s",
    "long.rtf", "long.first_audio_s", "long.overlap", "long.sequential_total_s", "long.overlapped_total_s",
    "gates.int8_agreement", "gates.int8_free_running_prefix", "gates.bf16_snr_db",
    "train.sovits", "train.gpt",
)
NEW_TOKENS = 250    # 10 s of speech


@torch.inference_mode()
def _gpt_stage(synth, x, bert, prompt, new_tokens: int, device) -> tuple[float, float]:
    """(prefill s, whole GPT stage s) for one text, top-k 15 sampling, fixed seed."""
    gpt = synth.gpt

    def prefill():
        cache = gpt.new_cache(1, x.shape[1] + prompt.shape[1] + new_tokens)
        return gpt.prefill(x, bert, prompt, cache)

    t_pre, _ = timed(prefill, device)
    t_all, _ = timed(lambda: gpt.generate(x, bert, prompt, top_k=15, max_new_tokens=new_tokens,
                                           eos_disabled=True, seed=1), device)
    return t_pre, t_all


def _pieces_figures(synth, opts, runs: int, dev) -> dict:
    """The Speak page's path: the sentence in pieces while its GPT runs (core.runtime.sentence_stream)."""
    from dataclasses import replace

    firsts, totals = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        arrivals = []
        for _part in synth.stream(STANDARD_TEXT, opts, pieces=True):
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            arrivals.append(time.perf_counter() - t0)
        firsts.append(arrivals[0])
        totals.append(arrivals[-1])
    quiet = replace(opts, noise_scale=0.0)
    whole = synth.synthesize(STANDARD_TEXT, quiet)
    pieces = np.concatenate([p.audio for p in synth.stream(STANDARD_TEXT, quiet, pieces=True)])
    n = min(len(whole), len(pieces))
    err = float(np.sum((whole[:n] - pieces[:n]) ** 2))
    snr = 10 * math.log10(float(np.sum(whole[:n] ** 2)) / err) if err > 0 else math.inf
    return {"pieces_first_audio_s": round(median(firsts), 3), "pieces_total_s": round(median(totals), 3),
            "pieces_snr_db": round(snr, 1) if math.isfinite(snr) else None}


def run_bench(device: str = "cpu", quick: bool = False, runs: int | None = None, train: bool = True,
              fast=None, seed: int = 0, log: Callable[[str], None] | None = None) -> dict:
    """Run the whole benchmark; returns the JSON-able result (see the module docstring)."""
    from core.engine.features import bert_features, trim_bert
    from core.runtime.agreement import greedy_agreement
    from core.runtime.device import pick_device
    from core.runtime.gates import GATE_STEPS, cpu_has_native_bf16, cpu_info
    from core.runtime.levers import FastPaths
    from core.runtime.pipeline import SynthesisOptions, Synthesizer
    from core.text.frontend import phonemize

    t_start = time.perf_counter()
    say = (lambda s: log(f"{time.perf_counter() - t_start:6.1f} s  {s}")) if log else (lambda s: None)
    setup = pick_device(device)
    dev = setup.device
    runs = runs or (1 if quick else 3)
    new_tokens = 12 if quick else NEW_TOKENS
    long_tokens = 6 if quick else 50
    long_texts = LONG_TEXTS[:4] if quick else LONG_TEXTS
    res: dict[str, Any] = {
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
                    "torch": torch.__version__, "device": str(dev),
                    "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
                    "native_bf16": cpu_has_native_bf16(), "isa": cpu_info().summary(),
                    "int8_accumulation": cpu_info().int8_accumulation,
                    "int8_reduce_range": cpu_info().int8_reduce_range, "load_before": load_average()},
        "config": {"quick": quick, "runs": runs, "models": "reduced" if quick else "full", "seed": seed},
    }
    with tempfile.TemporaryDirectory(prefix="voicebank-bench-") as tmp:
        work = Path(tmp)
        say("building models")
        gpt, sovits, hubert, bert = build_models(work, quick, seed)
        bert = trim_bert(bert)  # as `load_bert` gives it
        fast = fast if fast is not None else FastPaths.for_device(dev)

        gates: dict[str, Any] = {"int8_agreement": None, "int8_free_running_prefix": None,
                                 "bf16_snr_db": None}
        gate = (fast.int8_gpt or fast.bf16_kv_cache or fast.bf16_bert) and dev.type == "cpu"
        if gate:  # the fp32 GPT and BERT features, before the pipeline converts them in place
            ph = phonemize(PROMPT_TEXT + STANDARD_TEXT)
            gx = torch.tensor([ph.ids])
            gb = bert_features(bert, ph)[None]
            gp = torch.randint(0, 1024, (1, 150), generator=torch.Generator().manual_seed(seed))
            gpt_fp32 = copy.deepcopy(gpt)

        say("loading the pipeline")
        synth = Synthesizer.from_models(gpt, sovits, hubert, bert, device=str(dev), fast=fast)
        res["fast_paths"] = synth.fast_report.as_dict()
        res["load_s"] = round(synth.load_s, 3)
        gates["bf16_snr_db"] = synth.fast_report.bf16_snr_db
        if gate:
            say("fast GPT + BERT gate (greedy agreement with fp32)")
            agree = greedy_agreement(gpt_fp32, synth.gpt, gx, gb, gp, steps=GATE_STEPS,
                                     candidate_bert=bert_features(synth.bert, ph)[None])
            del gpt_fp32
            gates["int8_agreement"] = round(agree["agreement"], 3)
            gates["int8_free_running_prefix"] = agree["free_running_prefix"]
        res["gates"] = gates

        ref = reference_wav(work / "ref.wav", REF_SECONDS, seed)
        t_ref, info = timed(lambda: synth.set_reference(ref, PROMPT_TEXT), dev)
        res["reference_s"] = round(t_ref, 3)
        text_ph = phonemize(STANDARD_TEXT)
        res["config"].update(text_phones=len(text_ph.ids), prompt_phones=len(synth.reference.phone_ids),
                             prompt_tokens=info["prompt_tokens"], new_tokens=new_tokens)

        opts = SynthesisOptions(seed=1, pause_s=0.0, max_new_tokens=new_tokens, max_sentence_chars=100)
        gc.collect()
        res["build_peak_rss_mb"] = peak_rss_mb()
        res["peak_rss_reset"] = reset_peak_rss()  # from here: models resident + synthesis
        say("first synthesis")
        t_first, audio = timed(lambda: synth.synthesize(STANDARD_TEXT, opts), dev)
        audio_s = len(audio) / SR
        e2e, stages = [], []
        for _ in range(runs):
            t, audio = timed(lambda: synth.synthesize(STANDARD_TEXT, opts), dev)
            e2e.append(t)
            stages.append(dict(synth.timings))
        e2e_s = median(e2e)
        mid = stages[e2e.index(sorted(e2e)[len(e2e) // 2])]
        res.update(audio_s=round(audio_s, 3), e2e_s=round(e2e_s, 3), e2e_rtf=round(e2e_s / audio_s, 4),
                   first_synthesis_s=round(t_first, 3), first_to_warm=round(t_first / e2e_s, 2),
                   stage_s={k: round(v, 3) for k, v in mid.items() if k != "tokens"})

        say("stream")
        def first_audio():
            it = synth.stream(STANDARD_TEXT, opts)
            next(it)
            it.close()
        res["stream_first_audio_s"] = round(median([timed(first_audio, dev)[0] for _ in range(runs)]), 3)
        res.update(_pieces_figures(synth, opts, runs, dev))

        say("stages")
        r = synth.reference
        x = torch.tensor([r.phone_ids + list(text_ph.ids)], device=dev)
        b = torch.cat([r.bert, bert_features(synth.bert, text_ph).to(dev)], 1)[None]
        prompt = r.prompt_tokens[None]
        pre, gall = zip(*[_gpt_stage(synth, x, b, prompt, new_tokens, dev) for _ in range(runs)])
        res["gpt_prefill_ms"] = round(median(list(pre)) * 1e3, 1)
        res["gpt_s"] = round(median(list(gall)), 3)
        res["gpt_tokens_per_s"] = round(new_tokens / max(median(list(gall)) - median(list(pre)), 1e-9), 1)
        codes = torch.randint(0, 1024, (1, 1, new_tokens), generator=torch.Generator().manual_seed(seed)).to(dev)
        phones = torch.tensor([list(text_ph.ids)], device=dev)
        sov = [timed(lambda: synth.sovits.decode(codes, phones, [r.spec], noise_scale=0.5,
                                                  generator=torch.Generator(device=dev).manual_seed(1)), dev)[0]
               for _ in range(runs)]
        res["sovits_s"] = round(median(sov), 3)
        res["sovits_rtf"] = round(median(sov) / (new_tokens / 25), 4)
        # Real sentences all have lengths the decoder has not seen: kernels that set up per shape
        # (oneDNN) pay again each time, which the repeated length above never shows.
        fresh = []
        for k in range(runs):
            n = new_tokens + 7 * (k + 1)          # each a length not decoded before in this process
            ck = torch.randint(0, 1024, (1, 1, n), generator=torch.Generator().manual_seed(seed + k)).to(dev)
            t = timed(lambda: synth.sovits.decode(ck, phones, [r.spec], noise_scale=0.5,
                                                   generator=torch.Generator(device=dev).manual_seed(1)), dev)[0]
            fresh.append(t * new_tokens / n)      # scaled to the standard 250 tokens
        res["sovits_new_length_s"] = round(median(fresh), 3)

        say("long text")
        long_text = "".join(long_texts)
        lopts = SynthesisOptions(seed=1, pause_s=0.0, max_new_tokens=long_tokens, batch_size=8,
                                 max_sentence_chars=20)

        def long_run():
            t0 = time.perf_counter()
            first, n = None, 0
            for part in synth.stream(long_text, lopts):
                if first is None:
                    sync(dev)
                    first = time.perf_counter() - t0
                n += part.audio.size
            sync(dev)
            return time.perf_counter() - t0, first, n / SR

        n_long = 1 if quick else max(1, runs - 1)
        own = synth.fast.overlap
        modes = {}
        for overlap in (own, not own):  # the configured mode first, then the other one
            synth.fast.overlap = overlap
            modes[overlap] = sorted(long_run() for _ in range(n_long))[n_long // 2]
        synth.fast.overlap = own
        total, first, laudio = modes[own]
        res["long"] = {"sentences": len(long_texts), "tokens_per_sentence": long_tokens, "batch_size": 8,
                       "audio_s": round(laudio, 3), "total_s": round(total, 3),
                       "rtf": round(total / laudio, 4), "first_audio_s": round(first, 3),
                       "overlap": own, "sequential_total_s": round(modes[False][0], 3),
                       "overlapped_total_s": round(modes[True][0], 3)}
        res["peak_rss_mb"] = peak_rss_mb()
        res["peak_gpu_mb"] = (round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
                              if dev.type == "cuda" else None)
        synth = gpt = sovits = hubert = bert = None  # free the models before training

    if train:
        say("training")
        res["train"] = train_figures(dev, quick, steps=1 if quick else 3)
    else:
        res["train"] = None
    res["machine"]["load_after"] = load_average()
    return res


def format_result(r: dict) -> str:
    c, f = r["config"], r["fast_paths"]
    on = [k for k in ("int8_gpt", "lean_int8", "fused_decode", "scripted_decode", "bf16_kv_cache",
                      "cuda_graph", "bf16_bert", "fold_weight_norm", "chunked_decoder", "bf16_decoder",
                      "overlap")
          if f.get(k)]
    lines = [
        f"voicebank bench on {r['machine']['device']} ({r['machine']['cpu']}, {r['machine']['cores']} cores, "
        f"torch {r['machine']['torch']}; load {r['machine']['load_before']} -> {r['machine']['load_after']})",
        f"models: {c['models']}; fast paths: {', '.join(on) or 'none'}; threads {f['threads']}; "
        f"warm-up at load {f['warmup_s']} s",
        f"workload: {c['text_phones']} phones, {c['prompt_tokens']} prompt tokens, {c['new_tokens']} new tokens "
        f"({r['audio_s']} s of speech), medians of {c['runs']}",
        f"  GPT       prefill {r['gpt_prefill_ms']} ms, {r['gpt_tokens_per_s']} tokens/s, stage {r['gpt_s']} s",
        f"  SoVITS    {r['sovits_s']} s, RTF {r['sovits_rtf']}; at new lengths {r['sovits_new_length_s']} s",
        f"  end to end {r['e2e_s']} s, RTF {r['e2e_rtf']} (stages {r['stage_s']})",
        f"  first synthesis {r['first_synthesis_s']} s = {r['first_to_warm']}x warm; stream first audio "
        f"{r['stream_first_audio_s']} s; reference (once per voice) {r['reference_s']} s",
        f"  in pieces (the Speak page): first audio {r['pieces_first_audio_s']} s, last piece "
        f"{r['pieces_total_s']} s, {r['pieces_snr_db']} dB SNR against the whole sentence",
        f"  peak RSS {r['peak_rss_mb']} MB" + (f", GPU {r['peak_gpu_mb']} MB" if r['peak_gpu_mb'] else ""),
        f"  gates: int8 agreement {r['gates']['int8_agreement']}, bf16 SNR {r['gates']['bf16_snr_db']} dB",
        f"  load-time gates ({f.get('gate_s')} s): " + "; ".join(
            f"{k} {g['value']}{'' if g['passed'] else ' REFUSED'}" for k, g in (f.get("gates") or {}).items()),
        f"  CPU: {r['machine']['isa']}",
    ]
    lg = r["long"]
    lines.append(f"long text: {lg['sentences']} sentences x {lg['tokens_per_sentence']} tokens, batch "
                 f"{lg['batch_size']}: {lg['total_s']} s for {lg['audio_s']} s (RTF {lg['rtf']}), first "
                 f"audio {lg['first_audio_s']} s; sequential {lg['sequential_total_s']} s, overlapped "
                 f"{lg['overlapped_total_s']} s")
    if r.get("train"):
        for name, t in r["train"].items():
            amp = f"; amp {t['amp']}" if t.get("amp") else ""
            lines.append(f"train {name}: batch {t['batch']}: fp32 {t['fp32']['steps_per_s']} steps/s, "
                         f"peak {t['fp32']['peak_mb']} MB{amp}")
    return "\n".join(lines)
