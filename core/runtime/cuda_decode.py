"""GPU decode path: a static KV cache and a decode step replayed as a CUDA graph.

On a GPU the eager decode step is bound by launching ~500 small kernels per token, not by the
arithmetic. Capturing the step once in a CUDA graph and replaying it removes that overhead; a
graph needs every shape and address fixed, so this path differs from the eager one:

- the cache is allocated once per (batch, length bucket) at its full length and zero-filled (so
  never-written positions are finite), and kept between calls;
- the position is a device tensor: the new key/value is written with `index_copy_`, and attention
  runs over the whole cache with a mask (positions after the current one, and left padding, off);
- rows that finished keep being computed (their results are ignored) instead of being dropped,
  so the batch shape never changes.

Prefill stays eager (once per call, shapes vary with the text). The same code runs without a
graph on any device (`use_graph=False`), which is how it is tested on the CPU against the eager
path (same greedy tokens). Graph capture needs CUDA; without it, or if capture fails, the step
runs eagerly over the static cache (a clean fallback, noted in `StaticDecode.notes`).

NOT MEASURED: written without a GPU at hand; `voicebank bench --device cuda` uses it (through
`FastPaths.cuda_graph`) and is where its speed is to be measured.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from core.engine.gpt import Text2Semantic
from core.engine.gpt_layers import KVCache

__all__ = ["StaticDecode", "StaticDecoder", "LENGTH_BUCKET"]

LENGTH_BUCKET = 256  # cache lengths are rounded up to this: few distinct graphs


@dataclass
class StaticDecode:
    """Set as `Text2Semantic.static_decode` to make `generate` use static decoders.

    `use_graph`: capture the step as a CUDA graph (only honoured on CUDA devices).
    `max_decoders`: how many (batch, length, dtype) shapes are kept (each holds its cache).
    """
    use_graph: bool = True
    max_decoders: int = 2
    notes: list[str] = field(default_factory=list)
    _decoders: dict = field(default_factory=dict, repr=False)

    def decoder(self, model: Text2Semantic, batch: int, max_len: int) -> "StaticDecoder":
        length = int(math.ceil(max_len / LENGTH_BUCKET) * LENGTH_BUCKET)
        dev = model.ar_predict_layer.weight.device
        amp = torch.is_autocast_enabled(dev.type)
        amp_dtype = torch.get_autocast_dtype(dev.type) if amp else None
        key = (batch, length, model.kv_dtype, amp_dtype)
        dec = self._decoders.get(key)
        if dec is None:
            while len(self._decoders) >= self.max_decoders:
                self._decoders.pop(next(iter(self._decoders)))
            graph = self.use_graph and dev.type == "cuda" and torch.cuda.is_available()
            dec = StaticDecoder(model, batch, length, use_graph=graph, notes=self.notes,
                                amp_dtype=amp_dtype)
            self._decoders[key] = dec
        dec.reset()
        return dec


class StaticDecoder:
    """One (batch, max_len) shape: its static cache, input/output buffers and (CUDA) graph."""

    def __init__(self, model: Text2Semantic, batch: int, max_len: int, use_graph: bool = False,
                 notes: list[str] | None = None, amp_dtype: torch.dtype | None = None) -> None:
        """`amp_dtype`: the autocast dtype `generate` runs under (CUDA fp16): the cache then holds
        it, so attention does not cast the whole cache every step."""
        self.model = model
        cfg = model.cfg
        p = model.ar_predict_layer.weight
        dev = p.device
        self.batch, self.max_len = batch, max_len
        self.amp_dtype = amp_dtype
        self.cache = KVCache(cfg, batch, max_len, dev, model.kv_dtype or amp_dtype or p.dtype)
        for t in (*self.cache.k, *self.cache.v):
            t.zero_()  # attention reads every position (masked): they must be finite
        # Static inputs of the step, written before each replay.
        self.tokens = torch.full((batch,), cfg.eos, dtype=torch.long, device=dev)
        self.position = torch.zeros(1, dtype=torch.long, device=dev)   # cache column written
        self.audio_pos = torch.zeros(1, dtype=torch.long, device=dev)  # its audio position
        self.key_mask = torch.ones(batch, max_len, dtype=torch.bool, device=dev)
        self.columns = torch.arange(max_len, device=dev)
        self.out: Tensor | None = None
        model.ar_audio_position.table(max_len)  # grow the sine table now, not inside a capture
        self.use_graph = use_graph
        self.graph = None
        self.notes = notes if notes is not None else []

    def reset(self) -> None:
        self.cache.length = 0
        self.cache.text_len = 0
        self.cache.key_mask = None

    # ---- the step ------------------------------------------------------------------------------

    def _body(self) -> Tensor:
        """The decode step over static buffers only (what a graph captures)."""
        m = self.model
        x = m.ar_audio_embedding(self.tokens[:, None])
        pe = m.ar_audio_position.pe.index_select(0, self.audio_pos).to(x.dtype)
        x = x + m.ar_audio_position.alpha * pe
        allowed = (self.columns <= self.position) & self.key_mask  # [B, max_len]
        mask = allowed[:, None, None, :]
        for i, block in enumerate(m.h.layers):
            x = _static_block(block, x, mask, self.cache.k[i], self.cache.v[i], self.position)
        return x[:, -1]

    def _capture(self) -> None:
        """Warm up on a side stream, then capture one step (CUDA)."""
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._body()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # Autocast's cache of cast weights must be off while capturing (its tensors would be
        # freed under the graph); the casts are then part of the graph.
        amp = (torch.autocast("cuda", dtype=self.amp_dtype, cache_enabled=False)
               if self.amp_dtype is not None else contextlib.nullcontext())
        with amp, torch.cuda.graph(graph):
            self.out = self._body()
        self.graph = graph

    def prefill(self, x: Tensor, bert: Tensor, prompt: Tensor | None, x_lens: Tensor | None) -> Tensor:
        """Eager prefill into the static cache; returns the last hidden state [B, D]."""
        h = self.model.prefill(x, bert, prompt, self.cache, x_lens)
        if self.cache.key_mask is not None:
            self.key_mask.copy_(self.cache.key_mask[:, :self.max_len])
        else:
            self.key_mask.fill_(True)
        return h

    def step(self, tokens: Tensor, rows: Tensor) -> Tensor:
        """Feed one token for each live row (`rows`: their slots in the batch); returns their
        hidden states [len(rows), D]. Finished rows' slots are computed and ignored."""
        cache = self.cache
        if cache.length >= self.max_len:
            raise RuntimeError("static KV cache is full")
        self.tokens.index_copy_(0, rows, tokens)
        self.position.fill_(cache.length)
        self.audio_pos.fill_(cache.length - cache.text_len)
        if self.use_graph and self.graph is None:
            try:
                self._capture()
            except Exception as exc:  # driver/allocator trouble: run the same step eagerly
                self.use_graph, self.graph = False, None
                self.notes.append(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); "
                                  "the decode step runs without a graph")
        if self.graph is not None:
            self.graph.replay()
            out = self.out
        else:
            out = self._body()
        cache.length += 1
        return out.index_select(0, rows)


def _static_block(block, x: Tensor, mask: Tensor, k_all: Tensor, v_all: Tensor, position: Tensor
                  ) -> Tensor:
    """`gpt_layers.Block` (eval) for one token, writing its key/value at cache column `position` (a
    device tensor) and attending over the whole cache under `mask`."""
    attn = block.self_attn
    B, T, D = x.shape
    H = attn.n_head
    qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)
    q, k, v = qkv.view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
    k_all.index_copy_(2, position, k.to(k_all.dtype))
    v_all.index_copy_(2, position, v.to(v_all.dtype))
    y = F.scaled_dot_product_attention(q.to(k_all.dtype), k_all, v_all, attn_mask=mask).to(x.dtype)
    x = block.norm1(x + attn.out_proj(y.transpose(1, 2).reshape(B, T, D)))
    return block.norm2(x + block.linear2(F.relu(block.linear1(x))))
