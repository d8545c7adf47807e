"""A sentence spoken in pieces while its GPT runs (core.runtime.sentence_stream): the same tokens
as the whole-sentence path, pieces that join into the sentence, the first one early."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.runtime.pipeline import SynthesisOptions, Synthesizer
from core.runtime.sentence_stream import SAMPLES_PER_TOKEN, StreamSchedule, stream_pieces, token_steps
from core.watermark import detect

TEXT = "今天天气很好，我们一起去公园散步吧。"
SECOND = "Then we went home."


@pytest.fixture(scope="module")
def synth(model_paths, ref_wav) -> Synthesizer:
    s = Synthesizer(model_paths)
    s.set_reference(ref_wav, "参考音频里说的话")
    return s


def fake_steps(tokens: list[int]):
    t = torch.tensor(tokens)
    for n in range(1, len(t) + 1):
        yield t[:n], n == len(t)


def per_token_decode(tokens: torch.Tensor) -> np.ndarray:
    """A decoder whose output for a token depends on that token alone: pieces must rebuild it."""
    return np.repeat(tokens.numpy().astype(np.float32) / 100, SAMPLES_PER_TOKEN)


@pytest.mark.parametrize("n", [1, 9, 10, 16, 17, 40, 123])
def test_pieces_join_into_the_whole_and_grow(n):
    tokens = list(range(1, n + 1))
    out = list(stream_pieces(fake_steps(tokens), per_token_decode))
    joined = np.concatenate([a for a, _ in out])
    np.testing.assert_allclose(joined, per_token_decode(torch.tensor(tokens)), atol=1e-6)
    assert [last for _, last in out] == [False] * (len(out) - 1) + [True]
    if n >= 40:         # `first_tokens` first, then each piece as long as all before it
        f = StreamSchedule().first_tokens
        assert [len(a) for a, _ in out][:3] == [f * SAMPLES_PER_TOKEN, f * SAMPLES_PER_TOKEN,
                                                2 * f * SAMPLES_PER_TOKEN]


def test_the_first_piece_needs_only_its_tokens_and_the_lookahead():
    seen = []

    def steps():
        for tokens, finished in fake_steps(list(range(1, 200))):
            seen.append(len(tokens))
            yield tokens, finished

    first = next(stream_pieces(steps(), per_token_decode))
    s = StreamSchedule()
    assert seen[-1] == s.first_tokens + s.lookahead and not first[1]


def test_decode_windows_carry_left_context():
    windows = []

    def decode(tokens):
        windows.append((int(tokens[0]), len(tokens)))
        return per_token_decode(tokens)

    list(stream_pieces(fake_steps(list(range(1, 101))), decode))
    s = StreamSchedule()
    f = s.first_tokens
    assert windows[0] == (1, f + s.lookahead)
    assert windows[1] == (1, 2 * f + s.lookahead)            # the first piece again, as context
    start = 4 * f - s.left_context                           # pieces f, f, 2f played before it
    assert windows[3] == (start + 1, 8 * f + s.lookahead - start)


def test_at_another_speed_the_joins_follow_each_window_and_nothing_is_lost():
    def stretched(tokens):          # as the decoder at speed 1.3: a whole number of frames + 1
        frames = int(2 * len(tokens) / 1.3) + 1
        return np.interp(np.linspace(0, len(tokens), frames * 640, endpoint=False),
                         np.arange(len(tokens)) + 0.5, tokens.numpy().astype(np.float64)).astype(np.float32)

    out = list(stream_pieces(fake_steps(list(range(1, 101))), stretched, speed=1.3))
    joined = np.concatenate([a for a, _ in out])
    whole = stretched(torch.arange(1, 101))
    assert abs(len(joined) - len(whole)) < 2 * 640
    steps = np.abs(np.diff(joined))
    assert steps.max() < 0.05          # a ramp: no jump back or forward at any join


def test_token_steps_draw_the_tokens_generate_draws(synth):
    from core.text.frontend import phonemize

    x, bert = synth._gpt_input(phonemize(TEXT))
    kw = dict(top_k=15, top_p=1.0, temperature=1.0, repetition_penalty=1.35, max_new_tokens=60)
    whole = synth.gpt.generate([x], [bert], synth.reference.prompt_tokens,
                               generator=torch.Generator().manual_seed(3), **kw)[0]
    steps = list(token_steps(synth.gpt, x, bert, synth.reference.prompt_tokens,
                             generator=torch.Generator().manual_seed(3), **kw))
    assert steps[-1][1] and not any(f for _, f in steps[:-1])
    assert torch.equal(steps[-1][0], whole)
    assert [len(t) for t, _ in steps[:-1]] == list(range(1, len(steps)))


def test_pieces_in_the_pipeline_come_early_and_sound_like_the_whole(synth):
    opts = SynthesisOptions(seed=5, noise_scale=0.0, max_new_tokens=120)
    whole = list(synth.stream(TEXT + SECOND, opts))
    tokens_at_first_yield = []
    pieces = []
    for part in synth.stream(TEXT + SECOND, opts, pieces=True):
        if not pieces:
            tokens_at_first_yield.append(synth.timings["tokens"])
        pieces.append(part)
    first = [p for p in pieces if p.index == 0]
    assert len(first) >= 3 and [p.part for p in first] == list(range(len(first)))
    assert [p.last for p in first] == [False] * (len(first) - 1) + [True]
    assert all(p.text == whole[0].text and p.total == 2 for p in first)
    assert tokens_at_first_yield == [0]                     # the GPT had not finished
    a = np.concatenate([p.audio for p in first])
    b = whole[0].audio
    assert abs(len(a) - len(b)) <= 2
    n = min(len(a), len(b))
    snr = 10 * np.log10(np.sum(b[:n] ** 2) / max(np.sum((a[:n] - b[:n]) ** 2), 1e-12))
    assert snr > 10, snr        # the tiny random decoder; the bench measures the full-size one
    # the sentences after the first are the whole path's, unchanged
    rest = [p for p in pieces if p.index == 1]
    assert len(rest) == 1 and rest[0].last
    np.testing.assert_allclose(rest[0].audio, whole[1].audio, atol=2e-3)
    assert detect(np.concatenate([p.audio for p in pieces]), Synthesizer.SAMPLE_RATE).found


def test_cancel_between_pieces(synth):
    from core.runtime.pipeline import SynthesisCancelled

    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(SynthesisCancelled):
        list(synth.stream(TEXT, SynthesisOptions(seed=1, max_new_tokens=120), cancel=cancel, pieces=True))
