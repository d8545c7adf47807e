"""Switching the fast paths on when a Synthesizer loads, each lossy one behind its gate.

`apply_fast_paths` converts a freshly loaded Synthesizer's models in place as `FastPaths` asks
(`core.runtime.levers`: the table of levers) and returns a `FastPathReport`. Every lossy lever
(int8 GPT, bf16 KV cache, bf16 BERT, bf16 decoder) is measured against the exact path on this
CPU and these models (`core.runtime.agreement` for the GPT's tokens, `core.runtime.bf16` for
SNR), its verdict recorded as a `gates.Gate` and cached per voice files + CPU
(`core.runtime.gates`), and the lever left off for that load where it fails.
"""
from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor, nn

from core.runtime.agreement import GptProbe, gpt_probe, greedy_tokens, teacher_forced_picks
from core.runtime.bf16 import use_bf16_bert, use_cpu_decoder
from core.runtime.chunked_vocoder import ChunkedGenerator
from core.runtime.decode_step import FusedDecode, ScriptedDecode
from core.runtime.gates import (
    AGREEMENT_GATE, GATE_STEPS, LEVER_LABELS, SNR_GATE_DB, Gate, GateCache, cpu_has_native_bf16, cpu_info,
    gate_key,
)
from core.runtime.int8 import fp32_layers, int8_available, quantize_gpt, restore_fp32_gpt, use_lean_int8
from core.runtime.levers import FastPathReport, FastPaths

__all__ = ["apply_fast_paths", "fold_sovits"]


def fold_sovits(sovits: nn.Module) -> nn.Module:
    """The `fold_weight_norm` lever (exact): SoVITS's weight_g/weight_v baked into plain weights."""
    from core.engine.sovits_modules import fold_weight_norm

    return fold_weight_norm(sovits)


def apply_fast_paths(synth: Any, fast: FastPaths, voice: dict[str, Any] | None = None,
                     cache: GateCache | None = None) -> FastPathReport:
    """Convert a freshly loaded Synthesizer's models in place as `fast` asks; returns what was done.

    Every lossy lever is gated at load against the exact path on this CPU and these models
    (`core.runtime.gates`) and left off where it fails. `voice`: the identity of the
    voice's files (`gates.voice_identity`); with it the verdicts are read from and saved
    to the gate cache (`cache`, default the user cache file), so a voice already checked on this
    machine loads without measuring. Without it (models built in memory) every gate is measured.
    Called by `Synthesizer.__init__`; the warm-up is separate (`core.runtime.warmup`), it needs the models
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
        from core.runtime.cuda_decode import StaticDecode

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
