"""Every sentence the synthesizer makes carries the watermark, with the synthesizer's voice id,
running on across sentences (so any excerpt of the whole output is marked)."""
from __future__ import annotations

import numpy as np
import pytest

import core.runtime.pipeline as pipeline
from core.runtime.pipeline import SynthesisOptions, Synthesizer
from core.watermark import GENERIC_ID, detect, payload_id

TEXT = "你好世界，今天天气很好。我们去公园散步。Hello world, this is a test!"
OPTIONS = SynthesisOptions(seed=7, max_new_tokens=40, pause_s=0.1)


@pytest.fixture(scope="module")
def synth(model_paths, ref_wav) -> Synthesizer:
    s = Synthesizer(model_paths, watermark_id=payload_id("v20261124-101500-ab12"))
    s.set_reference(ref_wav, "参考音频里说的话")
    return s


def test_default_id_is_generic(synth):
    assert Synthesizer.watermark_id == GENERIC_ID
    assert synth.watermark_id == payload_id("v20261124-101500-ab12")


def test_synthesized_audio_is_marked_quietly_with_the_voice_id(synth, monkeypatch):
    marked = synth.synthesize(TEXT, OPTIONS)
    parts = [p.audio for p in synth.stream(TEXT, OPTIONS)]
    assert np.array_equal(np.concatenate(parts), marked)      # stream and synthesize agree
    with monkeypatch.context() as m:                            # the same run without the mark
        m.setattr(pipeline, "watermark", lambda audio, *a, **k: audio)
        plain = synth.synthesize(TEXT, OPTIONS)
    assert plain.shape == marked.shape and not np.array_equal(plain, marked)
    snr = 10 * np.log10(np.sum(plain.astype(float) ** 2) / np.sum((marked - plain).astype(float) ** 2))
    assert snr >= 35.0
    assert np.all(marked[plain == 0] == 0)                      # the pauses stay silent
    found = detect(marked, Synthesizer.SAMPLE_RATE)
    assert found.found and found.voice_id == synth.watermark_id
    assert not detect(plain, Synthesizer.SAMPLE_RATE).found
