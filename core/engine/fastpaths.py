"""CPU fast paths for synthesis, each one switchable and each one checked against the plain path.

The plain path (fp32, the reference numerics) stays the definition of "correct"; a fast path
is only used where it is known to give the same output within its gate:

| lever | what it does | gate (checked where) |
| --- | --- | --- |
| `fold_weight_norm` | bakes SoVITS's weight_g/weight_v into plain weights at load | == plain within 1e-5 (tests) |
| `int8_gpt` | the GPT's 24 x 4 transformer linears as per-channel int8 weights, dynamically quantised activations (fbgemm/oneDNN kernels) | >= 95 % same greedy tokens over 50 steps (tests, `voicebank bench`) |
| `lean_int8` | int8 decode steps (<= 8 rows) write the scaled input into a preallocated buffer whose probe columns are filled once: ~6 ops per linear instead of ~10 (the fused step below always calls its linears this way) | bit-identical to `int8_gpt` alone (tests) |
| `fused_decode` | int8 decode steps run the 24 layers as one plain loop (`core.engine.decode_step.FusedDecode`) instead of ~190 module calls | bit-identical to `int8_gpt` alone (tests) |
| `scripted_decode` | the same fused decode step compiled by TorchScript (`ScriptedDecode`): the ~1000 small ops of a step run from C++ instead of Python (8.5 -> 4.6 ms a step on 2 vCPU); falls back to `fused_decode` if scripting fails | bit-identical to `fused_decode` (tests) |
| `bf16_kv_cache` | the GPT's key/value cache (and so decode attention) in bf16: half the bytes read per decode step; only on CPUs with native bf16; on by default, at the cost of EXACT batch invariance (a batched row can differ from the text alone on a near-tied token; `--no-bf16-kv-cache` restores it) | >= 95 % same greedy tokens over 50 steps, with int8 (tests, `voicebank bench`) |
| `chunked_decoder` | the HiFi-GAN generator runs over overlapping chunks of two fixed sizes (`core.engine.chunked_vocoder`): oneDNN never sets up a new shape for a new sentence length, and small chunks stay in cache | == plain within float rounding in fp32 (tests: the context covers the receptive field) |
| `bf16_decoder` | the generator under bf16 autocast (with `chunked_decoder`, every stage; without it, whole-sequence bf16, which pays ~1 s of oneDNN set-up per new length: the bench's A/B only) | only on CPUs with native bf16 (AVX512-BF16 / AMX) and only if its output is >= 30 dB SNR against the fp32 whole-sequence generator on the loaded model (checked at load, every time) |
| `cuda_graph` | CUDA only: the GPT decodes over a static KV cache with its decode step captured as a CUDA graph (`core.engine.cuda_decode`); falls back to the eager step if capture fails. UNMEASURED (no GPU when written) | same greedy tokens as the eager path (tests, CPU without a graph) |
| `bf16_bert` | BERT-large's weights in bf16 (1.3 GB -> 0.65 GB, and about 2.5x faster), only on CPUs with native bf16 | its features >= 30 dB SNR against fp32 on the loaded model (checked at load, every time; fp32 kept otherwise) and >= 95 % same greedy GPT tokens (`voicebank bench`) |
| `threads` | torch intra-op threads for synthesis (None: leave torch's default, all cores) | - |
| `overlap` | in `stream()`/`synthesize()`, the GPT of batch n+1 runs in a worker thread while batch n is vocoded (default only with >= 4 cores) | same audio as sequential (tests) |
| `warmup` | one short synthesis pass at load (oneDNN primitives, allocator) | first synthesis <= 2x a warm one (bench) |

The GPT head (`ar_predict_layer`) and `bert_proj` stay fp32: the head decides the token, is 2 %
of the weights, and `Text2Semantic` reads its dtype/device. The int8 model is an inference-only
copy (or an in-place conversion of the pipeline's own model); training code never sees it.

`FastPaths.for_device(...)` is what the pipeline uses: the default CPU levers on the CPU
(overlap from 4 cores); on CUDA only the exact ones and the CUDA-graph decode step. `FastPaths.plain()` is the
reference path.
"""
from __future__ import annotations

import copy
import math
import os
import platform
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.engine.chunked_vocoder import ChunkConfig, ChunkedGenerator
from core.engine.decode_step import FusedDecode, ScriptedDecode
from core.engine.gpt import SelfAttention, Text2Semantic, cached_keys_values

__all__ = [
    "FastPaths", "FastPathReport", "Int8Linear", "Int8SelfAttention", "FusedDecode",
    "use_lean_int8",
    "quantize_gpt", "use_bf16_bert", "int8_available", "cpu_has_native_bf16", "snr_db", "decoder_snr",
    "greedy_agreement", "use_cpu_decoder", "fold_sovits", "apply_fast_paths",
]

SNR_GATE_DB = 30.0
AGREEMENT_GATE = 0.95


@dataclass
class FastPaths:
    int8_gpt: bool = True
    lean_int8: bool = True
    fused_decode: bool = True
    scripted_decode: bool = True
    fold_weight_norm: bool = True
    chunked_decoder: bool = True
    bf16_decoder: bool = True
    # On by default (native-bf16 CPUs only): ~1 ms of a ~10 ms decode step. It trades EXACT batch
    # invariance for speed: bf16 rounding of attention sums over differently left-padded rows can
    # flip a near-tied token, so a batched row may differ from the same text decoded alone (the
    # int8 GPT alone is exactly batch-invariant). Within the >= 95 % greedy-agreement gate.
    bf16_kv_cache: bool = True
    cuda_graph: bool = True
    bf16_bert: bool = True
    threads: int | None = None
    overlap: bool = True
    warmup: bool = True

    @classmethod
    def plain(cls) -> "FastPaths":
        """The reference path: fp32 everywhere, sequential, nothing changed at load."""
        return cls(int8_gpt=False, lean_int8=False, fused_decode=False, scripted_decode=False,
                   fold_weight_norm=False, chunked_decoder=False, bf16_decoder=False,
                   bf16_kv_cache=False, cuda_graph=False, bf16_bert=False, threads=None,
                   overlap=False, warmup=False)

    @classmethod
    def for_device(cls, device: torch.device | str) -> "FastPaths":
        """The default for a device: every CPU lever on; on CUDA only the exact ones."""
        if torch.device(device).type == "cpu":
            # Overlap runs two 2-thread pools at once; on 2 cores that oversubscribes them, and
            # OpenMP's busy-waiting then collapses (measured: 10x slower GPT under contention).
            return cls(overlap=(os.cpu_count() or 1) >= 4)
        return cls(int8_gpt=False, lean_int8=False, fused_decode=False, scripted_decode=False,
                   fold_weight_norm=True, chunked_decoder=False, bf16_decoder=False,
                   bf16_kv_cache=False, cuda_graph=True, bf16_bert=False, threads=None,
                   overlap=False, warmup=True)


@dataclass
class FastPathReport:
    """What was actually switched on at load (a lever can be asked for and still refused)."""
    int8_gpt: bool = False
    lean_int8: bool = False
    fused_decode: bool = False
    scripted_decode: bool = False
    fold_weight_norm: bool = False
    chunked_decoder: bool = False
    bf16_decoder: bool = False
    bf16_snr_db: float | None = None
    bf16_kv_cache: bool = False
    cuda_graph: bool = False
    bf16_bert: bool = False
    bf16_bert_snr_db: float | None = None
    threads: int = 0
    overlap: bool = False
    warmup_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# int8 GPT


def int8_available() -> bool:
    """Dynamic int8 linear kernels (fbgemm/x86 on Intel/AMD, qnnpack on ARM) are in this torch."""
    try:
        engines = torch.backends.quantized.supported_engines
        return any(e in engines for e in ("x86", "fbgemm", "onednn", "qnnpack")) and hasattr(
            torch.ops.quantized, "linear_dynamic")
    except Exception:  # pragma: no cover - exotic builds
        return False


PROBE_COLUMNS = 16  # zero weight columns appended to every int8 matrix (keeps K a multiple of 16)


class Int8Linear(nn.Module):
    """y = x W^T + b with W stored as per-output-channel symmetric int8.

    The activations are quantised per call by the fbgemm/oneDNN dynamic kernels (int32
    accumulation, fp32 result), called through their ops directly (the eager `quantize_dynamic`
    front end is deprecated). Those kernels pick ONE activation range per call, so a row's result
    would depend on the other rows of the batch (a sentence's tokens on its batch mates). So each
    row is first scaled to max |x| = 1 and gets extra probe columns holding +1 and -1 (their
    weights are zero, so they add nothing): every row then spans exactly [-1, 1], the kernel's
    range is always [-1, 1], every row is quantised on its own (per-token scales, finer than
    per-tensor ones), and batching gives exactly the tokens of one-at-a-time decoding.
    Probe columns rather than a probe row: the kernel's M = 1 path (one decode step) is about
    1.7x faster than M = 2.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None, nonneg: bool = False) -> None:
        """`nonneg`: the input is never negative (after a ReLU): the probe then holds only +1
        (and zeros) and the quantisation range is [0, 1], a bit finer than [-1, 1]."""
        super().__init__()
        w = weight.detach().float().contiguous()
        self.in_features, self.out_features = w.shape[1], w.shape[0]
        scale = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
        zero = torch.zeros(w.shape[0], dtype=torch.long)
        w = torch.cat([w, w.new_zeros(w.shape[0], PROBE_COLUMNS)], 1)
        with warnings.catch_warnings():  # "quantized tensors are deprecated": no public successor on CPU yet
            warnings.simplefilter("ignore")
            qw = torch.quantize_per_channel(w, scale, zero, 0, torch.qint8)
            self._packed = torch.ops.quantized.linear_prepack(qw, None)
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone(),
                             persistent=False)
        probe = torch.zeros(1, PROBE_COLUMNS)
        probe[0, 0], probe[0, 1] = 1.0, (0.0 if nonneg else -1.0)
        self.register_buffer("probe", probe, persistent=False)

    lean = False  # decode fast path (`FastPaths.lean_int8`): same numerics, fewer ops per call
    LEAN_MAX_ROWS = 8  # decode batches (the pipeline's default batch); prefill takes the general path

    def forward(self, x: Tensor) -> Tensor:
        if self.lean and x.dtype == torch.float32 and torch.is_inference_mode_enabled():
            rows = x.numel() // self.in_features
            if rows <= self.LEAN_MAX_ROWS:
                return self._lean(x, rows)
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        x2 = x2 if x2.dtype == torch.float32 else x2.float()
        s = x2.abs().amax(dim=1, keepdim=True).clamp_min_(1e-30)
        xin = torch.cat([x2 / s, self.probe.expand(x2.shape[0], -1)], 1)
        y = torch.ops.quantized.linear_dynamic(xin, self._packed, False)
        y = y.mul_(s) if self.bias is None else torch.addcmul(self.bias, y, s)
        return y.reshape(*shape[:-1], self.out_features)

    def _lean(self, x: Tensor, rows: int) -> Tensor:
        """`forward` for a few rows (a decode step) in 6 ops instead of ~10: the kernel's input
        lives in a buffer per thread and row count whose probe columns are filled once, and x / s
        is written straight into it. Bit-identical to the general path (same ops, same order).
        Thread-local, so the overlap worker never shares one, and freed with its thread (at most
        8 row counts x ~14 KB x 96 linears = ~12 MB per thread for batched decoding)."""
        bufs = self._bufs
        buf = bufs.get(rows)
        if buf is None:
            buf = torch.empty(rows, self.in_features + PROBE_COLUMNS)
            buf[:, self.in_features:] = self.probe
            bufs[rows] = buf
        x2 = x if x.dim() == 2 else x.reshape(rows, self.in_features)
        xs = buf[:, :self.in_features]
        torch.abs(x2, out=xs)
        s = xs.amax(dim=1, keepdim=True).clamp_min_(1e-30)
        torch.div(x2, s, out=xs)
        y = torch.ops.quantized.linear_dynamic(buf, self._packed, False)
        y = y.mul_(s) if self.bias is None else torch.addcmul(self.bias, y, s)
        return y if x.dim() == 2 else y.view(*x.shape[:-1], self.out_features)

    @property
    def _bufs(self) -> dict:
        local = self.__dict__.get("_lean_local")
        if local is None:
            local = self.__dict__["_lean_local"] = threading.local()
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = {}
        return bufs

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"

    def __deepcopy__(self, memo):  # packed params are not deep-copyable; they are immutable
        new = self.__class__.__new__(self.__class__)
        new.__dict__ = {k: (v if k == "_packed" else copy.deepcopy(v, memo))
                        for k, v in self.__dict__.items() if k != "_lean_local"}
        return new


class Int8SelfAttention(nn.Module):
    """`gpt.SelfAttention` with int8 in/out projections; attention itself stays fp32 SDPA."""

    def __init__(self, attn: SelfAttention) -> None:
        super().__init__()
        self.n_head = attn.n_head
        self.dropout = attn.dropout
        self.in_proj = Int8Linear(attn.in_proj_weight, attn.in_proj_bias)
        self.out_proj = Int8Linear(attn.out_proj.weight, attn.out_proj.bias)

    def forward(self, x: Tensor, mask: Tensor | None, cache: tuple[Tensor, Tensor] | None = None,
                start: int = 0) -> Tensor:
        # Same data flow as SelfAttention.forward (inference only: no dropout).
        B, T, D = x.shape
        q, k, v = self.in_proj(x).view(B, T, 3, self.n_head, D // self.n_head).permute(2, 0, 3, 1, 4)
        if cache is not None:
            q, k, v = cached_keys_values(q, k, v, cache, start)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).to(x.dtype)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, D))


def quantize_gpt(model: Text2Semantic, inplace: bool = False) -> Text2Semantic:
    """An inference-only Text2Semantic whose transformer linears are Int8Linear.

    `inplace=False` leaves `model` untouched (a copy is made: +300 MB while it exists).
    """
    if not int8_available():
        raise RuntimeError("this PyTorch build has no int8 linear kernels")
    q = model if inplace else copy.deepcopy(model)
    q.eval()
    for layer in q.h.layers:
        layer.self_attn = Int8SelfAttention(layer.self_attn)
        layer.linear1 = Int8Linear(layer.linear1.weight, layer.linear1.bias)
        layer.linear2 = Int8Linear(layer.linear2.weight, layer.linear2.bias, nonneg=True)  # after ReLU
    q.int8 = True  # marker for reports
    return q


def use_lean_int8(model: Text2Semantic, on: bool = True) -> int:
    """Switch every Int8Linear of `model` to (or off) its lean decode path; returns how many."""
    n = 0
    for m in model.modules():
        if isinstance(m, Int8Linear):
            m.lean = on
            n += 1
    return n


@torch.inference_mode()
def greedy_agreement(reference: Text2Semantic, candidate: Text2Semantic, x: Tensor, bert: Tensor,
                     prompt: Tensor | None, steps: int = 50, repetition_penalty: float = 1.35,
                     candidate_bert: Tensor | None = None) -> dict[str, float]:
    """How often `candidate` picks the same greedy token as `reference` over `steps` steps.

    Teacher-forced: both models are fed the reference's greedy tokens, so one early difference
    does not make every later step differ; per step, the tokens compared are the argmaxes of
    the penalised logits (what `generate(top_k=1)` picks, EOS excluded). Also reports how many
    leading tokens a free-running greedy decode of the candidate shares with the reference's.
    x [1, T] phone ids, bert [1, 1024, T], prompt [1, P] or None; `candidate_bert`: the
    candidate's own BERT features (a reduced-precision BERT's), else `bert`.
    """
    from core.engine.gpt_sampling import penalise

    eos = reference.cfg.eos
    P = 0 if prompt is None else prompt.shape[1]
    ref_tokens = reference.generate(x, bert, prompt, top_k=1, max_new_tokens=steps,
                                    repetition_penalty=repetition_penalty, eos_disabled=True)[0]
    cbert = bert if candidate_bert is None else candidate_bert
    cand_tokens = candidate.generate(x, cbert, prompt, top_k=1, max_new_tokens=steps,
                                     repetition_penalty=repetition_penalty, eos_disabled=True)[0]
    picks = []
    for model, feats in ((reference, bert), (candidate, cbert)):
        cache = model.new_cache(1, x.shape[1] + P + steps + 1)
        h = model.prefill(x, feats, prompt, cache)
        history = prompt.clone() if prompt is not None else torch.zeros(1, 0, dtype=torch.long)
        out = []
        for i in range(steps):
            logits = model.ar_predict_layer(h).float()
            logits[:, eos] = -math.inf
            out.append(int(penalise(logits, history, repetition_penalty).argmax(-1)))
            tok = ref_tokens[i:i + 1]
            history = torch.cat([history, tok[None]], 1)
            h = model.step(tok, cache)
        picks.append(torch.tensor(out))
    same = (picks[0] == picks[1]).float().mean().item()
    n = min(len(ref_tokens), len(cand_tokens))
    differs = (ref_tokens[:n] != cand_tokens[:n]).nonzero()
    prefix = int(differs[0]) if differs.numel() else n
    return {"agreement": same, "free_running_prefix": prefix, "steps": steps}


# --------------------------------------------------------------------------------------------
# SoVITS decoder


def cpu_has_native_bf16() -> bool:
    """True where bf16 matmul/conv run in hardware (AVX512-BF16 or AMX on x86; BF16 on ARM).

    Elsewhere bf16 is emulated and slower than fp32, so the decoder stays fp32.
    """
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="ignore")
        for line in text.splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    except OSError:
        pass
    words = set(flags.split())
    if {"avx512_bf16", "amx_bf16"} & words:
        return True
    if "bf16" in words and platform.machine().lower() in ("aarch64", "arm64"):
        return True
    return False


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
                    gate_db: float = SNR_GATE_DB) -> tuple[bool, float | None]:
    """Wrap the generator in a `ChunkedGenerator`: chunked (exact) and/or bf16 (if its output
    reaches the gate against fp32). Returns (bf16 used, its SNR or None if not asked)."""
    gen = _generator(sovits)
    if not (bf16 or chunked) or not ChunkedGenerator.supports(gen):
        return False, None
    cfg = ChunkConfig(enabled=chunked)
    snr = None
    if bf16:
        candidate = ChunkedGenerator(gen, torch.bfloat16, cfg)
        snr = decoder_snr(sovits, candidate)
        if snr >= gate_db:
            sovits.dec = candidate
            return True, snr
    sovits.dec = ChunkedGenerator(gen, None, cfg) if chunked else gen
    return False, snr


# --------------------------------------------------------------------------------------------
# BERT

BERT_PROBE_TEXT = "今天天气很好，我们一起去公园散步，然后回家吃饭。"


@torch.inference_mode()
def use_bf16_bert(bert: Any, gate_db: float = SNR_GATE_DB, text: str = BERT_PROBE_TEXT
                  ) -> tuple[bool, float]:
    """Convert the BERT's weights to bf16 in place if its features on `text` stay >= `gate_db`
    SNR against fp32; otherwise the fp32 weights are put back. Returns (used, snr).

    One parameter at a time, and the fp32 originals are only referenced (memory-mapped from the
    file where transformers loaded them so), so the conversion adds the bf16 half, not a copy.
    """
    from core.engine.features import char_features

    model = bert.model
    if next(model.parameters()).dtype == torch.bfloat16:
        return True, math.inf
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


def fold_sovits(sovits: nn.Module) -> nn.Module:
    from core.engine.sovits_modules import fold_weight_norm

    return fold_weight_norm(sovits)


# --------------------------------------------------------------------------------------------
# Applying them to a Synthesizer


def apply_fast_paths(synth: Any, fast: FastPaths) -> FastPathReport:
    """Convert a freshly loaded Synthesizer's models in place as `fast` asks; returns what was done.

    Called by `Synthesizer.__init__`; the warm-up is separate (`warmup`), it needs the models
    converted first.
    """
    rep = FastPathReport()
    dev = synth.device
    if fast.threads:
        torch.set_num_threads(int(fast.threads))
    rep.threads = torch.get_num_threads()
    if fast.fold_weight_norm:
        fold_sovits(synth.sovits)
        rep.fold_weight_norm = True
    if fast.int8_gpt and dev.type == "cpu":
        if int8_available():
            synth.gpt = quantize_gpt(synth.gpt, inplace=True)
            rep.int8_gpt = True
            if fast.lean_int8:
                rep.lean_int8 = use_lean_int8(synth.gpt) > 0
            if fast.fused_decode:
                if fast.scripted_decode:
                    try:
                        synth.gpt.decode_layers = ScriptedDecode(synth.gpt)
                        rep.scripted_decode = True
                    except Exception as exc:  # a PyTorch without TorchScript, or no source to script
                        rep.notes.append(f"scripted decode unavailable ({type(exc).__name__}: {exc}); "
                                         "the Python fused decode step is used")
                if not rep.scripted_decode:
                    synth.gpt.decode_layers = FusedDecode(synth.gpt)
                rep.fused_decode = True
        else:
            rep.notes.append("int8 GPT unavailable (no int8 kernels in this PyTorch); fp32 used")
    if fast.bf16_kv_cache and dev.type == "cpu":
        if cpu_has_native_bf16():
            synth.gpt.kv_dtype = torch.bfloat16
            rep.bf16_kv_cache = True
        else:
            rep.notes.append("bf16 KV cache off: this CPU has no native bf16")
    if fast.cuda_graph and dev.type == "cuda":
        from core.engine.cuda_decode import StaticDecode

        synth.gpt.static_decode = StaticDecode(use_graph=True)
        rep.cuda_graph = True
    if fast.bf16_bert and dev.type == "cpu" and synth.bert is not None:
        if cpu_has_native_bf16():
            rep.bf16_bert, snr = use_bf16_bert(synth.bert)
            rep.bf16_bert_snr_db = round(snr, 1)
            if not rep.bf16_bert:
                rep.notes.append(f"bf16 BERT refused: {snr:.1f} dB SNR < {SNR_GATE_DB:.0f} dB")
        else:
            rep.notes.append("bf16 BERT off: this CPU has no native bf16")
    if (fast.bf16_decoder or fast.chunked_decoder) and dev.type == "cpu":
        bf16 = fast.bf16_decoder and cpu_has_native_bf16()
        if fast.bf16_decoder and not bf16:
            rep.notes.append("bf16 decoder off: this CPU has no native bf16")
        rep.bf16_decoder, snr = use_cpu_decoder(synth.sovits, bf16=bf16, chunked=fast.chunked_decoder)
        rep.chunked_decoder = fast.chunked_decoder and isinstance(synth.sovits.dec, ChunkedGenerator)
        rep.bf16_snr_db = None if snr is None else round(snr, 1)
        if bf16 and not rep.bf16_decoder and snr is not None:
            rep.notes.append(f"bf16 decoder refused: {snr:.1f} dB SNR < {SNR_GATE_DB:.0f} dB")
    rep.overlap = bool(fast.overlap)
    return rep


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
