"""Shared engine fixtures: the tiny reference checkpoints and tiny random feature models (the
runtime's and the benchmark's tests use them too: tests/core/runtime/conftest.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from tests.testsignals import speech_like
from tests.tinymodels import make_tiny_bert, make_tiny_hubert

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"

# Characters the engine tests speak; anything else is [UNK] to the tiny BERT (still one token).
TEST_CHARS = "你好世界今天天气很好我们去公园散步用打电话参考音频里说的话这是一个测试中文和英文混合"


@pytest.fixture(scope="session")
def gpt_ckpt() -> Path:
    path = REF / "s1_tiny.ckpt"
    if not path.exists():
        pytest.skip(f"tiny reference GPT not found at {path}")
    return path


@pytest.fixture(scope="session")
def sovits_pth() -> Path:
    path = REF / "s2G_tiny.pth"
    if not path.exists():
        pytest.skip(f"tiny reference SoVITS not found at {path}")
    return path


@pytest.fixture(scope="session")
def tiny_hubert(tmp_path_factory) -> Path:
    return make_tiny_hubert(tmp_path_factory.mktemp("models") / "chinese-hubert-base")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "chinese-roberta-wwm-ext-large",
                          TEST_CHARS)


@pytest.fixture(scope="session")
def ref_wav(tmp_path_factory) -> Path:
    """5 s of speech-like audio at 48 kHz (the bank's rate)."""
    path = tmp_path_factory.mktemp("refs") / "ref48k.wav"
    sf.write(path, speech_like(5.0, 48000, seed=3), 48000, subtype="PCM_16")
    return path
