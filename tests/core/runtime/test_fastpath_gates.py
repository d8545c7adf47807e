"""Issue 18: a fast path never changes what is said.

- int8 kernels: why 8-bit activations fail on CPUs whose int8 kernel adds product pairs in a
  saturating int16 (AVX2), shown by emulation, tied to this CPU's real kernel, and to fbgemm's
  AVX2 kernel forced in a child process (FBGEMM_ENABLE_INSTRUCTIONS=AVX2);
- load-time gates: a lossy lever that fails its gate is switched off and reported, one that
  passes stays on, batch invariance holds, and verdicts are cached per voice files + CPU.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.engine.gpt import load_gpt
from core.runtime import apply, bf16, gates, int8
from core.runtime.agreement import greedy_tokens, teacher_forced_picks
from core.runtime.decode_step import FusedDecode
from core.runtime.gates import (
    AGREEMENT_GATE, Gate, GateCache, cpu_has_native_bf16, cpu_info, describe_status, voice_identity,
)
from core.runtime.int8 import (
    PROBE_COLUMNS, Int8Linear, _pack_int8, int8_kernel_saturates, int8_reduce_range,
)
from core.runtime.levers import FastPaths
from core.runtime.pipeline import ModelPaths, Synthesizer
from tests.core.runtime.test_fastpaths import assert_batch_invariant, gpt_inputs, needs_int8, small_gpt, small_sovits

ROOT = Path(__file__).resolve().parents[3]
needs_bf16 = pytest.mark.skipif(not cpu_has_native_bf16(), reason="no native bf16 on this CPU")


# ------------------------------------------------------------------ int8 kernel arithmetic


def emulate_int8_linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, reduce_range: bool,
                        saturate: bool) -> tuple[np.ndarray, int]:
    """What `Int8Linear` computes, in exact integers: rows scaled to max |x| = 1 plus probe
    columns (+1, -1), activations quantised to u8 (0..255, or 0..127 with reduce_range) with one
    range for the call, weights per-channel symmetric int8; int32 accumulation, or with
    `saturate` the AVX2 kernel's: each product pair of adjacent k summed in an int16 that
    saturates (vpmaddubsw), then widened. Returns (y, the largest |pair sum| before saturation)."""
    x = np.asarray(x, np.float64)
    s = np.maximum(np.abs(x).max(1, keepdims=True), 1e-30)
    probe = np.zeros((x.shape[0], PROBE_COLUMNS))
    probe[:, 0], probe[:, 1] = 1.0, -1.0
    xin = np.concatenate([x / s, probe], 1).astype(np.float32)
    w = np.asarray(weight, np.float32)
    w_scale = np.abs(w).max(1).astype(np.float64) / 127.0
    wq = np.rint(w / w_scale[:, None]).astype(np.int64)
    wq = np.concatenate([wq, np.zeros((w.shape[0], PROBE_COLUMNS), np.int64)], 1)
    qmax = 127 if reduce_range else 255
    scale = float(np.float32((xin.max() - min(xin.min(), 0.0)) / qmax))
    zero = int(np.rint(-min(xin.min(), 0.0) / scale))
    a = np.clip(np.rint(xin / scale) + zero, 0, qmax).astype(np.int64)
    products = a[:, None, :] * wq[None, :, :]                     # [M, N, K]
    pairs = products[..., 0::2] + products[..., 1::2]
    acc = (np.clip(pairs, -32768, 32767) if saturate else pairs).sum(-1) - zero * wq.sum(1)[None]
    return acc * scale * w_scale[None] * s + bias, int(np.abs(pairs).max())


def hot_layer(seed: int = 0) -> tuple[torch.nn.Linear, torch.Tensor]:
    """A tiny layer and inputs where 8-bit activations overflow an int16 pair sum: some rows'
    inputs are all large where some outputs' weights are all large (as after a LayerNorm, with
    a strongly tuned output channel)."""
    torch.manual_seed(seed)
    lin = torch.nn.Linear(32, 8)
    with torch.no_grad():
        lin.weight[:4] = lin.weight[:4].abs() + 0.1
    x = torch.randn(6, 32)
    x[:3] = torch.rand(3, 32) * 0.5 + 0.5
    return lin, x


def test_saturating_int16_pairs_explain_why_8_bit_inputs_fail_and_7_bit_inputs_do_not():
    lin, x = hot_layer()
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    ref = lin(x).detach().numpy()
    exact8, peak8 = emulate_int8_linear(x.numpy(), w, b, reduce_range=False, saturate=False)
    sat8, _ = emulate_int8_linear(x.numpy(), w, b, reduce_range=False, saturate=True)
    exact7, peak7 = emulate_int8_linear(x.numpy(), w, b, reduce_range=True, saturate=False)
    sat7, _ = emulate_int8_linear(x.numpy(), w, b, reduce_range=True, saturate=True)
    assert peak8 > 32767                                   # 8-bit: pair sums leave int16 ...
    assert np.abs(exact8 - ref).max() < 0.05               # ... harmless with int32 accumulation
    assert np.abs(sat8 - ref).max() > 1.0                  # ... and wrong where they saturate
    assert peak7 <= 32767 and np.array_equal(sat7, exact7) # 7-bit: nothing ever saturates
    assert np.abs(sat7 - ref).max() < 0.06
    # The bound holds for every input, not only these: 2 x 127 x 127 = 32258 <= 32767.
    worst = np.ones((1, 32))
    _, peak = emulate_int8_linear(worst, np.ones((2, 32)), np.zeros(2), reduce_range=True, saturate=True)
    assert peak == 2 * 127 * 127


@needs_int8
def test_the_emulation_is_what_this_cpus_int8_kernel_computes():
    """Ties the emulation to the real kernel: on this CPU the int8 linear matches the emulated
    accumulation it has (int32 with VNNI/AMX, saturating int16 without), not the other one."""
    lin, x = hot_layer()
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    sat = int8_kernel_saturates()
    got = Int8Linear(lin.weight, lin.bias, reduce_range=False)(x).detach().numpy()
    same, _ = emulate_int8_linear(x.numpy(), w, b, reduce_range=False, saturate=sat)
    other, _ = emulate_int8_linear(x.numpy(), w, b, reduce_range=False, saturate=not sat)
    assert np.abs(got - same).max() < 0.1 < np.abs(got - other).max()
    assert int8_reduce_range() == sat    # 7-bit inputs exactly where the kernel saturates


FORCED_AVX2 = r"""
import json, sys, torch
from core.runtime.int8 import Int8Linear, int8_kernel_saturates, int8_reduce_range
from tests.core.runtime.test_fastpath_gates import hot_layer
lin, x = hot_layer()
ref = lin(x)
out = {"engine": torch.backends.quantized.engine, "saturates": int8_kernel_saturates(),
       "reduce_range": int8_reduce_range()}
for name, rr in (("auto", None), ("eight_bit", False)):
    y = Int8Linear(lin.weight, lin.bias, reduce_range=rr)(x)
    out[name] = y.tolist()
    out[name + "_err"] = (y - ref).abs().max().item()
print(json.dumps(out))
"""


@needs_int8
@pytest.mark.skipif(not ("x86" in torch.backends.quantized.supported_engines and
                         os.uname().machine in ("x86_64", "AMD64")), reason="fbgemm's x86 kernels only")
def test_fbgemm_avx2_kernel_forced_saturates_and_reduce_range_fixes_it():
    """fbgemm picks its kernel by its own CPU detection, but honours FBGEMM_ENABLE_INSTRUCTIONS:
    with AVX2 forced, this CPU runs the kernel a patient's AVX2 laptop runs."""
    env = {**os.environ, "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2", "PYTHONPATH": str(ROOT)}
    env.pop("VOICEBANK_INT8_REDUCE_RANGE", None)
    proc = subprocess.run([sys.executable, "-c", FORCED_AVX2], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["saturates"] and out["reduce_range"]          # the probe sees the AVX2 kernel
    assert out["eight_bit_err"] > 1.0 and out["auto_err"] < 0.06
    lin, x = hot_layer()
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    sat8, _ = emulate_int8_linear(x.numpy(), w, b, reduce_range=False, saturate=True)
    exact8, _ = emulate_int8_linear(x.numpy(), w, b, reduce_range=False, saturate=False)
    got = np.array(out["eight_bit"])
    assert np.abs(got - sat8).max() < 0.2 < np.abs(got - exact8).max()


@needs_int8
def test_the_probe_detects_a_saturating_kernel(monkeypatch):
    """`int8_kernel_saturates` reads the kernel's answer, not the CPU flags: a kernel that
    saturates like AVX2's is detected, and then 7-bit inputs are chosen."""
    def saturating(x, packed, reduce_range):
        w = torch.ops.quantized.linear_unpack(packed)[0].int_repr().long()
        qmax = 127 if reduce_range else 255
        a = torch.full_like(x, qmax, dtype=torch.long)          # the probe's input: all at the top
        pairs = (a[:, None, :] * w[None]).reshape(x.shape[0], w.shape[0], -1, 2).sum(-1)
        return (pairs.clamp(-32768, 32767).sum(-1).float() / (qmax * 127))
    monkeypatch.setattr(torch.ops.quantized, "linear_dynamic", saturating, raising=False)
    int8.int8_kernel_saturates.cache_clear()
    try:
        assert int8.int8_kernel_saturates() and int8.int8_reduce_range()
        monkeypatch.setenv("VOICEBANK_INT8_REDUCE_RANGE", "0")
        assert not int8.int8_reduce_range()
    finally:
        monkeypatch.undo()
        int8.int8_kernel_saturates.cache_clear()
    assert int8.int8_kernel_saturates() == (cpu_info().int8_accumulation == "int16 (saturating)")


@needs_int8
def test_reduce_range_reaches_the_fused_decode_step():
    gpt = int8.quantize_gpt(small_gpt())
    for lin in (m for m in gpt.modules() if isinstance(m, Int8Linear)):
        lin.reduce_range = True
    step = FusedDecode(gpt)
    assert all(lin.reduce_range for layer in step.step.layers
               for lin in (layer.in_proj, layer.out_proj, layer.linear1, layer.linear2))
    x, bert, p = gpt_inputs(gpt, text=20)
    plain = gpt.generate(x, bert, p[0], top_k=1, max_new_tokens=12, eos_disabled=True)[0]
    gpt.decode_layers = step
    assert torch.equal(gpt.generate(x, bert, p[0], top_k=1, max_new_tokens=12, eos_disabled=True)[0], plain)


def test_teacher_forced_picks_of_the_reference_are_its_greedy_tokens():
    """The load gate uses the exact GPT's greedy tokens as its picks (no second fp32 run)."""
    gpt = small_gpt()
    x, bert, p = gpt_inputs(gpt, text=20, prompt=30)
    tokens = greedy_tokens(gpt, x, bert, p, 25)
    assert torch.equal(teacher_forced_picks(gpt, x, bert, p, tokens), tokens)


# ------------------------------------------------------------------ gates at load


@pytest.fixture
def voice_files(tmp_path, gpt_ckpt, sovits_pth, tiny_hubert, tiny_bert) -> ModelPaths:
    """The tiny reference voice, copied so that a test may change its files."""
    folder = tmp_path / "voice"
    folder.mkdir()
    return ModelPaths(gpt=Path(shutil.copy(gpt_ckpt, folder / "gpt.ckpt")),
                      sovits=Path(shutil.copy(sovits_pth, folder / "sovits.pth")),
                      hubert=tiny_hubert, bert=tiny_bert)


def corrupting_quantize(monkeypatch):
    """quantize_gpt whose int8 weights are wrong (random): what a broken kernel looks like."""
    real = apply.quantize_gpt

    def broken(model, inplace=False):
        q = real(model, inplace=inplace)
        g = torch.Generator().manual_seed(0)
        for lin in (m for m in q.modules() if isinstance(m, Int8Linear)):
            lin._packed = _pack_int8(torch.randn(lin.out_features, lin.in_features + PROBE_COLUMNS, generator=g))
        return q
    monkeypatch.setattr(apply, "quantize_gpt", broken)


def no_measuring(monkeypatch):
    def fail(*a, **kw):
        raise AssertionError("a gate was measured although its verdict is cached")
    for module, name in ((apply, "greedy_tokens"), (apply, "teacher_forced_picks"), (bf16, "decoder_snr"),
                         (apply, "gpt_probe")):   # where each is looked up when a gate is measured
        monkeypatch.setattr(module, name, fail)


@needs_int8
def test_a_failing_int8_gate_switches_it_off_reports_it_and_is_remembered(voice_files, monkeypatch):
    with monkeypatch.context() as m:
        corrupting_quantize(m)
        synth = Synthesizer(voice_files, fast=FastPaths(warmup=False))
    rep = synth.fast_report
    gate = rep.gates["int8_gpt"]
    assert not rep.int8_gpt and not gate["passed"] and gate["value"] < AGREEMENT_GATE
    assert not (rep.lean_int8 or rep.fused_decode or rep.scripted_decode)
    assert any("int8 GPT refused" in n and f"{gate['value']:.2f}" in n for n in rep.notes)
    # The exact GPT is back: fp32 linears, the tokens of the file's own model.
    assert type(synth.gpt.h.layers[0].linear1) is torch.nn.Linear and synth.gpt.decode_layers is None
    exact = load_gpt(voice_files.gpt)
    x, bert, p = gpt_inputs(exact, text=20, prompt=30)
    kw = dict(top_k=1, max_new_tokens=20, eos_disabled=True)
    if rep.bf16_kv_cache:      # gated on its own (against fp32): compare like with like
        exact.kv_dtype = torch.bfloat16
    assert torch.equal(synth.gpt.generate(x, bert, p, **kw)[0], exact.generate(x, bert, p, **kw)[0])
    # Shown to the user: the status lines name the lever, OFF, and the figure.
    lines = describe_status(rep.status())
    assert any(line.startswith("int8 GPT: OFF (agreement") for line in lines)
    assert lines[0].startswith("This computer: ") and cpu_info().model in lines[0]

    no_measuring(monkeypatch)               # kernels fine again, but the verdict is cached:
    again = Synthesizer(voice_files, fast=FastPaths(warmup=False)).fast_report
    assert again.gate_cache == "hit" and not again.int8_gpt and again.gates["int8_gpt"]["cached"]
    assert any("cached verdict" in n for n in again.notes)


@needs_int8
def test_passing_gates_stay_on_and_the_cache_is_used_then_invalidated(voice_files, monkeypatch,
                                                                     own_gate_cache):
    monkeypatch.setattr(apply, "AGREEMENT_GATE", 0.0)   # the tiny GPT's figure is ~0.96: pass for sure
    first = Synthesizer(voice_files, fast=FastPaths(warmup=False)).fast_report
    assert first.int8_gpt and first.fused_decode and first.gate_cache == "miss" and first.gate_s > 0
    assert first.gates["int8_gpt"]["passed"] and first.gates["int8_gpt"]["steps"] == gates.GATE_STEPS
    levers = {"int8_gpt"} | ({"bf16_kv_cache", "bf16_bert", "bf16_decoder"} if cpu_has_native_bf16() else set())
    assert set(first.gates) == levers and not any(g["cached"] for g in first.gates.values())
    assert (own_gate_cache / "fastpath-gates.json").is_file()

    with monkeypatch.context() as m:        # second load: verdicts read, nothing measured
        no_measuring(m)
        second = Synthesizer(voice_files, fast=FastPaths(warmup=False)).fast_report
    assert second.gate_cache == "hit" and second.gate_s == 0 and second.int8_gpt
    assert all(g["cached"] for g in second.gates.values())
    assert {k: g["value"] for k, g in second.gates.items()} == {k: g["value"] for k, g in first.gates.items()}

    st = voice_files.gpt.stat()             # the voice file changed: measured again
    os.utime(voice_files.gpt, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert Synthesizer(voice_files, fast=FastPaths(warmup=False)).fast_report.gate_cache == "miss"

    other = gates.CpuInfo(**{**cpu_info().signature(), "model": "AMD EPYC (AVX2 only)"})
    monkeypatch.setattr(apply, "cpu_info", lambda: other)   # another CPU: measured again
    rep = Synthesizer(voice_files, fast=FastPaths(warmup=False)).fast_report
    assert rep.gate_cache == "miss" and "AMD EPYC" in rep.cpu


@needs_bf16
def test_failing_snr_gates_keep_bert_and_decoder_exact(voice_files, monkeypatch):
    monkeypatch.setattr(apply, "SNR_GATE_DB", 500.0)
    synth = Synthesizer(voice_files, fast=FastPaths(warmup=False, int8_gpt=False, bf16_kv_cache=False))
    rep = synth.fast_report
    for lever in ("bf16_bert", "bf16_decoder"):
        assert not getattr(rep, lever) and not rep.gates[lever]["passed"] and np.isfinite(rep.gates[lever]["value"])
        assert any(n.startswith(gates.LEVER_LABELS[lever] + " refused") for n in rep.notes)
    assert all(p.dtype == torch.float32 for p in synth.bert.model.parameters())
    assert synth.sovits.dec.dtype is None and rep.chunked_decoder


@needs_int8
def test_gated_int8_gpt_stays_batch_invariant(tiny_hubert, tiny_bert):
    """A GPT that passed its gate at load (models in memory: measured, nothing cached) decodes
    a batch to the tokens of each text alone; the gate leaves no state behind."""
    from core.engine.features import load_bert, load_hubert

    synth = Synthesizer.from_models(small_gpt(), small_sovits(), load_hubert(tiny_hubert), load_bert(tiny_bert),
                                    fast=FastPaths(bf16_kv_cache=False, warmup=False, bf16_bert=False,
                                                   bf16_decoder=False, chunked_decoder=False))
    rep = synth.fast_report
    assert rep.gate_cache == "off" and rep.int8_gpt and rep.gates["int8_gpt"]["value"] >= AGREEMENT_GATE
    assert_batch_invariant(synth.gpt)


@needs_int8
def test_a_gate_that_cannot_be_measured_keeps_the_exact_path(tiny_hubert, monkeypatch):
    """If the GPT probe cannot even be built, the GPT levers fail closed (and nothing is cached)."""
    from core.engine.features import load_hubert

    def broken(*a, **kw):
        raise RuntimeError("no text front end")
    monkeypatch.setattr(apply, "gpt_probe", broken)
    synth = Synthesizer.from_models(small_gpt(), small_sovits(), load_hubert(tiny_hubert), None,
                                    fast=FastPaths(warmup=False, bf16_decoder=False, chunked_decoder=False))
    rep = synth.fast_report
    assert not rep.int8_gpt and rep.gates["int8_gpt"]["value"] is None and not rep.gates["int8_gpt"]["passed"]
    assert type(synth.gpt.h.layers[0].linear1) is torch.nn.Linear
    assert any("could not be measured (RuntimeError: no text front end)" in n for n in rep.notes)
    assert "int8 GPT: OFF (not measurable" in "\n".join(describe_status(rep.status()))


# ------------------------------------------------------------------ the cache and the figures


def test_cache_round_trip_damage_and_cap(tmp_path, monkeypatch):
    cache = GateCache(tmp_path / "g.json")
    gate = Gate.judge("int8_gpt", "agreement", 0.95, 0.04, 1.5, 50, "int8 GPT")
    assert not gate.passed and cache.get("k") == {}
    assert cache.put("k", {"int8_gpt": gate}, {"cpu": "x"})
    got = cache.get("k")["int8_gpt"]
    assert got.cached and not got.passed and got.value == 0.04 and got.seconds == 0
    snr = Gate.judge("bf16_decoder", "snr_db", 30.0, float("inf"))
    cache.put("k", {"bf16_decoder": snr}, {})               # merged into the same entry
    assert set(cache.get("k")) == {"int8_gpt", "bf16_decoder"} and cache.get("k")["bf16_decoder"].passed
    (tmp_path / "g.json").write_text("{not json")
    assert cache.get("k") == {}                             # damaged: measured again, no crash
    (tmp_path / "g.json").write_text(json.dumps({"version": 1, "entries": {"k": {"gates": {"x": {"lever": 3}}}}}))
    assert cache.get("k") == {}
    monkeypatch.setattr(gates, "CACHE_MAX_ENTRIES", 3)
    for i in range(5):
        cache.put(f"k{i}", {"int8_gpt": gate}, {})
    assert [k for k in json.loads((tmp_path / "g.json").read_text())["entries"]] == ["k2", "k3", "k4"]
    (tmp_path / "a-file").write_text("")
    assert not GateCache(tmp_path / "a-file" / "g.json").put("k", {"int8_gpt": gate}, {})  # unwritable: no error


def test_voice_identity_follows_the_files(tmp_path):
    gpt, sovits = tmp_path / "g.ckpt", tmp_path / "s.pth"
    gpt.write_bytes(b"a"), sovits.write_bytes(b"b")
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "model.safetensors").write_bytes(b"c")
    first = voice_identity(gpt, sovits, bert)
    gpt.write_bytes(b"aa")
    assert voice_identity(gpt, sovits, bert) != first
    assert voice_identity(tmp_path / "nope", sovits) is None
    cpu = cpu_info()
    assert gates.gate_key(first, cpu) != gates.gate_key(voice_identity(gpt, sovits, bert), cpu)


def test_cpu_info_names_the_isa_and_a_forced_cap(monkeypatch):
    info = cpu_info()
    text = info.summary()
    assert info.model in text and info.torch_capability in text and "int8 kernel adds in" in text
    if "avx2" in info.flags:
        assert "AVX2" in info.isa()
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert not cpu_has_native_bf16()                         # capped: runs as an AVX2 CPU would
    assert "ATEN_CPU_CAPABILITY=avx2" in gates.forced_isa()


def test_describe_status_lines():
    status = {"cpu": "Some CPU; ISA AVX2", "cache": "miss", "gate_s": 2.5, "on": ["fold_weight_norm"],
              "notes": ["int8 GPT refused on this CPU for this voice: agreement 0.04 < 0.95; the exact path is used"],
              "gates": {"int8_gpt": Gate.judge("int8_gpt", "agreement", 0.95, 0.04, 2.0, 50).as_dict(),
                        "bf16_decoder": Gate.judge("bf16_decoder", "snr_db", 30.0, 41.23).as_dict()}}
    lines = describe_status(status)
    assert lines[0] == "This computer: Some CPU; ISA AVX2"
    assert "int8 GPT: OFF (agreement 0.04 (2 of 50 greedy tokens), gate >= 0.95; checked in 2.0 s)" in lines
    assert any(line.startswith("bf16 decoder: on (41.2 dB SNR, gate >= 30 dB") for line in lines)
    assert any("measured at load (2.5 s)" in line for line in lines)
    assert describe_status(None) == ["No speed details were reported for this voice."]


def test_gate_module_imports_no_torch():
    """The GUI formats gate figures with it; the GUI never imports torch."""
    code = ("import sys; import core.runtime.gates as g; "
            "g.describe_status({'gates': {}}); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
