"""The fused decode step, from Python and compiled by TorchScript, gives exactly the tokens of the module path."""
from __future__ import annotations

import copy
import threading

import pytest
import torch

from core.runtime import apply
from core.runtime.decode_step import FusedDecode, ScriptedDecode
from core.runtime.int8 import quantize_gpt, use_lean_int8
from core.runtime.levers import FastPaths
from core.runtime.pipeline import Synthesizer
from tests.core.runtime.test_fastpaths import gpt_inputs, needs_int8, small_gpt


def fused_and_scripted(kv_dtype: torch.dtype):
    base = quantize_gpt(small_gpt())
    use_lean_int8(base)
    base.kv_dtype = kv_dtype
    fused, scripted = copy.deepcopy(base), copy.deepcopy(base)
    fused.decode_layers = FusedDecode(fused)
    scripted.decode_layers = ScriptedDecode(scripted)
    return fused, scripted


@needs_int8
@pytest.mark.parametrize("kv_dtype", [torch.float32, torch.bfloat16])
def test_scripted_decode_gives_the_same_tokens(kv_dtype):
    fused, scripted = fused_and_scripted(kv_dtype)
    x, bert, p = gpt_inputs(fused, text=30)
    texts, berts = [x[0], x[0, :18], x[0, 5:27]], [bert[0], bert[0, :, :18], bert[0, :, 5:27]]
    for kw in (dict(top_k=1), dict(top_k=15, seed=7)):
        for t, b in ((x, bert), (texts, berts)):  # one text; a left-padded batch (key mask)
            a = fused.generate(t, b, p[0], max_new_tokens=30, eos_disabled=True, **kw)
            c = scripted.generate(t, b, p[0], max_new_tokens=30, eos_disabled=True, **kw)
            assert len(a) == len(c) and all(torch.equal(u, v) for u, v in zip(a, c))


@needs_int8
def test_scripted_decode_rows_that_finish_early():
    """Rows leave the batch as they stop (EOS allowed): the row count changes mid-generation."""
    fused, scripted = fused_and_scripted(torch.float32)
    x, bert, p = gpt_inputs(fused, text=30)
    texts, berts = [x[0], x[0, :12], x[0, 3:20]], [bert[0], bert[0, :, :12], bert[0, :, 3:20]]
    kw = dict(top_k=15, seed=3, max_new_tokens=40, min_new_tokens=1)
    a, c = fused.generate(texts, berts, p[0], **kw), scripted.generate(texts, berts, p[0], **kw)
    assert all(torch.equal(u, v) for u, v in zip(a, c))


@needs_int8
def test_scripted_decode_buffers_are_per_thread():
    _, scripted = fused_and_scripted(torch.float32)
    step = scripted.decode_layers
    mine = step._bufs(2)
    seen = []
    t = threading.Thread(target=lambda: seen.append(step._bufs(2)))
    t.start(), t.join()
    assert step._bufs(2) is mine and seen[0] is not mine
    assert len(mine) == 4 * 4 and all(b.shape[0] == 2 for b in mine)


def test_scripted_decode_refuses_an_fp32_gpt():
    with pytest.raises(ValueError):
        ScriptedDecode(small_gpt())


@needs_int8
def test_pipeline_falls_back_when_scripting_fails(model_paths, monkeypatch):
    def broken(model):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(apply, "ScriptedDecode", broken)
    monkeypatch.setattr(apply, "AGREEMENT_GATE", 0.0)    # int8 must stay on whatever the tiny GPT's figure
    synth = Synthesizer(model_paths, fast=FastPaths(warmup=False))
    rep = synth.fast_report
    assert rep.fused_decode and not rep.scripted_decode
    assert isinstance(synth.gpt.decode_layers, FusedDecode)
    assert any("scripted decode unavailable" in n and "no TorchScript here" in n for n in rep.notes)
