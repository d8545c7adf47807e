"""The speed levers of synthesis (`FastPaths`) and what a load switched on (`FastPathReport`).

Each lever is switchable and each lossy one is checked against the plain path.

The plain path (fp32, the reference numerics) stays the definition of "correct"; a fast path
is only used where it is known to give the same output within its gate. Exact levers are
proven by tests; every LOSSY lever is also gated when a voice is loaded, on the user's CPU and
that voice's models (`core.runtime.gates`: figures in the voice's status, the Speak
page's "Speed checks" and `voicebank selftest`; verdicts cached per voice files + CPU + ISA +
torch), and left off for that load where it fails:

| lever | what it does | gate (checked where) |
| --- | --- | --- |
| `fold_weight_norm` | bakes SoVITS's weight_g/weight_v into plain weights at load | == plain within 1e-5 (tests) |
| `int8_gpt` | the GPT's 24 x 4 transformer linears as per-channel int8 weights, dynamically quantised activations (fbgemm/oneDNN kernels); activations in 7 bits (`reduce_range`) where the CPU's int8 kernel adds product pairs in a saturating int16 (AVX2 without VNNI: measured by `int8_kernel_saturates`), 8 bits where it accumulates in int32 (VNNI/AMX) | >= 95 % same greedy tokens over 100 teacher-forced steps against the fp32 GPT (checked at load, cached; tests, `voicebank bench`) |
| `lean_int8` | int8 decode steps (<= 8 rows) write the scaled input into a preallocated buffer whose probe columns are filled once: ~6 ops per linear instead of ~10 (the fused step below always calls its linears this way) | bit-identical to `int8_gpt` alone (tests) |
| `fused_decode` | int8 decode steps run the 24 layers as one plain loop (`core.runtime.decode_step.FusedDecode`) instead of ~190 module calls | bit-identical to `int8_gpt` alone (tests) |
| `scripted_decode` | the same fused decode step compiled by TorchScript (`ScriptedDecode`): the ~1000 small ops of a step run from C++ instead of Python (8.5 -> 4.6 ms a step on 2 vCPU); falls back to `fused_decode` if scripting fails | bit-identical to `fused_decode` (tests) |
| `bf16_kv_cache` | the GPT's key/value cache (and so decode attention) in bf16: half the bytes read per decode step; only on CPUs with native bf16; on by default, at the cost of EXACT batch invariance (a batched row can differ from the text alone on a near-tied token; `--no-bf16-kv-cache` restores it) | >= 95 % same greedy tokens over 100 steps, the GPT as it runs (int8 if on) against fp32 (checked at load, cached; tests, `voicebank bench`) |
| `chunked_decoder` | the HiFi-GAN generator runs over overlapping chunks of two fixed sizes (`core.runtime.chunked_vocoder`): oneDNN never sets up a new shape for a new sentence length, and small chunks stay in cache | == plain within float rounding in fp32 (tests: the context covers the receptive field) |
| `bf16_decoder` | the generator under bf16 autocast (with `chunked_decoder`, every stage; without it, whole-sequence bf16, which pays ~1 s of oneDNN set-up per new length: the bench's A/B only) | only on CPUs with native bf16 (AVX512-BF16 / AMX, no ISA cap below them) and only if its output is >= 30 dB SNR against the fp32 whole-sequence generator on the loaded model (checked at load, cached) |
| `cuda_graph` | CUDA only: the GPT decodes over a static KV cache with its decode step captured as a CUDA graph (`core.runtime.cuda_decode`); falls back to the eager step if capture fails. UNMEASURED (no GPU when written) | same greedy tokens as the eager path (tests, CPU without a graph) |
| `bf16_bert` | BERT-large's weights in bf16 (1.3 GB -> 0.65 GB, and about 2.5x faster), only on CPUs with native bf16 | its features >= 30 dB SNR against fp32 on the loaded model (checked at load, cached; fp32 kept otherwise) and >= 95 % same greedy GPT tokens (`voicebank bench`) |
| `threads` | torch intra-op threads for synthesis (None: leave torch's default, all cores); the CPU default is `core.runtime.threads.pick_threads()` at load: the usable cores minus those other processes keep busy, so a busy neighbour does not make OpenMP's spinning collapse (`VOICEBANK_THREADS=N` pins it) | - |
| `overlap` | in `stream()`/`synthesize()`, the GPT of batch n+1 runs in a worker thread while batch n is vocoded (default only with >= 4 cores) | same audio as sequential (tests) |
| `warmup` | one short synthesis pass at load (oneDNN primitives, allocator) | first synthesis <= 2x a warm one (bench) |

A later lossy lever (an int8 or ONNX vocoder) gets its gate the same way: measured in
`core.runtime.apply.apply_fast_paths` against the exact path (SNR for audio, greedy agreement for tokens), recorded
as a `gates.Gate`, cached, and the lever left off where it fails.

The GPT head (`ar_predict_layer`) and `bert_proj` stay fp32: the head decides the token, is 2 %
of the weights, and `Text2Semantic` reads its dtype/device. The int8 model is an inference-only
copy (or an in-place conversion of the pipeline's own model, undone if its gate fails); training
code never sees it.

`FastPaths.for_device(...)` is what the pipeline uses: the default CPU levers on the CPU
(overlap from 4 cores); on CUDA only the exact ones and the CUDA-graph decode step. `FastPaths.plain()` is the
reference path.

Where each lever lives: `core.runtime.int8` (int8 GPT, lean int8), `core.runtime.decode_step`
(fused and scripted decode), `core.runtime.bf16` (bf16 decoder and BERT, chunked decoder),
`core.runtime.cuda_decode` (CUDA graph), `core.runtime.apply` (switching them on at load, each
lossy one behind its gate, and the bf16 KV cache), `core.runtime.warmup`, and the pipeline
(`threads`, `overlap`).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from core.runtime.gates import Gate
from core.runtime.threads import pick_threads

__all__ = ["FastPaths", "FastPathReport"]


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
            # For the same reason the thread count leaves out the cores other processes keep
            # busy at load (`core.runtime.threads`: the rule; VOICEBANK_THREADS pins it).
            return cls(overlap=(os.cpu_count() or 1) >= 4, threads=pick_threads().threads)
        return replace(cls.plain(), fold_weight_norm=True, cuda_graph=True, warmup=True)


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
    # The load-time gates of the lossy levers (`core.runtime.gates`): lever -> Gate.as_dict()
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

