"""Continuous batching (core/runtime/batching.py) on the tiny models: sentences that join a running
GPT batch at a step boundary, and leave it when they end, get exactly the tokens they get alone
(greedy); which sentences join; the order a caller's sentences are spoken in."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from core.runtime.batching import Caller, DecodingBatch, admit, in_order, plan_caller, speak
from core.runtime.levers import FastPaths
from core.runtime.pipeline import SynthesisOptions, Synthesizer
from core.watermark import detect

TEXTS = ["你好世界。", "今天天气很好。我们去公园散步。", "Hello world, this is a test!", "这是一个测试。"]
GREEDY = SynthesisOptions(top_k=1, max_new_tokens=16, noise_scale=0.0, pause_s=0.0)


@pytest.fixture(scope="module", params=["plain", "int8"])
def synth(request, model_paths, ref_wav) -> Synthesizer:
    # int8 with the fused decode step: the step the CPU runs by default; the bf16 KV cache is
    # off because it is not batch-invariant by design (core/runtime/levers.py)
    fast = FastPaths.plain() if request.param == "plain" else replace(
        FastPaths(), bf16_kv_cache=False, bf16_decoder=False, bf16_bert=False, warmup=False)
    s = Synthesizer(model_paths, fast=fast)
    s.set_reference(ref_wav, "参考音频里说的话")
    return s


def alone(synth: Synthesizer, caller: Caller, index: int, options: SynthesisOptions) -> torch.Tensor:
    """The sentence through Text2Semantic.generate by itself (the pipeline's GPT stage)."""
    return synth._semantic_tokens([caller.plan[index][1]], options, None, options.max_new_tokens)[0]


def callers_for(synth, texts, options=GREEDY) -> list[Caller]:
    return [plan_caller(synth, f"c{i}", t, options, 7) for i, t in enumerate(texts)]


def run(batch: DecodingBatch, joins: dict[int, list[tuple[Caller, int]]], steps: int = 200):
    """Advance `batch`, joining `joins[step]` before that step; returns {(caller id, index): tokens}
    and the step each sentence ended at."""
    out, ended_at = {}, {}
    for step in range(steps):
        batch.join(joins.get(step, []))
        for caller, index, tokens in batch.advance():
            out[(caller.id, index)] = tokens
            ended_at[(caller.id, index)] = step
        if not batch.rows and step > max(joins):
            break
    return out, ended_at


def test_joining_and_leaving_a_running_batch_gives_the_tokens_of_each_alone(synth):
    callers = callers_for(synth, TEXTS)
    # one sentence starts alone; others join while it decodes (different prefill lengths,
    # different steps), two at once at step 5; the first ones leave while later ones go on
    joins = {0: [(callers[0], 0)], 3: [(callers[1], 0)], 5: [(callers[2], 0), (callers[3], 0)],
             9: [(callers[1], 1)]}
    got, ended_at = run(DecodingBatch(synth, GREEDY), joins)
    assert set(got) == {("c0", 0), ("c1", 0), ("c2", 0), ("c3", 0), ("c1", 1)}
    for (cid, index), tokens in got.items():
        caller = next(c for c in callers if c.id == cid)
        expected = alone(synth, caller, index, GREEDY)
        assert torch.equal(tokens, expected), (cid, index)
    # each left as soon as it had its 16 tokens, not when the batch ended
    assert ended_at[("c0", 0)] == 15 and ended_at[("c1", 0)] == 18 and ended_at[("c1", 1)] == 24


def test_a_row_whose_caller_went_away_leaves_and_the_others_go_on(synth):
    callers = callers_for(synth, TEXTS[:3])
    batch = DecodingBatch(synth, GREEDY)
    batch.join([(c, 0) for c in callers])
    for _ in range(4):
        assert batch.advance() == []
    batch.drop(lambda c: c.id == "c1")
    assert [row.caller.id for row in batch.rows] == ["c0", "c2"]
    got, _ = run(batch, {0: [(callers[1], 1)]})
    assert set(got) == {("c0", 0), ("c2", 0), ("c1", 1)}
    for (cid, index), tokens in got.items():
        caller = next(c for c in callers if c.id == cid)
        assert torch.equal(tokens, alone(synth, caller, index, GREEDY))


def test_a_sentence_ends_at_eos_and_the_cache_shrinks(synth):
    """EOS made likely (a hook raises its logit from the 12th token of row 0 on): that row leaves
    early with its draw before EOS, the batch's cache drops the columns only it used."""
    callers = callers_for(synth, ["今天天气很好，我们去公园散步，然后回家。", "你好。"])
    batch = DecodingBatch(synth, replace(GREEDY, max_new_tokens=30))
    batch.join([(callers[0], 0)])
    for _ in range(3):
        batch.advance()
    batch.join([(callers[1], 0)])
    long_row_len = int(batch.cache.key_mask[0].sum())
    eos = synth.gpt.cfg.eos

    def push_eos(module, inputs, out):
        if batch.rows and batch.rows[0].caller is callers[0] and int(batch.n[0]) >= 12:
            out[0, eos] = 1e4
        return out

    hook = synth.gpt.ar_predict_layer.register_forward_hook(push_eos)
    try:
        ended = []
        while not ended:
            ended = batch.advance()
    finally:
        hook.remove()
    (caller, index, tokens), = ended
    assert caller is callers[0] and len(tokens) == 12          # the EOS draw is not kept
    assert [row.caller.id for row in batch.rows] == ["c1"]
    assert batch.cache.length == int(batch.cache.key_mask[0].sum()) < long_row_len + 12


def test_admit_puts_first_sentences_first_then_one_each_in_turn():
    a = Caller("a", [("s", None)] * 4, GREEDY, 1, decoded=1, started=2)
    b = Caller("b", [("s", None)] * 3, GREEDY, 1)
    c = Caller("c", [("s", None)] * 2, GREEDY, 1)
    picks = admit([a, b, c], 4)
    assert [(x.id, i) for x, i in picks] == [("b", 0), ("c", 0), ("a", 2), ("a", 3)]
    assert admit([a, b, c], 4) == []                # b and c wait for their first audio
    b.decoded = 1
    assert [(x.id, i) for x, i in admit([a, b, c], 1)] == [("b", 1)]


def test_sentences_are_spoken_in_order_and_watermarked(synth):
    caller, = callers_for(synth, ["你好世界。今天天气很好。这是一个测试。"], replace(GREEDY, pause_s=0.3))
    batch = DecodingBatch(synth, caller.options)
    tokens = {i: alone(synth, caller, i, caller.options) for i in range(3)}
    assert list(in_order(caller, 1, tokens[1])) == []          # sentence 0 is not decoded yet
    audio = []
    for i, t in in_order(caller, 0, tokens[0]):
        audio.append(speak(batch, caller, i, t))
    assert caller.decoded == caller.done == 2 and list(caller.ready) == []
    for i, t in in_order(caller, 2, tokens[2]):
        audio.append(speak(batch, caller, i, t))
    assert caller.finished
    whole = np.concatenate(audio)
    assert abs(caller.at_s - len(whole) / Synthesizer.SAMPLE_RATE) < 1e-6
    found = detect(whole, Synthesizer.SAMPLE_RATE)
    assert found.found and found.voice_id == 7


def test_per_row_positions_are_the_same_sums_as_the_cache_position(synth):
    """Text2Semantic.step(positions=...) (the hook continuous batching adds) gives bit-identical
    hidden states to the plain step when every row is at the cache's position."""
    gpt = synth.gpt
    torch.manual_seed(0)
    x = torch.randint(0, 100, (2, 7))
    bert = torch.randn(2, gpt.cfg.bert_dim, 7)
    prompt = torch.randint(0, 1000, (2, 5))
    out = []
    with torch.inference_mode():
        for positions in (None, torch.tensor([5, 5])):
            cache = gpt.new_cache(2, 20)
            gpt.prefill(x, bert, prompt, cache)
            out.append(gpt.step(torch.tensor([3, 9]), cache, positions=positions))
    assert torch.equal(out[0], out[1])
