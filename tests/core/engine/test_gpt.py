"""GPT (text-to-semantic) model: reference conformance, KV cache, sampling, training pass."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from core.engine.checkpoint import CheckpointError, load_checkpoint
from core.engine.gpt import (
    GPTConfig,
    Text2Semantic,
    check_gpt,
    checkpoint_weights,
    gpt_from_checkpoint,
    load_gpt,
)
from core.engine.gpt_sampling import penalise, sample_next, sampling_probs

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"
needs_ref = pytest.mark.skipif(not (REF / "s1_tiny.ckpt").exists(),
                               reason=f"reference data not found at {REF}")

SMALL = {"model": {"vocab_size": 1025, "phoneme_vocab_size": 732, "embedding_dim": 32,
                   "hidden_dim": 32, "head": 4, "linear_units": 128, "n_layer": 2, "dropout": 0,
                   "EOS": 1024}, "data": {"max_sec": 54}}


def small_model(seed: int = 0) -> Text2Semantic:
    torch.manual_seed(seed)
    model = Text2Semantic(GPTConfig.from_checkpoint_config(SMALL)).eval()
    with torch.no_grad():  # sharper random logits, so that decoding is not all ties
        model.ar_predict_layer.weight.mul_(8.0)
        model.ar_text_position.alpha.fill_(0.5)
        model.ar_audio_position.alpha.fill_(0.5)
    return model


def inputs(n_text: int = 9, n_prompt: int = 6, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 732, (1, n_text), generator=g)
    bert = torch.randn(1, 1024, n_text, generator=g)
    prompt = torch.randint(0, 1024, (n_prompt,), generator=g)
    return x, bert, prompt


# ---------------------------------------------------------------------------------------------
# Reference conformance


@pytest.fixture(scope="module")
def tiny() -> Text2Semantic:
    return load_gpt(REF / "s1_tiny.ckpt")


@pytest.fixture(scope="module")
def expected() -> dict:
    return torch.load(REF / "expected.pt", map_location="cpu", weights_only=True)


@needs_ref
def test_conformance(tiny, expected):
    res = check_gpt(tiny, expected)
    assert set(res) == {"t2s_text_pos", "t2s_logits", "t2s_loss", "t2s_acc", "greedy_tokens"}
    assert res["greedy_tokens"] == 0
    for key, err in res.items():
        assert err <= 1e-4, (key, err)


@needs_ref
def test_greedy_tokens_exact(tiny, expected):
    prompt = expected["greedy_prompt"][0]
    new = tiny.generate(expected["t2s_x"][:1, :15], expected["t2s_bert"][:1, :, :15], prompt,
                        top_k=1, max_new_tokens=41)[0]
    assert torch.equal(torch.cat([prompt, new]), expected["greedy_tokens"][0])


@needs_ref
def test_load_gpt_is_fp32_eval(tiny):
    assert not tiny.training
    assert all(p.dtype == torch.float32 for p in tiny.parameters())
    assert tiny.cfg.hidden_dim == 128 and tiny.cfg.n_layer == 2  # from the file, not hard-coded


@needs_ref
def test_wrong_weights_refused():
    ckpt = load_checkpoint(REF / "s1_tiny.ckpt")
    del ckpt["weight"]["model.ar_predict_layer.weight"]
    with pytest.raises(CheckpointError, match="missing"):
        gpt_from_checkpoint(ckpt)


@needs_ref
def test_cached_decode_matches_tiny(tiny, expected):
    _check_cache_against_recompute(tiny, expected["t2s_x"][:1, :15],
                                   expected["t2s_bert"][:1, :, :15], expected["greedy_prompt"][0])


# ---------------------------------------------------------------------------------------------
# KV cache


def _check_cache_against_recompute(model, x, bert, prompt, steps: int = 5):
    P = prompt.numel()
    cache = model.new_cache(1, x.shape[1] + P + steps + 1)
    k0 = cache.k[0].data_ptr()
    with torch.inference_mode():
        h = model.prefill(x, bert, prompt[None], cache)
        cached = [model.ar_predict_layer(h)]
        tokens = []
        for _ in range(steps):
            tok = cached[-1].argmax(-1)
            tokens.append(tok)
            cached.append(model.ar_predict_layer(model.step(tok, cache)))
    assert cache.k[0].data_ptr() == k0  # written in place, never reallocated
    assert cache.length == x.shape[1] + P + steps
    y = torch.cat([prompt, torch.cat(tokens)])[None]
    with torch.no_grad():
        full, _, _ = model.forward_train(x, torch.tensor([x.shape[1]]), bert, y,
                                         torch.tensor([y.shape[1]]))
    for i, logits in enumerate(cached):
        ref = full[0, P + i]
        assert (logits[0] - ref).abs().max() <= 1e-4 * max(1.0, ref.abs().max().item()), i


def test_cached_decode_matches_full_recompute():
    _check_cache_against_recompute(small_model(), *inputs())


def test_batched_generation_matches_single_rows():
    model = small_model()
    x1, b1, prompt = inputs(n_text=9)
    x2, b2, _ = inputs(n_text=5, seed=2)
    kw = dict(top_k=1, max_new_tokens=12, eos_disabled=True)
    both = model.generate([x1[0], x2[0]], [b1[0], b2[0]], prompt, **kw)
    assert torch.equal(both[0], model.generate(x1, b1, prompt, **kw)[0])
    assert torch.equal(both[1], model.generate(x2, b2, prompt, **kw)[0])


def test_reference_free_generation():
    model = small_model()
    x, bert, _ = inputs()
    out = model.generate(x, bert, None, top_k=1, max_new_tokens=5, eos_disabled=True)
    assert out[0].shape == (5,)
    assert int(out[0].max()) < 1024


# ---------------------------------------------------------------------------------------------
# Sampling


def test_seeded_sampling_is_reproducible():
    model = small_model()
    x, bert, prompt = inputs()
    kw = dict(max_new_tokens=20, eos_disabled=True)
    a = model.generate(x, bert, prompt, seed=123, **kw)[0]
    b = model.generate(x, bert, prompt, seed=123, **kw)[0]
    c = model.generate(x, bert, prompt, generator=torch.Generator().manual_seed(123), **kw)[0]
    d = model.generate(x, bert, prompt, seed=124, **kw)[0]
    assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(a, d)


def eos_loving_model() -> Text2Semantic:
    """The last layer outputs a constant vector, on which EOS has by far the largest logit."""
    model = small_model()
    with torch.no_grad():
        model.h.layers[-1].norm2.weight.zero_()
        model.h.layers[-1].norm2.bias.fill_(1.0)
        model.ar_predict_layer.weight.mul_(0.01)
        model.ar_predict_layer.weight[1024] = 1.0
    return model


def test_eos_impossible_before_step_11():
    model = eos_loving_model()
    x, bert, prompt = inputs()
    for seed in range(3):
        out = model.generate(x, bert, prompt, seed=seed)[0]
        assert out.numel() == 11  # EOS wins as soon as it is allowed, and is not returned
    assert model.generate(x, bert, prompt, top_k=1, min_new_tokens=3)[0].numel() == 3
    out = model.generate(x, bert, prompt, top_k=1, max_new_tokens=15, eos_disabled=True)[0]
    assert out.numel() == 15 and int(out.max()) < 1024


def test_eos_argmax_stops_even_when_sample_is_not_eos():
    model = eos_loving_model()
    with torch.no_grad():  # EOS only just ahead: the argmax is EOS, the draw almost never is
        w = model.ar_predict_layer.weight
        others = w[:1024].sum(-1)
        w[1024] = (others.max() + 1e-3) / w.shape[1]
    x, bert, prompt = inputs()
    out = model.generate(x, bert, prompt, top_k=None, temperature=100.0,
                         repetition_penalty=1.0, seed=0)[0]
    assert out.numel() == 11 and int(out.max()) < 1024


def test_hard_cap_on_length():
    model = small_model()
    x, bert, prompt = inputs()
    out = model.generate(x, bert, prompt, max_new_tokens=7, eos_disabled=True, seed=0)
    assert out[0].numel() == 7


def test_repetition_penalty_semantics():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    prev = torch.tensor([[0, 1, 0, 0]])  # repeats count once
    got = penalise(logits, prev, 2.0)
    assert torch.allclose(got, torch.tensor([[1.0, -2.0, 0.5, 3.0]]))
    # A token seen before gets a lower probability than without the penalty.
    free = sampling_probs(logits, prev, top_k=None, repetition_penalty=1.0)
    pen = sampling_probs(logits, prev, top_k=None, repetition_penalty=1.35)
    assert pen[0, 0] < free[0, 0] and pen[0, 1] < free[0, 1]
    assert pen[0, 3] > free[0, 3]
    # The penalty runs first: it can change the greedy choice.
    close = torch.tensor([[3.0, 2.9, 0.0]])
    assert int(sample_next(close, torch.tensor([[0]]), top_k=1, repetition_penalty=1.35)[0]) == 1


def test_top_k_one_is_argmax_and_top_k_limits_choices():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 1025, generator=g)
    none = torch.zeros(4, 0, dtype=torch.long)
    tok, _ = sample_next(logits, none, top_k=1, repetition_penalty=1.0)
    assert torch.equal(tok, logits.argmax(-1))
    top3 = logits.topk(3, dim=-1).indices
    for _ in range(50):
        tok, _ = sample_next(logits, none, top_k=3, generator=g)
        assert bool((top3 == tok[:, None]).any(-1).all())
    # Top-p small enough keeps only the best token.
    tok, _ = sample_next(logits, none, top_k=None, top_p=1e-6, generator=g)
    assert torch.equal(tok, logits.argmax(-1))


def test_sampling_follows_the_distribution():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2, 1e-9]]))
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_next(logits.expand(500, -1), torch.zeros(500, 0, dtype=torch.long),
                                     top_k=None, generator=g)[0] for _ in range(4)]).flatten()
    freq = torch.bincount(draws, minlength=4).float() / draws.numel()
    assert torch.allclose(freq[:3], torch.tensor([0.5, 0.3, 0.2]), atol=0.04)


def test_temperature_sharpens():
    logits = torch.tensor([[1.0, 0.0, -1.0]])
    none = torch.zeros(1, 0, dtype=torch.long)
    hot = sampling_probs(logits, none, top_k=None, temperature=2.0)
    cold = sampling_probs(logits, none, top_k=None, temperature=0.5)
    assert cold[0, 0] > hot[0, 0]
    assert math.isclose(float(hot.sum()), 1.0, rel_tol=1e-6)


# ---------------------------------------------------------------------------------------------
# Training pass


def test_training_pass_backpropagates():
    model = small_model().train()
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 732, (2, 7), generator=g)
    bert = torch.randn(2, 1024, 7, generator=g)
    y = torch.randint(0, 1024, (2, 10), generator=g)
    logits, loss, acc = model.forward_train(x, torch.tensor([7, 4]), bert, y, torch.tensor([10, 6]))
    assert logits.shape == (2, 11, 1025)
    assert loss.item() > 0 and 0.0 <= acc.item() <= 1.0
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)


def test_checkpoint_weights_round_trip(tmp_path):
    from core.engine.checkpoint import save_gpt

    model = small_model()
    path = tmp_path / "voice.ckpt"
    save_gpt(path, checkpoint_weights(model), SMALL, "GPT-e1")
    back = load_gpt(path)
    for k, v in model.state_dict().items():
        assert torch.allclose(back.state_dict()[k], v.half().float())
