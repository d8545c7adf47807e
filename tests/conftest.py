import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def private_bank(tmp_path, monkeypatch):
    """Every test gets its own bank folder; the user's real data is never touched."""
    home = tmp_path / "bank"
    monkeypatch.setenv("VOICEBANK_HOME", str(home))
    monkeypatch.setenv("VOICEBANK_MODELS", str(tmp_path / "models"))
    return home
