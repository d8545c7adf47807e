"""The int8 GPT (`FastPaths.int8_gpt`, `lean_int8`): the transformer's linears as int8 weights.

The GPT's 24 x 4 transformer linears become per-channel int8 weights with dynamically
quantised activations (fbgemm/oneDNN kernels); the head (`ar_predict_layer`) and `bert_proj`
stay fp32. Lossy, so `core.runtime.apply` gates it at load (greedy agreement with the fp32 GPT)
and undoes it (`restore_fp32_gpt`) where it fails. Also here: whether this torch has the kernels
(`int8_available`) and whether this CPU's kernel saturates (`int8_kernel_saturates`, which
decides `int8_reduce_range`). The fused decode step (`core.runtime.decode_step`) builds on these
linears; this module needs nothing from it.
"""
from __future__ import annotations

import copy
import functools
import os
import threading
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.engine.gpt import Text2Semantic
from core.engine.gpt_layers import SelfAttention, cached_keys_values

__all__ = [
    "PROBE_COLUMNS", "ENV_REDUCE_RANGE", "int8_available", "int8_kernel_saturates", "int8_reduce_range",
    "Int8Linear", "Int8SelfAttention", "quantize_gpt", "fp32_layers", "restore_fp32_gpt", "use_lean_int8",
]


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
