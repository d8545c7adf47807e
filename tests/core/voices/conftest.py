"""A speaker with a finished voice on disk: models in the official formats, card, reference,
sample and a consent record, as core.train.build and the consent page leave them."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import soundfile as sf

from core.bank.store import Bank
from core.voices.card import VoiceCard
from tests.testsignals import speech_like

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"


def small_models(folder: Path) -> None:
    """The smallest files the restricted loader accepts as v2 GPT and SoVITS models."""
    import torch

    from core.engine.checkpoint import save_gpt, save_sovits

    save_gpt(folder / "gpt.ckpt", {"model.ar_text_embedding.word_embeddings.weight": torch.randn(732, 4)},
             {"model": {"phoneme_vocab_size": 732}}, "GPT-e1")
    save_sovits(folder / "sovits.pth", {"enc_p.text_embedding.weight": torch.randn(732, 4)},
                {"model": {"version": "v2"}}, "1epoch_2iteration")


def make_voice(speaker, voice_id: str = "v20260101-120000-abcd", real_models: bool = False,
               consent: bool = True) -> Path:
    folder = Path(speaker.folder) / "voices" / voice_id
    folder.mkdir(parents=True)
    if real_models:
        if not (REF / "s1_tiny.ckpt").exists():
            pytest.skip(f"tiny reference models not found in {REF}")
        (folder / "gpt.ckpt").write_bytes((REF / "s1_tiny.ckpt").read_bytes())
        (folder / "sovits.pth").write_bytes((REF / "s2G_tiny.pth").read_bytes())
    else:
        small_models(folder)
    sf.write(folder / "reference.wav", speech_like(4.0, 32000, seed=5), 32000, subtype="PCM_16")
    (folder / "reference.txt").write_text("今天天气很好。\n", encoding="utf-8")
    sf.write(folder / "sample.wav", speech_like(2.0, 32000, seed=6), 32000, subtype="PCM_16")
    (folder / "sample.json").write_text(json.dumps({"take": "t1", "text": "hello"}), encoding="utf-8")
    card = VoiceCard(id=voice_id, name="Anna's voice", kind="fine-tuned", base_model="gpt-sovits-v2",
                     data_minutes=6.5, takes=80, sovits_steps=100, gpt_steps=200,
                     created="2026-01-01T12:00:00+00:00", reference_take="t1",
                     reference_text="今天天气很好。", device="cpu", precision="fp32")
    # A build adds keys of its own beyond the card (the consent speaker check): kept as they are.
    (folder / "voice.json").write_text(json.dumps({**asdict(card), "speaker_check": {"similarity": 0.93}},
                                                  ensure_ascii=False), encoding="utf-8")
    if consent:
        record = Path(speaker.folder) / "consent"
        record.mkdir(exist_ok=True)
        sf.write(record / "consent.wav", speech_like(3.0, 48000, seed=7), 48000, subtype="PCM_16")
        (record / "consent.json").write_text(json.dumps({"speaker": speaker.id, "agreed": True}),
                                             encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def private_scratch(tmp_path, monkeypatch) -> Path:
    """Deleting clears the worker's scratch folders: never the real ones."""
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    return tmp_path / "jobs"


@pytest.fixture
def bank(tmp_path) -> Bank:
    return Bank(tmp_path / "bank")


@pytest.fixture
def speaker(bank):
    return bank.create_speaker("Anna", ["zh", "en"])


@pytest.fixture
def voice(speaker) -> Path:
    return make_voice(speaker)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
