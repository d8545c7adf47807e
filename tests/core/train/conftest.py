"""Fixtures for the training tests: tiny base models, tiny feature models, a synthetic bank."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.testsignals import speech_like
from tests.tinymodels import make_tiny_bert, make_tiny_hubert

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"

# Prompt texts of the synthetic bank (3-4 s each gives 5-10 phones per second, inside the
# GPT filter's 3-25).
TEXTS = [
    "今天天气很好，我们去公园散步。",
    "你好世界，这是一个测试。",
    "我用中文和英文打电话。",
    "参考音频里说的话很好。",
    "我们今天去公园，天气很好。",
    "这是一个中文测试，你好。",
    "世界很大，我们去散步。",
    "天气很好，今天打电话。",
]
CHARS = "".join(sorted(set("".join(TEXTS))))


@pytest.fixture(scope="session")
def base_files(tmp_path_factory) -> dict[str, Path]:
    gpt, g = REF / "s1_tiny.ckpt", REF / "s2G_tiny.pth"
    if not gpt.exists() or not g.exists():
        pytest.skip(f"tiny reference checkpoints not found in {REF}")
    from core.engine.sovits_discriminator import MultiPeriodDiscriminator

    # No tiny discriminator is shipped: a random one with a single period discriminator (the
    # channel sizes are fixed by the architecture), saved as the official s2D files are.
    torch.manual_seed(0)
    d = MultiPeriodDiscriminator(periods=(2,))
    folder = tmp_path_factory.mktemp("base")
    d_path = folder / "s2D_tiny.pth"
    torch.save({"weight": {k: v.half() for k, v in d.state_dict().items()}, "info": "tiny"}, d_path)
    models = tmp_path_factory.mktemp("feature-models")
    return {"gpt": gpt, "g": g, "d": d_path,
            "hubert": make_tiny_hubert(models / "chinese-hubert-base"),
            "bert": make_tiny_bert(models / "chinese-roberta-wwm-ext-large", CHARS)}


def add_take(speaker, text: str, seconds: float, grade: str = "green", seed: int = 0, snr: float = 30.0):
    prompt = speaker.add_message(text)
    session = speaker.start_session()
    writer = speaker.begin_take(prompt, session)
    writer.append(speech_like(seconds, 48000, seed=seed))
    take = writer.finish()
    take.quality = {"grade": grade, "snr_db": snr}
    take.save()
    return take


@pytest.fixture
def bank(tmp_path):
    from core.bank.store import Bank

    return Bank(tmp_path / "bank")


@pytest.fixture
def speaker(bank):
    """6 green takes of 3-4.2 s and one red one."""
    sp = bank.create_speaker("Anna", ["zh"])
    for i, text in enumerate(TEXTS[:6]):
        add_take(sp, text, 3.0 + 0.25 * i, "green", seed=i, snr=20 + i)
    add_take(sp, TEXTS[6], 3.5, "red", seed=9)
    return sp


def config(speaker, bank, base_files, **kw):
    from core.train.build import BuildConfig

    defaults = dict(speaker_id=speaker.id, bank_root=bank.root, device="cpu", min_minutes=0.1,
                    batch_size=2, max_steps=2, checkpoint_every=1,
                    base_gpt=base_files["gpt"], base_sovits_g=base_files["g"],
                    base_sovits_d=base_files["d"], hubert=base_files["hubert"], bert=base_files["bert"])
    defaults.update(kw)
    return BuildConfig(**defaults)
