"""CPU fast paths for synthesis, each one switchable and each lossy one checked against the plain path.

The plain path (fp32, the reference numerics) stays the definition of "correct"; a fast path
is only used where it is known to give the same output within its gate. Exact levers are
proven by tests; every LOSSY lever is also gated when a voice is loaded, on the user's CPU and
that voice's models (`core.engine.fastpath_gates`: figures in the voice's status, the Speak
page's "Speed checks" and `voicebank selftest`; verdicts cached per voice files + CPU + ISA +
torch), and left off for that load where it fails:

| lever | what it does | gate (checked where) |
| --- | --- | --- |
| `fold_weight_norm` | bakes SoVITS's weight_g/weight_v into plain weights at load | == plain within 1e-5 (tests) |
| `int8_gpt` | the GPT's 24 x 4 transformer linears as per-channel int8 weights, dynamically quantised activations (fbgemm/oneDNN kernels); activations in 7 bits (`reduce_range`) where the CPU's int8 kernel adds product pairs in a saturating int16 (AVX2 without VNNI: measured by `int8_kernel_saturates`), 8 bits where it accumulates in int32 (VNNI/AMX) | >= 95 % same greedy tokens over 100 teacher-forced steps against the fp32 GPT (checked at load, cached; tests, `voicebank bench`) |
| `lean_int8` | int8 decode steps (<= 8 rows) write the scaled input into a preallocated buffer whose probe columns are filled once: ~6 ops per linear instead of ~10 (the fused step below always calls its linears this way) | bit-identical to `int8_gpt` alone (tests) |
| `fused_decode` | int8 decode steps run the 24 layers as one plain loop (`core.engine.decode_step.FusedDecode`) instead of ~190 module calls | bit-identical to `int8_gpt` alone (tests) |
| `scripted_decode` | the same fused decode step compiled by TorchScript (`ScriptedDecode`): the ~1000 small ops of a step run from C++ instead of Python (8.5 -> 4.6 ms a step on 2 vCPU); falls back to `fused_decode` if scripting fails | bit-identical to `fused_decode` (tests) |
| `bf16_kv_cache` | the GPT's key/value cache (and so decode attention) in bf16: half the bytes read per decode step; only on CPUs with native bf16; on by default, at the cost of EXACT batch invariance (a batched row can differ from the text alone on a near-tied token; `--no-bf16-kv-cache` restores it) | >= 95 % same greedy tokens over 100 steps, the GPT as it runs (int8 if on) against fp32 (checked at load, cached; tests, `voicebank bench`) |
| `chunked_decoder` | the HiFi-GAN generator runs over overlapping chunks of two fixed sizes (`core.engine.chunked_vocoder`): oneDNN never sets up a new shape for a new sentence length, and small chunks stay in cache | == plain within float rounding in fp32 (tests: the context covers the receptive field) |
| `bf16_decoder` | the generator under bf16 autocast (with `chunked_decoder`, every stage; without it, whole-sequence bf16, which pays ~1 s of oneDNN set-up per new length: the bench's A/B only) | only on CPUs with native bf16 (AVX512-BF16 / AMX, no ISA cap below them) and only if its output is >= 30 dB SNR against the fp32 whole-sequence generator on the loaded model (checked at load, cached) |
| `cuda_graph` | CUDA only: the GPT decodes over a static KV cache with its decode step captured as a CUDA graph (`core.engine.cuda_decode`); falls back to the eager step if capture fails. UNMEASURED (no GPU when written) | same greedy tokens as the eager path (tests, CPU without a graph) |
| `bf16_bert` | BERT-large's weights in bf16 (1.3 GB -> 0.65 GB, and about 2.5x faster), only on CPUs with native bf16 | its features >= 30 dB SNR against fp32 on the loaded model (checked at load, cached; fp32 kept otherwise) and >= 95 % same greedy GPT tokens (`voicebank bench`) |
| `threads` | torch intra-op threads for synthesis (None: leave torch's default, all cores) | - |
| `overlap` | in `stream()`/`synthesize()`, the GPT of batch n+1 runs in a worker thread while batch n is vocoded (default only with >= 4 cores) | same audio as sequential (tests) |
| `warmup` | one short synthesis pass at load (oneDNN primitives, allocator) | first synthesis <= 2x a warm one (bench) |

A later lossy lever (an int8 or ONNX vocoder) gets its gate the same way: measured in
`apply_fast_paths` against the exact path (SNR for audio, greedy agreement for tokens), recorded
as a `fastpath_gates.Gate`, cached, and the lever left off where it fails.

The GPT head (`ar_predict_layer`) and `bert_proj` stay fp32: the head decides the token, is 2 %
of the weights, and `Text2Semantic` reads its dtype/device. The int8 model is an inference-only
copy (or an in-place conversion of the pipeline's own model, undone if its gate fails); training
code never sees it.

`FastPaths.for_device(...)` is what the pipeline uses: the default CPU levers on the CPU
(overlap from 4 cores); on CUDA only the exact ones and the CUDA-graph decode step. `FastPaths.plain()` is the
reference path.
"""
from __future__ import annotations

import copy
import functools
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
from core.engine.fastpath_gates import (
    AGREEMENT_GATE, GATE_STEPS, LEVER_LABELS, SNR_GATE_DB, Gate, GateCache, cpu_info, gate_key,
)
from core.engine.gpt import SelfAttention, Text2Semantic, cached_keys_values

__all__ = [
    "FastPaths", "FastPathReport", "Int8Linear", "Int8SelfAttention", "FusedDecode",
    "use_lean_int8", "int8_kernel_saturates", "int8_reduce_range", "restore_fp32_gpt",
    "quantize_gpt", "use_bf16_bert", "int8_available", "cpu_has_native_bf16", "snr_db", "decoder_snr",
    "greedy_agreement", "greedy_tokens", "teacher_forced_picks", "gpt_probe", "use_cpu_decoder",
    "fold_sovits", "apply_fast_paths", "AGREEMENT_GATE", "SNR_GATE_DB",
]


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
    # The load-time gates of the lossy levers (`core.engine.fastpath_gates`): lever -> Gate.as_dict()
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    gate_s: float = 0.0          # seconds spent measuring gates in this load (0 when all were cached)
    gate_cache: str = "off"      # "hit" (every verdict read), "miss" (some measured, then saved), "off" (no voice files)
    cpu: str = ""                # `CpuInfo.summary()`: the CPU and ISA the kernels ran on

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add_gate(self, gate: Gate) -> Gate:
        self.gates[gate.lever] = gate.as_dict()
        return gate

    def levers_on(self) -> list[str]:
        names = ("int8_gpt", "lean_int8", "fused_decode", "scripted_decode", "bf16_kv_cache", "cuda_graph",
                 "bf16_bert", "fold_weight_norm", "chunked_decoder", "bf16_decoder", "overlap")
        return [name for name in names if getattr(self, name)]

    def status(self) -> dict[str, Any]:
        """What a voice's status shows (worker results, Speak page details): JSON-able."""
        return {"cpu": self.cpu, "gates": dict(self.gates), "on": self.levers_on(),
                "cache": self.gate_cache, "gate_s": round(self.gate_s, 3), "notes": list(self.notes)}


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
ENV_REDUCE_RANGE = "VOICEBANK_INT8_REDUCE_RANGE"  # "1"/"0" forces it (benchmark A/B); else measured


def _pack_int8(weight: Tensor) -> Any:
    """Per-output-channel symmetric int8 (+-127) weights, packed for the dynamic linear kernel."""
    w = weight.detach().float().contiguous()
    scale = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
    zero = torch.zeros(w.shape[0], dtype=torch.long)
    with warnings.catch_warnings():  # "quantized tensors are deprecated": no public successor on CPU yet
        warnings.simplefilter("ignore")
        qw = torch.quantize_per_channel(w, scale, zero, 0, torch.qint8)
        return torch.ops.quantized.linear_prepack(qw, None)


@functools.lru_cache(maxsize=1)
def int8_kernel_saturates() -> bool:
    """True where this CPU's int8 GEMM adds the products of adjacent u8 x s8 pairs in a
    saturating int16 (measured once per process).

    fbgemm (torch's x86 engine) builds its int8 GEMM on `vpmaddubsw` where the CPU has no
    AVX512-VNNI (AVX2 laptops, AVX-512 Skylake): two adjacent activation x weight products are
    summed into an int16 that saturates at 32767 before being widened to int32. With VNNI
    (`vpdpbusd`) or AMX they go straight into int32. With 8-bit activations (0..255) and weights
    of +-127 one pair reaches 2 x 255 x 127 = 64770, so on such CPUs a row whose inputs are large
    where its weights are large comes out wrong (issue 18: greedy agreement 0.04 on an AVX2 EPYC).
    Measured rather than read from CPU flags because fbgemm picks its kernel by its own CPU
    detection (cpuinfo; `FBGEMM_ENABLE_INSTRUCTIONS=AVX2` forces the AVX2 kernel), which flags
    can only guess. The probe makes every pair 64770: all inputs at the top of their range, all
    weights +127; the exact answer is the row's length.
    """
    if not int8_available():
        return False
    k = 64
    packed = _pack_int8(torch.ones(1, k))
    y = float(torch.ops.quantized.linear_dynamic(torch.ones(1, k), packed, False)[0, 0])
    return abs(y - k) > 0.05 * k


def int8_reduce_range() -> bool:
    """Whether Int8Linear quantises its inputs to 7 bits (0..127) instead of 8.

    7-bit inputs keep every pair sum within int16 (2 x 127 x 127 = 32258 <= 32767), so the
    saturating kernels are exact again, at the price of a coarser input grid (half the levels).
    So: on where the kernel saturates, off where it accumulates in int32 (there 7 bits would only
    lose precision: the full-size bench model's load gate fell from 0.98 to 0.94 with them). `VOICEBANK_INT8_REDUCE_RANGE=1/0` forces it (benchmark A/B)."""
    forced = os.environ.get(ENV_REDUCE_RANGE, "").strip().lower()
    if forced in ("1", "on", "true", "yes"):
        return True
    if forced in ("0", "off", "false", "no"):
        return False
    return int8_kernel_saturates()


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

    def __init__(self, weight: Tensor, bias: Tensor | None, nonneg: bool = False,
                 reduce_range: bool | None = None) -> None:
        """`nonneg`: the input is never negative (after a ReLU): the probe then holds only +1
        (and zeros) and the quantisation range is [0, 1], a bit finer than [-1, 1].
        `reduce_range`: 7-bit inputs (None: `int8_reduce_range()`, i.e. where this CPU's kernel
        would otherwise saturate)."""
        super().__init__()
        w = weight.detach().float().contiguous()
        self.in_features, self.out_features = w.shape[1], w.shape[0]
        self.reduce_range = int8_reduce_range() if reduce_range is None else bool(reduce_range)
        self._packed = _pack_int8(torch.cat([w, w.new_zeros(w.shape[0], PROBE_COLUMNS)], 1))
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
        y = torch.ops.quantized.linear_dynamic(xin, self._packed, self.reduce_range)
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
        y = torch.ops.quantized.linear_dynamic(buf, self._packed, self.reduce_range)
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
        bits = ", 7-bit inputs" if self.reduce_range else ""
        return f"in_features={self.in_features}, out_features={self.out_features}, int8{bits}"

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


def fp32_layers(model: Text2Semantic) -> list[tuple[nn.Module, nn.Module, nn.Module, nn.Module]]:
    """The modules `quantize_gpt(inplace=True)` replaces, to put back if its gate fails."""
    return [(layer, layer.self_attn, layer.linear1, layer.linear2) for layer in model.h.layers]


def restore_fp32_gpt(model: Text2Semantic, layers: list[tuple[nn.Module, nn.Module, nn.Module, nn.Module]]
                     ) -> Text2Semantic:
    """Undo an in-place `quantize_gpt` (and the decode step built on it) from `fp32_layers`."""
    for layer, attn, lin1, lin2 in layers:
        layer.self_attn, layer.linear1, layer.linear2 = attn, lin1, lin2
    model.decode_layers = None
    model.int8 = False
    return model


def use_lean_int8(model: Text2Semantic, on: bool = True) -> int:
    """Switch every Int8Linear of `model` to (or off) its lean decode path; returns how many."""
    n = 0
    for m in model.modules():
        if isinstance(m, Int8Linear):
            m.lean = on
            n += 1
    return n


@torch.inference_mode()
def greedy_tokens(model: Text2Semantic, x: Tensor, bert: Tensor, prompt: Tensor | None, steps: int,
                  repetition_penalty: float = 1.35) -> Tensor:
    """`steps` greedy tokens (EOS excluded), as `generate(top_k=1)` picks them: [steps]."""
    return model.generate(x, bert, prompt, top_k=1, max_new_tokens=steps,
                          repetition_penalty=repetition_penalty, eos_disabled=True)[0]


@torch.inference_mode()
def teacher_forced_picks(model: Text2Semantic, x: Tensor, bert: Tensor, prompt: Tensor | None,
                         tokens: Tensor, repetition_penalty: float = 1.35) -> Tensor:
    """The greedy pick of `model` at every step when it is fed `tokens` (the exact model's own
    greedy tokens): one early difference then does not make every later step differ. Per step
    the argmax of the penalised logits, EOS excluded (what `generate(top_k=1)` picks). Runs
    through the model's own decode step (fused/scripted where set), as synthesis does."""
    from core.engine.gpt_sampling import penalise

    eos = model.cfg.eos
    P = 0 if prompt is None else prompt.shape[1]
    cache = model.new_cache(1, x.shape[1] + P + len(tokens) + 1)
    h = model.prefill(x, bert, prompt, cache)
    history = prompt.clone() if prompt is not None else torch.zeros(1, 0, dtype=torch.long, device=x.device)
    out = []
    for i in range(len(tokens)):
        logits = model.ar_predict_layer(h).float()
        logits[:, eos] = -math.inf
        out.append(int(penalise(logits, history, repetition_penalty).argmax(-1)))
        tok = tokens[i:i + 1]
        history = torch.cat([history, tok[None]], 1)
        h = model.step(tok, cache)
    return torch.tensor(out)


@torch.inference_mode()
def greedy_agreement(reference: Text2Semantic, candidate: Text2Semantic, x: Tensor, bert: Tensor,
                     prompt: Tensor | None, steps: int = 50, repetition_penalty: float = 1.35,
                     candidate_bert: Tensor | None = None) -> dict[str, float]:
    """How often `candidate` picks the same greedy token as `reference` over `steps` steps.

    Teacher-forced (`teacher_forced_picks`): both models are fed the reference's greedy tokens.
    Also reports how many leading tokens a free-running greedy decode of the candidate shares
    with the reference's. x [1, T] phone ids, bert [1, 1024, T], prompt [1, P] or None;
    `candidate_bert`: the candidate's own BERT features (a reduced-precision BERT's), else `bert`.
    """
    ref_tokens = greedy_tokens(reference, x, bert, prompt, steps, repetition_penalty)
    cbert = bert if candidate_bert is None else candidate_bert
    cand_tokens = greedy_tokens(candidate, x, cbert, prompt, steps, repetition_penalty)
    picks = [teacher_forced_picks(model, x, feats, prompt, ref_tokens, repetition_penalty)
             for model, feats in ((reference, bert), (candidate, cbert))]
    same = (picks[0] == picks[1]).float().mean().item()
    n = min(len(ref_tokens), len(cand_tokens))
    differs = (ref_tokens[:n] != cand_tokens[:n]).nonzero()
    prefix = int(differs[0]) if differs.numel() else n
    return {"agreement": same, "free_running_prefix": prefix, "steps": steps}


@dataclass
class GptProbe:
    """What the load-time GPT gates decode: a fixed Chinese sentence (its phones and the loaded
    BERT's fp32 features) after a seeded prompt of 150 tokens (as `voicebank bench`)."""
    x: Tensor
    bert: Tensor
    prompt: Tensor


GPT_PROBE_PROMPT = 150


@torch.inference_mode()
def gpt_probe(gpt: Text2Semantic, bert: Any, seed: int = 0) -> GptProbe:
    from core.engine.features import bert_features
    from core.text.frontend import phonemize

    dev = gpt.ar_predict_layer.weight.device
    ph = phonemize(BERT_PROBE_TEXT)
    feats = bert_features(bert, ph).float()[None].to(dev)
    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, gpt.cfg.eos, (1, GPT_PROBE_PROMPT), generator=g).to(dev)
    return GptProbe(torch.tensor([list(ph.ids)], device=dev), feats, prompt)


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
    if isa_capped_below_bf16():
        return False
    if {"avx512_bf16", "amx_bf16"} & words:
        return True
    if "bf16" in words and platform.machine().lower() in ("aarch64", "arm64"):
        return True
    return False


def isa_capped_below_bf16() -> bool:
    """An ISA cap in the environment (ATEN_CPU_CAPABILITY for torch's own kernels,
    ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA for oneDNN's bf16 matmuls and convolutions) that
    forbids the bf16 instructions: the machine then runs as an older CPU would (how the AVX2
    figures in BENCHMARKS.md were measured on an AVX-512 box), and bf16 would be emulated."""
    aten = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    if aten in ("default", "avx", "avx2"):
        return True
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        cap = os.environ.get(name, "").strip().upper()
        if cap and not any(word in cap for word in ("BF16", "AMX", "FP16", "AVX10", "ALL", "DEFAULT")):
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


# --------------------------------------------------------------------------------------------
# BERT

BERT_PROBE_TEXT = "今天天气很好，我们一起去公园散步，然后回家吃饭。"


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


def fold_sovits(sovits: nn.Module) -> nn.Module:
    from core.engine.sovits_modules import fold_weight_norm

    return fold_weight_norm(sovits)


# --------------------------------------------------------------------------------------------
# Applying them to a Synthesizer


def apply_fast_paths(synth: Any, fast: FastPaths, voice: dict[str, Any] | None = None,
                     cache: GateCache | None = None) -> FastPathReport:
    """Convert a freshly loaded Synthesizer's models in place as `fast` asks; returns what was done.

    Every lossy lever is gated at load against the exact path on this CPU and these models
    (`core.engine.fastpath_gates`) and left off where it fails. `voice`: the identity of the
    voice's files (`fastpath_gates.voice_identity`); with it the verdicts are read from and saved
    to the gate cache (`cache`, default the user cache file), so a voice already checked on this
    machine loads without measuring. Without it (models built in memory) every gate is measured.
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
    if dev.type == "cpu":
        gates = _LoadGates(synth, rep, voice, cache)
        _cpu_gpt_levers(synth, fast, rep, gates)
        _cpu_bert(synth, fast, rep, gates)
        _cpu_decoder(synth, fast, rep, gates)
        gates.finish()
    if fast.cuda_graph and dev.type == "cuda":
        from core.engine.cuda_decode import StaticDecode

        synth.gpt.static_decode = StaticDecode(use_graph=True)
        rep.cuda_graph = True
    rep.overlap = bool(fast.overlap)
    return rep


class _LoadGates:
    """The gate verdicts of one load: read from the cache where it has them, measured otherwise.

    The GPT gates compare against the fp32 GPT's greedy tokens on a fixed probe
    (`gpt_probe`), computed once and only when a GPT gate has to be measured, before the GPT
    is converted (so no fp32 copy is kept)."""

    def __init__(self, synth: Any, rep: FastPathReport, voice: dict[str, Any] | None,
                 cache: GateCache | None) -> None:
        self.synth, self.rep = synth, rep
        cpu = cpu_info()
        rep.cpu = cpu.summary()
        self.key = gate_key(voice, cpu) if voice is not None else None
        self.cache = (cache if cache is not None else GateCache()) if self.key else None
        self.cached: dict[str, Gate] = self.cache.get(self.key) if self.cache else {}
        self.measured: dict[str, Gate] = {}
        self.about = {"cpu": rep.cpu, "gpt": str((voice or {}).get("gpt", {}).get("path", ""))}
        self._probe: GptProbe | None = None
        self._ref: Tensor | None = None
        self._error: str | None = None     # the GPT probe could not be run: its gates fail
        self.used_cached = False

    def verdict(self, lever: str, basis: str = "") -> Gate | None:
        """The cached verdict of `lever`, if it was measured on this same basis."""
        gate = self.cached.get(lever)
        return gate if gate is not None and gate.basis == basis else None

    def reference(self) -> None:
        """The fp32 GPT's greedy tokens on the probe: call while the GPT is still exact."""
        if self._ref is None and self._error is None:
            t = time.perf_counter()
            try:
                self._probe = gpt_probe(self.synth.gpt, self.synth.bert)
                self._ref = greedy_tokens(self.synth.gpt, self._probe.x, self._probe.bert, self._probe.prompt,
                                          GATE_STEPS)
            except Exception as exc:  # noqa: BLE001 - an unmeasurable gate fails: the exact path runs
                self._error = f"{type(exc).__name__}: {exc}"
                self.rep.notes.append(f"the GPT gates could not be measured ({self._error})")
            self.rep.gate_s += time.perf_counter() - t

    def gpt_agreement(self, lever: str, basis: str) -> Gate:
        """Measure the GPT as it now is against the reference tokens (teacher-forced)."""
        if self._error is not None:   # not cached: measured again at the next load
            return self.rep.add_gate(Gate.judge(lever, "agreement", AGREEMENT_GATE, None, 0.0, GATE_STEPS, basis))
        assert self._probe is not None and self._ref is not None, "reference() first, on the fp32 GPT"
        t = time.perf_counter()
        p = self._probe
        picks = teacher_forced_picks(self.synth.gpt, p.x, p.bert, p.prompt, self._ref)
        value = (picks == self._ref.cpu()).float().mean().item()
        return self.record(Gate.judge(lever, "agreement", AGREEMENT_GATE, value,
                                      time.perf_counter() - t, GATE_STEPS, basis))

    def record(self, gate: Gate) -> Gate:
        self.rep.gate_s += gate.seconds
        self.measured[gate.lever] = gate
        return self.rep.add_gate(gate)

    def use_cached(self, gate: Gate) -> Gate:
        self.used_cached = True
        return self.rep.add_gate(gate)

    def refused(self, gate: Gate) -> None:
        label = LEVER_LABELS.get(gate.lever, gate.lever)
        figure = ("not measurable" if gate.value is None else
                  f"agreement {gate.value:.2f} < {gate.threshold:.2f}" if gate.metric == "agreement" else
                  f"{gate.value:.1f} dB SNR < {gate.threshold:.0f} dB")
        where = " (cached verdict)" if gate.cached else ""
        self.rep.notes.append(f"{label} refused on this CPU for this voice: {figure}{where}; "
                              "the exact path is used")

    def finish(self) -> None:
        rep = self.rep
        rep.gate_s = round(rep.gate_s, 3)
        if self.cache is None:
            rep.gate_cache = "off"
            return
        rep.gate_cache = "miss" if self.measured else ("hit" if self.used_cached else "off")
        if self.measured:
            self.cache.put(self.key, self.measured, self.about)


def _gpt_basis(int8: bool, kv: bool) -> str:
    parts = ["int8 GPT" if int8 else "fp32 GPT"] + (["bf16 KV cache"] if kv else [])
    return " + ".join(parts)


def _cpu_gpt_levers(synth: Any, fast: FastPaths, rep: FastPathReport, gates: _LoadGates) -> None:
    """int8 GPT (+ its exact decode levers), then the bf16 KV cache, each gated by greedy agreement."""
    want_int8 = fast.int8_gpt
    if want_int8 and not int8_available():
        rep.notes.append("int8 GPT unavailable (no int8 kernels in this PyTorch); fp32 used")
        want_int8 = False
    want_kv = fast.bf16_kv_cache
    if want_kv and not cpu_has_native_bf16():
        rep.notes.append("bf16 KV cache off: this CPU has no native bf16")
        want_kv = False
    int8_verdict = gates.verdict("int8_gpt", _gpt_basis(True, False)) if want_int8 else None
    need_ref = want_int8 and int8_verdict is None
    if want_kv and not need_ref:    # int8's outcome is known: so is the KV gate's basis
        int8_on = want_int8 and int8_verdict is not None and int8_verdict.passed
        need_ref = gates.verdict("bf16_kv_cache", _gpt_basis(int8_on, True)) is None
    if need_ref:
        gates.reference()

    if want_int8:
        if int8_verdict is not None and not int8_verdict.passed:
            gates.refused(gates.use_cached(int8_verdict))
        else:
            layers = fp32_layers(synth.gpt)
            _int8_gpt(synth, fast, rep)
            gate = (gates.use_cached(int8_verdict) if int8_verdict is not None
                    else gates.gpt_agreement("int8_gpt", _gpt_basis(True, False)))
            if not gate.passed:
                restore_fp32_gpt(synth.gpt, layers)
                rep.int8_gpt = rep.lean_int8 = rep.fused_decode = rep.scripted_decode = False
                gates.refused(gate)
            del layers   # the fp32 linears go now where int8 stays (they were only kept for the gate)
    if want_kv:
        basis = _gpt_basis(rep.int8_gpt, True)
        verdict = gates.verdict("bf16_kv_cache", basis)
        synth.gpt.kv_dtype = torch.bfloat16
        gate = gates.use_cached(verdict) if verdict is not None else gates.gpt_agreement("bf16_kv_cache", basis)
        rep.bf16_kv_cache = gate.passed
        if not gate.passed:
            synth.gpt.kv_dtype = None
            gates.refused(gate)


def _int8_gpt(synth: Any, fast: FastPaths, rep: FastPathReport) -> None:
    """Quantise the GPT in place and build the exact decode levers on it."""
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


def _cpu_bert(synth: Any, fast: FastPaths, rep: FastPathReport, gates: _LoadGates) -> None:
    if not fast.bf16_bert or synth.bert is None:
        return
    if not cpu_has_native_bf16():
        rep.notes.append("bf16 BERT off: this CPU has no native bf16")
        return
    verdict = gates.verdict("bf16_bert")
    if verdict is not None:
        gates.use_cached(verdict)
        if verdict.passed:
            rep.bf16_bert, _ = use_bf16_bert(synth.bert, check=False)
        else:
            gates.refused(verdict)
        rep.bf16_bert_snr_db = _rounded(verdict.value)
        return
    t = time.perf_counter()
    rep.bf16_bert, snr = use_bf16_bert(synth.bert, gate_db=SNR_GATE_DB)
    gate = gates.record(Gate.judge("bf16_bert", "snr_db", SNR_GATE_DB, snr, time.perf_counter() - t))
    rep.bf16_bert_snr_db = _rounded(snr)
    if not rep.bf16_bert:
        gates.refused(gate)


def _cpu_decoder(synth: Any, fast: FastPaths, rep: FastPathReport, gates: _LoadGates) -> None:
    if not (fast.bf16_decoder or fast.chunked_decoder):
        return
    bf16 = fast.bf16_decoder and cpu_has_native_bf16()
    if fast.bf16_decoder and not bf16:
        rep.notes.append("bf16 decoder off: this CPU has no native bf16")
    verdict = gates.verdict("bf16_decoder") if bf16 else None
    if verdict is not None:
        gates.use_cached(verdict)
        rep.bf16_decoder, _ = use_cpu_decoder(synth.sovits, bf16=verdict.passed, chunked=fast.chunked_decoder,
                                              check=False)
        snr = verdict.value
        if not verdict.passed:
            gates.refused(verdict)
    else:
        t = time.perf_counter()
        rep.bf16_decoder, snr = use_cpu_decoder(synth.sovits, bf16=bf16, chunked=fast.chunked_decoder,
                                                gate_db=SNR_GATE_DB)
        if bf16 and snr is not None:
            gate = gates.record(Gate.judge("bf16_decoder", "snr_db", SNR_GATE_DB, snr, time.perf_counter() - t))
            if not gate.passed:
                gates.refused(gate)
    rep.chunked_decoder = fast.chunked_decoder and isinstance(synth.sovits.dec, ChunkedGenerator)
    rep.bf16_snr_db = _rounded(snr)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


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
