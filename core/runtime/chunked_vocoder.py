"""The SoVITS vocoder (HiFi-GAN generator) run over fixed-size, overlapping time chunks.

Why: on the CPU, oneDNN sets its convolutions up again for every input length it has not seen
(measured on a 10 s sentence: ~1 s with every stage in bf16), and every sentence has its own
length. Cut into chunks of two fixed sizes, the decoder only ever sees the shapes it was warmed
up on at load, so all its stages can run in bf16; small chunks also stay in the CPU's caches
(2 vCPU, AMX: a 10 s sentence of a new length in 0.8 s, against 1.9-2.2 s for the whole-sequence
decoder with its narrow stages in fp32 and 1.7 s in plain fp32).

The result is the generator's own output, not an approximation: each chunk carries enough real
context on both sides to cover the receptive field of the layers it runs (computed from the
layers' sizes), and only its core is kept. The last chunk ends exactly where the sequence ends,
so the convolutions' own zero padding there is the original's. A sequence shorter than one chunk
is padded, and the padding is zeroed after every layer, which is what zero padding does for the
whole sequence. In fp32 the chunked output equals the whole-sequence output to float rounding.

Two levels, because the receptive field, counted in latent frames, comes almost all from the
cheap first stage (conv_pre and the 256-channel stage: +-12 frames for v2), while the expensive
later stages need less than +-2 frames: stage A runs to the end of the first upsampling stage
with wide context, stage B runs the rest over stage A's output with narrow context.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.engine.sovits_vocoder import Generator, ResBlock1, ResBlock2

__all__ = ["ChunkConfig", "ChunkedGenerator"]


@dataclass
class ChunkConfig:
    """Chunk sizes. The contexts are derived from the generator; these are the measured best
    sizes for v2 on a 2-vCPU AMX machine (B: 480-800 within 3 %, 960 and up slower)."""
    a_frames: int = 128    # stage A chunk, in latent frames (50 Hz)
    b_samples: int = 640   # stage B chunk, in stage A output samples (500 Hz for v2)
    enabled: bool = True   # False: whole sequence at once (the bench's A/B only)


# ---- receptive radius of each layer kind, in its own input samples (conservative)
def _conv_reach(conv: nn.Module) -> int:
    k, d, p = conv.kernel_size[0], conv.dilation[0], conv.padding[0]
    return max(p, (k - 1) * d - p)


def _up_reach(up: nn.Module) -> int:
    k, s, p = up.kernel_size[0], up.stride[0], up.padding[0]
    return math.ceil(max(k - 1 - p, p) / s) + 1


def _block_reach(block: nn.Module) -> int:
    if isinstance(block, ResBlock1):
        return sum(_conv_reach(c1) + _conv_reach(c2) for c1, c2 in zip(block.convs1, block.convs2))
    return sum(_conv_reach(c) for c in block.convs)


def _spans(n: int, size: int, ctx: int) -> list[tuple[int, int, int]]:
    """Chunks of `size` covering [0, n) for n > size: (input start, core start, core end) each;
    a core keeps `ctx` samples of real input on both sides, except at the sequence's edges."""
    spans, core = [], 0
    while core < n:
        start = max(core - ctx, 0)
        if start + size >= n:            # the last chunk ends exactly at n
            spans.append((n - size, core, n))
            break
        end = start + size - ctx
        spans.append((start, core, end))
        core = end
    return spans


class ChunkedGenerator(nn.Module):
    """Wraps a SoVITS `Generator`: same call, same output, fixed chunk shapes.

    `dtype`: compute dtype under autocast (torch.bfloat16), or None for the weights' own."""

    def __init__(self, gen: nn.Module, dtype: torch.dtype | None = None, cfg: ChunkConfig | None = None) -> None:
        super().__init__()
        self.inner = gen
        self.dtype = dtype
        self.cfg = cfg or ChunkConfig()
        self.k = gen.num_kernels
        strides = [int(u.stride[0]) for u in gen.ups]
        self.rate_a, self.rate_b = strides[0], math.prod(strides[1:])
        self.a_context, self.b_context = self.contexts()
        # a chunk must hold its context on both sides and still leave a core
        self.a_frames = max(self.cfg.a_frames, 4 * self.a_context)
        self.b_samples = max(self.cfg.b_samples, 4 * self.b_context)

    @staticmethod
    def supports(gen: nn.Module) -> bool:
        blocks = getattr(gen, "resblocks", None)
        return (isinstance(gen, Generator) and blocks is not None and len(blocks) > 0
                and all(isinstance(b, (ResBlock1, ResBlock2)) for b in blocks))

    def contexts(self) -> tuple[int, int]:
        """Receptive radius of stage A (latent frames) and stage B (stage A samples), + 2."""
        g, k = self.inner, self.k

        def blocks(i: int) -> int:
            return max(_block_reach(b) for b in g.resblocks[i * k:(i + 1) * k])

        a = _conv_reach(g.conv_pre) + _up_reach(g.ups[0]) + math.ceil(blocks(0) / self.rate_a)
        b, rate = 0.0, 1
        for i in range(1, len(g.ups)):
            b += _up_reach(g.ups[i]) / rate
            rate *= int(g.ups[i].stride[0])
            b += blocks(i) / rate
        b += _conv_reach(g.conv_post) / rate
        return a + 2, math.ceil(b) + 2

    def _chunked(self, x: Tensor, size: int, ctx: int, rate: int, run) -> Tensor:
        """`run(chunk, valid)` over fixed-size chunks of x [B, C, n], `rate` outputs per input
        sample, stitched from the chunks' cores."""
        n = x.size(-1)
        if not self.cfg.enabled:
            return run(x, None)
        if n <= size:
            return run(F.pad(x, (0, size - n)), n if n < size else None)[..., :n * rate]
        parts = []
        for start, core, end in _spans(n, size, ctx):
            y = run(x[..., start:start + size], None)
            parts.append(y[..., (core - start) * rate:(end - start) * rate])
        return torch.cat(parts, dim=-1)

    def forward(self, z: Tensor, g: Tensor | None = None) -> Tensor:
        with torch.autocast(z.device.type, dtype=self.dtype or torch.bfloat16, enabled=self.dtype is not None):
            h = self._chunked(z, self.a_frames, self.a_context, self.rate_a,
                              lambda x, v: self.inner.stage_a(x, g, v))
            y = self._chunked(h, self.b_samples, self.b_context, self.rate_b, self.inner.stage_b)
        return y.float()
