"""The chunked vocoder gives the generator's own output while only ever running fixed shapes."""
from __future__ import annotations

import pytest
import torch

from core.engine.sovits_modules import fold_weight_norm
from core.engine.sovits_vocoder import Generator
from core.runtime.bf16 import snr_db
from core.runtime.chunked_vocoder import ChunkConfig, ChunkedGenerator, _spans

SMALL = ChunkConfig(a_frames=32, b_samples=96)  # raised to 4x the contexts: many chunks on short input


def generator(resblock: str = "1", seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    gen = Generator(12, resblock, [3, 7, 11], [[1, 3, 5]] * 3, [10, 8, 2, 2, 2], 32, [16, 16, 8, 2, 2], 16)
    fold_weight_norm(gen)
    with torch.no_grad():  # HiFi-GAN's small init makes a near-silent output: unit-gain weights
        for name, p in gen.named_parameters():
            if name.endswith("weight"):
                p.normal_(0.0, (p[0].numel() if "ups" not in name else p.shape[0]) ** -0.5)
    return gen.eval()


def run(gen, z, g):
    with torch.inference_mode():
        return gen(z, g=g)


@pytest.mark.parametrize("resblock", ["1", "2"])
def test_fp32_chunks_equal_the_whole_sequence(resblock):
    gen = generator(resblock)
    chunked = ChunkedGenerator(gen, None, SMALL)
    a = chunked.a_frames
    g = torch.randn(2, 16, 1)
    for n in (1, 5, a - 1, a, a + 1, 3 * a + 7):
        z = torch.randn(2, 12, n)
        ref, got = run(gen, z, g), run(chunked, z, g)
        assert got.shape == ref.shape == (2, 1, n * 640)
        assert ref.abs().max() > 1e-2  # not a silent output that anything would match
        assert (got - ref).abs().max().item() <= 1e-5, n


def test_too_little_context_is_caught():
    """The exactness test above can fail: cut the context below the receptive field."""
    gen = generator()
    chunked = ChunkedGenerator(gen, None, SMALL)
    chunked.a_context, chunked.b_context = 2, 2
    z, g = torch.randn(1, 12, 3 * chunked.a_frames), torch.randn(1, 16, 1)
    assert (run(chunked, z, g) - run(gen, z, g)).abs().max().item() > 1e-3


def test_only_fixed_shapes_reach_the_convolutions():
    gen = generator()
    chunked = ChunkedGenerator(gen, None, SMALL)
    seen: dict[str, set[int]] = {"pre": set(), "b": set()}
    gen.conv_pre.register_forward_hook(lambda m, i, o: seen["pre"].add(i[0].shape[-1]))
    gen.ups[1].register_forward_hook(lambda m, i, o: seen["b"].add(i[0].shape[-1]))
    for n in (3, 40, 77, 150, 151):
        run(chunked, torch.randn(1, 12, n), torch.randn(1, 16, 1))
    assert seen == {"pre": {chunked.a_frames}, "b": {chunked.b_samples}}


def test_contexts_cover_the_v2_receptive_field():
    gen = generator()
    chunked = ChunkedGenerator(gen, None)
    # v2 sizes: conv_pre 3 + upsampler 3 + resblocks 60 samples / 10 = 12 frames; stage B ~17.7
    assert (chunked.a_context, chunked.b_context) == (14, 20)
    assert (chunked.a_frames, chunked.b_samples) == (128, 640)


@pytest.mark.parametrize("size,ctx", [(56, 14), (80, 20), (10, 0)])
def test_spans_tile_the_sequence_with_context(size, ctx):
    for n in range(size + 1, 6 * size):
        spans = _spans(n, size, ctx)
        assert spans[0][1] == 0 and spans[-1][2] == n
        for (start, core, end), nxt in zip(spans, spans[1:] + [None]):
            assert 0 <= start <= core < end <= start + size <= n
            assert core - start >= ctx or start == 0
            assert start + size - end >= ctx or end == n
            if nxt is not None:
                assert nxt[1] == end


def test_bf16_chunks_stay_above_the_gate():
    gen = generator()
    z, g = torch.randn(1, 12, 200), torch.randn(1, 16, 1)
    got = run(ChunkedGenerator(gen, torch.bfloat16, SMALL), z, g)
    assert got.dtype == torch.float32
    assert snr_db(got, run(gen, z, g)) >= 30.0


def test_unchunked_mode_runs_the_whole_sequence_once():
    gen = generator()
    whole = ChunkedGenerator(gen, None, ChunkConfig(enabled=False))
    calls = []
    gen.conv_pre.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[-1]))
    z, g = torch.randn(1, 12, 300), torch.randn(1, 16, 1)
    assert (run(whole, z, g) - run(gen, z, g)).abs().max().item() <= 1e-5
    assert calls == [300, 300]


def test_bf16_chunk_seams_are_not_audible_steps():
    """In bf16 each chunk rounds on its own; its seams must carry no more error than the rest
    (a step there would be a click every 20 ms)."""
    gen = generator()
    chunked = ChunkedGenerator(gen, torch.bfloat16, SMALL)
    z, g = torch.randn(1, 12, 120), torch.randn(1, 16, 1)
    err = (run(chunked, z, g) - run(gen, z, g))[0, 0].double()
    n = 120 * chunked.rate_a
    seams = [core * chunked.rate_b for _, core, _ in _spans(n, chunked.b_samples, chunked.b_context)][1:]
    assert len(seams) >= 5
    near = torch.cat([err[s - 32:s + 32] for s in seams])
    assert near.pow(2).mean().sqrt() <= 2 * err.pow(2).mean().sqrt()
