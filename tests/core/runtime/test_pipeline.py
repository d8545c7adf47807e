"""The synthesis pipeline end to end on the tiny checkpoints and tiny feature models."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from core.engine.checkpoint import save_gpt
from core.runtime.pipeline import (
    ModelMissingError, ModelPaths, SentenceAudio, SynthesisCancelled, SynthesisError,
    SynthesisOptions, Synthesizer,
)
from core.runtime.reference import pause_cut
from core.text.frontend import split_sentences
from tests.testsignals import speech_like

SR = Synthesizer.SAMPLE_RATE
MIXED = "你好世界，今天天气很好。Hello world, this is a test! 我们去公园散步。"
FAST = dict(max_new_tokens=16)  # the random tiny GPT rarely says EOS: keep sentences short


@pytest.fixture(scope="module")
def synth(model_paths, ref_wav) -> Synthesizer:
    s = Synthesizer(model_paths)
    s.set_reference(ref_wav, "参考音频里说的话")
    return s


@pytest.fixture()
def with_ref(synth, ref_wav):
    """The module's synthesizer with the standard text reference (tests may change it)."""
    synth.set_reference(ref_wav, "参考音频里说的话")
    return synth


def _wav(path, seconds: float, sr: int = 48000, seed: int = 0, gain: float = 1.0, channels: int = 1):
    x = speech_like(seconds, sr, seed=seed) * gain if seconds >= 0.2 else np.zeros(int(seconds * sr))
    if channels == 2:
        x = np.stack([x, x], 1)
    sf.write(path, x, sr, subtype="FLOAT" if gain > 1 else "PCM_16")
    return path


class GenerateSpy:
    """Wraps Text2Semantic.generate: counts calls, keeps the arguments and the tokens."""

    def __init__(self, gpt):
        self.inner, self.calls = gpt.generate, []

    def __call__(self, x, bert, prompt, **kw):
        out = self.inner(x, bert, prompt, **kw)
        self.calls.append({"x": x, "prompt": prompt, "kw": kw, "out": out})
        return out

    @property
    def tokens(self):
        return [t for c in self.calls for t in c["out"]]


# ----------------------------------------------------------------------------- end to end


def test_mixed_text_streams_one_item_per_sentence(with_ref):
    opts = SynthesisOptions(seed=7, **FAST)
    parts = list(with_ref.stream(MIXED, opts))
    sentences = split_sentences(MIXED)
    assert len(parts) == len(sentences) == 3 and with_ref.sentences == sentences
    assert [p.index for p in parts] == [0, 1, 2] and all(p.total == 3 for p in parts)
    assert [p.text for p in parts] == sentences
    pause = int(0.3 * SR)
    for p in parts:
        assert isinstance(p, SentenceAudio)
        assert p.audio.dtype == np.float32 and p.audio.ndim == 1
        assert np.all(p.audio[-pause:] == 0)            # 0.3 s of silence after each sentence
        assert np.abs(p.audio[:-pause]).max() > 0        # and sound before it
        assert np.abs(p.audio).max() <= 1.0
        # 16 tokens at 25 Hz -> 0.64 s at 32 kHz, then the pause
        assert len(p.audio) == 16 * 2 * 640 + pause
    whole = with_ref.synthesize(MIXED, opts)
    assert np.array_equal(whole, np.concatenate([p.audio for p in parts]))  # seeded: same audio


def test_seeded_runs_are_reproducible_and_seeds_differ(with_ref):
    a = with_ref.synthesize("今天天气很好。", SynthesisOptions(seed=1, **FAST))
    b = with_ref.synthesize("今天天气很好。", SynthesisOptions(seed=1, **FAST))
    c = with_ref.synthesize("今天天气很好。", SynthesisOptions(seed=2, **FAST))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_gpt_context_is_reference_plus_sentence_and_prompt_is_reference_tokens(with_ref, monkeypatch):
    spy = GenerateSpy(with_ref.gpt)
    monkeypatch.setattr(with_ref.gpt, "generate", spy)
    with_ref.synthesize("今天天气很好。", SynthesisOptions(seed=1, **FAST))
    ref = with_ref.reference
    call = spy.calls[0]
    # (5 + 0.6) s -> 279 HuBERT frames -> 139 tokens at 25 Hz
    assert call["prompt"] is ref.prompt_tokens and ref.prompt_tokens.numel() == 139
    x = call["x"][0].tolist()
    assert x[:len(ref.phone_ids)] == ref.phone_ids
    assert len(x) > len(ref.phone_ids)
    assert ref.text == "参考音频里说的话。"  # the final mark the original adds
    kw = call["kw"]
    assert (kw["top_k"], kw["top_p"], kw["temperature"], kw["repetition_penalty"]) == (15, 1.0, 1.0, 1.35)


def test_default_token_cap_is_max_sec_times_25(with_ref, monkeypatch):
    spy = GenerateSpy(with_ref.gpt)
    monkeypatch.setattr(spy, "inner", lambda x, b, p, **kw: [torch.tensor([1, 2, 3]) for _ in x])
    monkeypatch.setattr(with_ref.gpt, "generate", spy)
    with_ref.synthesize("今天天气很好。", SynthesisOptions(seed=1))
    assert spy.calls[0]["kw"]["max_new_tokens"] == with_ref.gpt.cfg.max_sec * 25


def test_stream_yields_before_the_rest_is_computed(with_ref, monkeypatch):
    spy = GenerateSpy(with_ref.gpt)
    monkeypatch.setattr(with_ref.gpt, "generate", spy)
    it = with_ref.stream(MIXED, SynthesisOptions(seed=3, batch_size=8, **FAST))
    first = next(it)
    assert first.index == 0 and first.total == 3
    assert len(spy.calls) == 1 and len(spy.calls[0]["out"]) == 1  # only sentence 1 decoded so far
    rest = list(it)
    assert len(rest) == 2 and len(spy.calls) == 2  # then the other two as one batch


def test_batching_gives_the_same_tokens_as_one_at_a_time(with_ref, monkeypatch):
    text = "你好世界。今天天气很好，我们去公园散步。Hello world, this is a test! 这是一个测试。中文和英文混合 test。"
    runs = {}
    for bs in (1, 8):
        monkeypatch.undo()  # wrap the real generate, not the previous spy
        spy = GenerateSpy(with_ref.gpt)
        monkeypatch.setattr(with_ref.gpt, "generate", spy)
        with_ref.synthesize(text, SynthesisOptions(top_k=1, batch_size=bs, noise_scale=0, **FAST))
        runs[bs] = spy
    n = len(split_sentences(text))
    assert n >= 5 and len(runs[1].calls) == n
    assert [len(c["out"]) for c in runs[8].calls] == [1, n - 1]  # 1 sentence first, then a batch
    assert [len(t) for t in runs[1].tokens] == [16] * n
    for a, b in zip(runs[1].tokens, runs[8].tokens, strict=True):
        assert torch.equal(a, b)


def test_speed_changes_the_length(with_ref):
    kw = dict(top_k=1, noise_scale=0.0, pause_s=0.0, **FAST)
    normal = with_ref.synthesize("今天天气很好。", SynthesisOptions(**kw))
    fast = with_ref.synthesize("今天天气很好。", SynthesisOptions(speed=2.0, **kw))
    slow = with_ref.synthesize("今天天气很好。", SynthesisOptions(speed=0.5, **kw))
    assert len(fast) < 0.6 * len(normal) and len(slow) > 1.8 * len(normal)


def test_progress_and_cancel(with_ref):
    seen = []
    with_ref.synthesize(MIXED, SynthesisOptions(seed=1, **FAST), progress=lambda *a: seen.append(a))
    assert [(d, n) for d, n, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert [t for _, _, t in seen] == split_sentences(MIXED)

    calls = []
    def cancel():  # noqa: E306
        calls.append(1)
        return len(calls) > 2
    with pytest.raises(SynthesisCancelled) as err:
        with_ref.synthesize(MIXED, SynthesisOptions(seed=1, **FAST), cancel=cancel)
    assert isinstance(err.value, SynthesisError) and "cancelled" in str(err.value)


def test_reference_free_mode(synth, ref_wav, monkeypatch):
    info = synth.set_reference(ref_wav, None)
    assert info["mode"] == "reference-free" and info["prompt_tokens"] == 0 and info["text"] is None
    spy = GenerateSpy(synth.gpt)
    monkeypatch.setattr(synth.gpt, "generate", spy)
    audio = synth.synthesize("你好世界，Hello!", SynthesisOptions(seed=1, **FAST))
    assert spy.calls[0]["prompt"] is None
    assert len(audio) > 0.3 * SR and np.abs(audio).max() > 0
    assert synth.set_reference(ref_wav, "   ")["mode"] == "reference-free"  # blank text: none


def test_reference_is_cached_per_file_time_and_text(synth, tmp_path):
    path = _wav(tmp_path / "r.wav", 4.0, 32000, seed=5)
    first = synth.set_reference(path, "你好世界")
    assert not first["cached"] and first["duration_s"] == 4.0
    assert synth.set_reference(path, "你好世界")["cached"]
    assert not synth.set_reference(path, "今天天气很好")["cached"]
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10**9))  # the file changed
    assert not synth.set_reference(path, "你好世界")["cached"]


def test_reference_formats(synth, tmp_path):
    # stereo 44.1 kHz, and a float file that peaks above 1 (scaled down for the style spectrogram)
    info = synth.set_reference(_wav(tmp_path / "st.wav", 4.0, 44100, channels=2), "你好世界")
    assert info["mode"] == "text" and info["prompt_tokens"] == 114  # 4.6 s: 229 frames
    loud = synth.set_reference(_wav(tmp_path / "loud.wav", 4.0, 48000, gain=3.0), "你好世界")
    assert loud["mode"] == "text"
    assert synth.synthesize("你好世界。", SynthesisOptions(seed=1, **FAST)).size


def test_long_reference_is_cut_at_a_pause(synth, tmp_path):
    path = _wav(tmp_path / "long.wav", 20.0, 48000, seed=4)
    info = synth.set_reference(path, None)
    assert info["trimmed"] and info["duration_s"] == 20.0 and 3.0 <= info["used_s"] <= 10.0
    assert "20.0 s long" in info["notes"][0]
    # the cut lies in a quiet stretch of the file
    x, sr = sf.read(path)
    cut = int(info["used_s"] * sr)
    assert np.abs(x[cut - 240:cut + 240]).max() < 0.05 * np.abs(x).max()
    assert synth.synthesize("你好世界。", SynthesisOptions(seed=1, **FAST)).size
    # with a transcript: it no longer matches the cut audio, so it is dropped with a note
    info = synth.set_reference(path, "一段很长的话")
    assert info["mode"] == "reference-free" and "transcript" in " ".join(info["notes"])


def test_pause_cut_prefers_the_latest_quietest_point():
    x = np.ones(16000 * 12, np.float32)
    x[16000 * 4: 16000 * 4 + 3200] = 0  # a pause at 4 s
    x[16000 * 8: 16000 * 8 + 3200] = 0  # and one at 8 s
    assert abs(pause_cut(x) / 16000 - 8.1) < 0.06


@pytest.mark.parametrize("seconds,sr,match", [
    (0.5, 48000, r"0\.5 s long; choose one of 3 to 10 seconds"),
    (2.9, 32000, r"2\.9 s long; choose one of 3 to 10 seconds"),
    (5.0, 48000, "silent"),
])
def test_bad_reference_recordings(synth, tmp_path, seconds, sr, match):
    path = tmp_path / "bad.wav"
    if match == "silent":
        sf.write(path, np.zeros(int(seconds * sr)), sr)
    else:
        _wav(path, seconds, sr)
    with pytest.raises(SynthesisError, match=match):
        synth.set_reference(path, "你好世界")


def test_reference_that_is_not_audio(synth, tmp_path):
    with pytest.raises(SynthesisError, match="does not exist"):
        synth.set_reference(tmp_path / "nope.wav")
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(SynthesisError, match="reference recording cannot be used"):
        synth.set_reference(bad)


def test_reference_text_that_cannot_be_spoken(synth, ref_wav):
    with pytest.raises(SynthesisError, match="reference text cannot be used"):
        synth.set_reference(ref_wav, "😀😀😀")


# ----------------------------------------------------------------------------- bad text


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("   \n", "empty"),
    ("。！？……,.!", "Nothing to say"),
    ("😀🎉👍", "Nothing to say"),
    ("Привет, мир. Как дела?", "only Chinese and English"),
    ("こんにちは、せかい。", "only Chinese and English"),
    ("مرحبا بالعالم", "only Chinese and English"),
    ("x" * 100_001, "too long"),
    (None, "empty"),
])
def test_bad_text_is_a_clear_error(with_ref, text, match):
    with pytest.raises(SynthesisError, match=match):
        with_ref.synthesize(text, SynthesisOptions(**FAST))
    with pytest.raises(SynthesisError, match=match):
        with_ref.stream(text, SynthesisOptions(**FAST))  # raised by the call, before iterating


def test_unspeakable_sentences_are_skipped_with_a_note(with_ref):
    parts = list(with_ref.stream("Привет мир. 你好世界。", SynthesisOptions(**FAST)))
    assert len(parts) == 1 and parts[0].text == "你好世界。"
    assert any("Skipped" in n for n in with_ref.last_notes)


def test_ten_thousand_characters(with_ref):
    # Long clauses without full stops: split at commas into pieces of at most max_sentence_chars.
    text = ("今天天气很好，我们去公园散步，Hello world, this is a test, " * 250)[:10_000]
    # default splitting: hundreds of sentences; take the first and stop (the stream may be dropped)
    it = with_ref.stream(text, SynthesisOptions(seed=1, max_new_tokens=2))
    assert next(it).total > 200
    it.close()
    # the whole text, in longer pieces to keep the test cheap
    seen = []
    audio = with_ref.synthesize(text, SynthesisOptions(seed=1, max_new_tokens=2, pause_s=0.0,
                                                       max_sentence_chars=500, batch_size=16),
                                progress=lambda d, n, t: seen.append(n))
    assert len(seen) == seen[0] >= 20 and len(audio) == seen[0] * 2 * 2 * 640


def test_invalid_options_and_no_reference(synth, monkeypatch):
    with pytest.raises(SynthesisError, match="speed.*batch_size"):
        synth.synthesize("你好世界。", SynthesisOptions(speed=0, batch_size=0))
    monkeypatch.setattr(synth, "reference", None)
    with pytest.raises(SynthesisError, match="reference recording first"):
        synth.synthesize("你好世界。")


# ----------------------------------------------------------------------------- models


def test_missing_feature_models(model_paths, tmp_path):
    # None -> models_dir() (VOICEBANK_MODELS points to an empty folder in tests)
    for field, name in (("hubert", "chinese-hubert-base"), ("bert", "chinese-roberta-wwm-ext-large")):
        paths = ModelPaths(**{**model_paths.__dict__, field: None})
        with pytest.raises(ModelMissingError) as err:
            Synthesizer(paths)
        assert name in str(err.value) and str(tmp_path / "models" / name) in str(err.value)
        assert isinstance(err.value, SynthesisError)


def test_bad_model_files(model_paths, tmp_path, gpt_ckpt, sovits_pth):
    def fails(match, **kw):
        with pytest.raises(SynthesisError, match=match):
            Synthesizer(ModelPaths(**{**model_paths.__dict__, **kw}))

    fails("GPT model .*file not found", gpt=tmp_path / "missing.ckpt")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(sovits_pth.read_bytes()[:100_000])
    fails("SoVITS model .*damaged or incomplete", sovits=cut)
    v3 = tmp_path / "v3.pth"
    v3.write_bytes(b"03" + sovits_pth.read_bytes()[2:])
    fails("v3 .*not supported yet", sovits=v3)
    v1 = tmp_path / "v1.ckpt"
    save_gpt(v1, {"model.ar_text_embedding.word_embeddings.weight": torch.zeros(512, 4)},
             {"model": {"phoneme_vocab_size": 512}, "data": {"max_sec": 54}}, "GPT-e1")
    fails("v1 .*not supported yet", gpt=v1)
    fails("is a SoVITS model, not a GPT model", gpt=sovits_pth)
    fails("is a GPT model, not a SoVITS model", sovits=gpt_ckpt)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu(model_paths):
    with pytest.raises(SynthesisError, match="cuda.*cannot be used here.*CPU"):
        Synthesizer(model_paths, device="cuda")
    with pytest.raises(SynthesisError, match="Unknown device"):
        Synthesizer(model_paths, device="tpu")

