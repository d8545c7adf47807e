"""The static-cache decode path (the GPU's CUDA-graph path, run here on the CPU without a graph)
gives the eager path's tokens."""
from __future__ import annotations

import pytest
import torch

from core.engine.gpt import GPTConfig, Text2Semantic
from core.runtime.cuda_decode import LENGTH_BUCKET, StaticDecode, StaticDecoder
from core.runtime.levers import FastPaths


def small_gpt(seed: int = 0, eos_boost: float = 0.0) -> Text2Semantic:
    torch.manual_seed(seed)
    cfg = GPTConfig(n_layer=3, hidden_dim=128, embedding_dim=128, n_head=4, linear_units=512)
    gpt = Text2Semantic(cfg).eval()
    if eos_boost:  # make EOS likely, so that rows of a batch stop at different steps
        with torch.no_grad():
            gpt.ar_predict_layer.weight[cfg.eos] *= eos_boost
    return gpt


def inputs(gpt: Text2Semantic, seed: int = 1, text: int = 30, prompt: int = 40):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, gpt.cfg.phoneme_vocab_size, (text,), generator=g)
    bert = torch.randn(gpt.cfg.bert_dim, text, generator=g)
    p = torch.randint(0, gpt.cfg.eos, (prompt,), generator=g)
    return x, bert, p


def test_static_decode_greedy_equals_eager_batch_of_one():
    gpt = small_gpt()
    x, bert, p = inputs(gpt)
    eager = gpt.generate(x, bert, p, top_k=1, max_new_tokens=60, eos_disabled=True)
    gpt.static_decode = StaticDecode()
    static = gpt.generate(x, bert, p, top_k=1, max_new_tokens=60, eos_disabled=True)
    assert torch.equal(eager[0], static[0]) and len(static[0]) == 60


def test_static_decode_batched_rows_finishing_at_different_steps():
    gpt = small_gpt(eos_boost=3.0)
    x, bert, p = inputs(gpt)
    texts, berts = [x, x[:18], x[4:27]], [bert, bert[:, :18], bert[:, 4:27]]
    kw = dict(top_k=5, max_new_tokens=40, min_new_tokens=3, seed=7)
    eager = gpt.generate(texts, berts, p, **kw)
    gpt.static_decode = StaticDecode()
    static = gpt.generate(texts, berts, p, **kw)
    assert len({len(t) for t in eager}) > 1  # the rows really stopped at different steps
    assert [t.tolist() for t in static] == [t.tolist() for t in eager]


def test_static_decoder_is_reused_and_reset_between_calls():
    gpt = small_gpt()
    x, bert, p = inputs(gpt)
    sd = StaticDecode()
    gpt.static_decode = sd
    first = gpt.generate(x, bert, p, top_k=1, max_new_tokens=20, eos_disabled=True)
    second = gpt.generate(x[:25], bert[:, :25], p, top_k=1, max_new_tokens=20, eos_disabled=True)
    assert len(sd._decoders) == 1  # same batch and length bucket: one cache, reused
    (dec,) = sd._decoders.values()
    assert isinstance(dec, StaticDecoder) and dec.max_len == LENGTH_BUCKET and not dec.use_graph
    gpt.static_decode = None
    assert torch.equal(first[0], gpt.generate(x, bert, p, top_k=1, max_new_tokens=20, eos_disabled=True)[0])
    assert torch.equal(second[0], gpt.generate(x[:25], bert[:, :25], p, top_k=1, max_new_tokens=20,
                                               eos_disabled=True)[0])


def test_static_decoder_refuses_to_overrun_its_cache():
    gpt = small_gpt()
    dec = StaticDecoder(gpt, 1, 8)
    x, bert, _ = inputs(gpt, text=6)
    dec.prefill(x[None], bert[None], None, None)
    dec.step(torch.tensor([1]), torch.tensor([0]))
    dec.step(torch.tensor([1]), torch.tensor([0]))
    with pytest.raises(RuntimeError, match="full"):
        dec.step(torch.tensor([1]), torch.tensor([0]))


def test_cuda_graph_lever_is_cuda_only():
    assert FastPaths.for_device("cuda").cuda_graph and not FastPaths.plain().cuda_graph
    # On the CPU the lever is ignored: no static decoder is attached (see test_fastpaths' pipeline tests).


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_decode_equals_eager_on_gpu():  # pragma: no cover - no GPU in CI
    gpt = small_gpt().cuda()
    x, bert, p = inputs(gpt)
    eager = gpt.generate(x, bert, p, top_k=1, max_new_tokens=60, eos_disabled=True)
    gpt.static_decode = StaticDecode(use_graph=True)
    graphed = gpt.generate(x, bert, p, top_k=1, max_new_tokens=60, eos_disabled=True)
    (dec,) = gpt.static_decode._decoders.values()
    assert dec.graph is not None, gpt.static_decode.notes
    assert torch.equal(eager[0], graphed[0])
