"""Fixtures for the consent tests: the test speaker encoder as a weights file, banks of takes
by one synthetic speaker or the other. The test modules here are marked `consent`: the real
consent requirement applies (tests/conftest.py)."""
from __future__ import annotations

from datetime import date

import pytest

from tests.core.train.conftest import TEXTS, base_files  # noqa: F401  (a fixture, shared)

from .voices import save_encoder, spectrum_encoder, voice


@pytest.fixture(scope="session")
def encoder():
    return spectrum_encoder()


@pytest.fixture(scope="session")
def encoder_path(encoder, tmp_path_factory):
    return save_encoder(encoder, tmp_path_factory.mktemp("encoder") / "pretrained.pt")


@pytest.fixture(autouse=True)
def installed_encoder(encoder_path, monkeypatch):
    """The speaker check finds the test encoder as it would find resemblyzer's file."""
    monkeypatch.setenv("VOICEBANK_SPEAKER_ENCODER", str(encoder_path))
    return encoder_path


@pytest.fixture
def bank(tmp_path):
    from core.bank.store import Bank

    return Bank(tmp_path / "bank")


def add_takes(speaker, who: str, count: int = 6, seconds: float = 4.0, seed: int = 0) -> list:
    takes = []
    for i in range(count):
        prompt = speaker.add_message(TEXTS[i % len(TEXTS)])
        writer = speaker.begin_take(prompt, speaker.start_session())
        writer.append(voice(who, seconds + 0.25 * i, seed + i))
        take = writer.finish()
        take.quality = {"grade": "green", "snr_db": 30.0 + i}
        take.save()
        takes.append(take)
    return takes


def give_consent(speaker, who: str, *, role: str = "self", name: str = "", seconds: float = 12.0):
    from core.trust.consent import record_consent

    return record_consent(speaker, voice(who, seconds, seed=500), 48000, role=role, name=name,
                          day=date(2026, 11, 24))


@pytest.fixture
def anna(bank):
    """Anna's bank: six takes in the low voice."""
    speaker = bank.create_speaker("Anna", ["zh"])
    add_takes(speaker, "low")
    return speaker
