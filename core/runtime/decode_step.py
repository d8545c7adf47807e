"""The int8 GPT's decode step as one fused module (`Text2Semantic.decode_layers`, CPU).

`FusedDecode` (`FastPaths.fused_decode`) runs the 24 layers as one plain loop: the lean int8
linears, the KV-cache write, SDPA, residuals and LayerNorms, the same ops in the same order as
the module path (`Stack` -> `Block` -> `Int8SelfAttention`), so tokens are bit-identical (tests),
without ~190 module calls a step. `ScriptedDecode` (`FastPaths.scripted_decode`) is the same
module under `torch.jit.script`. Why: a step is ~1000 small ops (24 layers x ~40), and from
Python each costs a few microseconds of interpreter and argument parsing on top of its kernel,
about as much as the int8 matmuls themselves (2 vCPU: 8.5 ms a step from Python, 4.6 ms
scripted, the 96 int8 matmuls alone ~3 ms). TorchScript runs the ops from C++ with no compiler
at run time (unlike torch.compile), so it works on every user's machine and in the bundled app.
`torch.jit.script` is deprecated in recent PyTorch; if scripting fails (a future PyTorch, or an
app without this file's source) the pipeline keeps `FusedDecode` and says so in its report.
The int8 linears it calls are `core.runtime.int8`'s (this module imports that one, never the
reverse); the PyInstaller bundle ships this file's source for TorchScript (installers/voicebank.spec).
"""
from __future__ import annotations

import threading
import warnings
from typing import Any, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.runtime.int8 import PROBE_COLUMNS, Int8SelfAttention

__all__ = ["FusedDecode", "ScriptedDecode"]


class _Int8Lin(nn.Module):
    """`Int8Linear`'s lean path: scale each row to max |x| = 1 into a kernel input whose probe
    columns were filled once (`buf`, passed in: one per thread), int8 matmul, rescale + bias.
    `reduce_range` is the linear's own (7-bit inputs where the CPU's int8 kernel saturates)."""

    def __init__(self, lin: nn.Module) -> None:
        super().__init__()
        self.packed = lin._packed
        self.bias = lin.bias
        self.k = int(lin.in_features)
        self.reduce_range = bool(lin.reduce_range)

    def forward(self, x: Tensor, buf: Tensor) -> Tensor:
        xs = buf[:, :self.k]
        torch.abs(x, out=xs)
        s = xs.amax(dim=1, keepdim=True).clamp_min_(1e-30)
        torch.div(x, s, out=xs)
        y = torch.ops.quantized.linear_dynamic(buf, self.packed, self.reduce_range)
        return torch.addcmul(self.bias, y, s)


class _Layer(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        att = layer.self_attn
        self.in_proj, self.out_proj = _Int8Lin(att.in_proj), _Int8Lin(att.out_proj)
        self.linear1, self.linear2 = _Int8Lin(layer.linear1), _Int8Lin(layer.linear2)
        self.n_head = int(att.n_head)
        self.w1, self.b1, self.eps1 = layer.norm1.weight, layer.norm1.bias, float(layer.norm1.eps)
        self.w2, self.b2, self.eps2 = layer.norm2.weight, layer.norm2.bias, float(layer.norm2.eps)

    def forward(self, x: Tensor, kc: Tensor, vc: Tensor, start: int, mask: Optional[Tensor],
                bufs: List[Tensor]) -> Tensor:
        B, D = x.shape[0], x.shape[1]
        qkv = self.in_proj(x, bufs[0]).view(B, 1, 3, self.n_head, D // self.n_head).permute(2, 0, 3, 1, 4)
        # cached_keys_values for one new position
        kc[:, :, start:start + 1] = qkv[1]
        vc[:, :, start:start + 1] = qkv[2]
        y = F.scaled_dot_product_attention(qkv[0].to(kc.dtype), kc[:, :, :start + 1], vc[:, :, :start + 1],
                                           attn_mask=mask)
        if y.dtype != x.dtype:
            y = y.to(x.dtype)
        x = F.layer_norm(x + self.out_proj(y.reshape(B, D), bufs[1]), [D], self.w1, self.b1, self.eps1)
        return F.layer_norm(x + self.linear2(self.linear1(x, bufs[2]).relu_(), bufs[3]), [D],
                            self.w2, self.b2, self.eps2)


class _Stack(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_Layer(layer) for layer in model.h.layers)

    def forward(self, x: Tensor, ks: List[Tensor], vs: List[Tensor], start: int, mask: Optional[Tensor],
                bufs: List[Tensor]) -> Tensor:
        i = 0
        for layer in self.layers:
            x = layer(x, ks[i], vs[i], start, mask, bufs[4 * i:4 * i + 4])
            i += 1
        return x


class FusedDecode:
    """`Text2Semantic.decode_layers` for an int8 GPT (after `quantize_gpt`): one call per decode
    step, run from Python. Raises ValueError if the model is not an eval-mode int8 GPT."""

    def __init__(self, model: Any) -> None:
        if not all(isinstance(layer.self_attn, Int8SelfAttention) and not layer.training
                   for layer in model.h.layers):
            raise ValueError(f"{type(self).__name__} needs an int8 GPT in eval mode (quantize_gpt)")
        self._probes = []  # (in_features, probe row) of every linear, in call order
        for layer in model.h.layers:
            for lin in (layer.self_attn.in_proj, layer.self_attn.out_proj, layer.linear1, layer.linear2):
                if lin.bias is None:
                    raise ValueError(f"{type(self).__name__} needs the GPT's linear biases")
                self._probes.append((lin.in_features, lin.probe))
        self._width = PROBE_COLUMNS
        self.step = self._build(_Stack(model).eval())
        self._local = threading.local()

    def _build(self, stack: nn.Module) -> nn.Module:
        return stack

    def _bufs(self, rows: int) -> list[Tensor]:
        """Kernel inputs for `rows` rows, probe columns filled: per thread (the overlap worker
        decodes in its own), made once per row count."""
        cache = getattr(self._local, "bufs", None)
        if cache is None:
            cache = self._local.bufs = {}
        bufs = cache.get(rows)
        if bufs is None:
            bufs = []
            for k, probe in self._probes:
                buf = torch.empty(rows, k + self._width)
                buf[:, k:] = probe
                bufs.append(buf)
            cache[rows] = bufs
        return bufs

    def __call__(self, x: Tensor, mask: Tensor | None, cache: Any) -> Tensor:
        B, T, D = x.shape
        if T != 1:
            raise ValueError(f"{type(self).__name__} runs decode steps (one new position per row)")
        start = cache.length
        y = self.step(x.reshape(B, D), cache.k, cache.v, start, mask, self._bufs(B))
        cache.length = start + 1
        return y.view(B, 1, D)


class ScriptedDecode(FusedDecode):
    """`FusedDecode` compiled by TorchScript. Raises if scripting fails."""

    def _build(self, stack: nn.Module) -> nn.Module:
        with warnings.catch_warnings():  # "torch.jit.script is deprecated": see the module doc
            warnings.simplefilter("ignore")
            return torch.jit.script(stack)
