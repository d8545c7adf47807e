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
    monkeypatch.setenv("VOICEBANK_CACHE", str(tmp_path / "cache"))    # fast-path gate verdicts
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    monkeypatch.setenv("VOICEBANK_CONFIG", str(tmp_path / "config"))   # window size, text size
    return home


def pytest_configure(config):
    config.addinivalue_line("markers", "consent: the real consent requirement applies (see consent_given)")


@pytest.fixture(autouse=True)
def consent_given(request, monkeypatch):
    """Builds need a consent recording (core.trust.consent). Tests about something else build
    for speakers who never recorded one: for them consent counts as given and checked. Tests
    marked `consent` (tests/core/trust, the consent page) get the real requirement."""
    if request.node.get_closest_marker("consent"):
        return
    from core.trust import consent

    given = consent.SpeakerCheck("not checked", True, None, consent.THRESHOLD, 0, "consent is not part of this test")
    monkeypatch.setattr(consent, "consent_blockers", lambda speaker: [])
    monkeypatch.setattr(consent, "require_consent", lambda speaker, takes=None, **kw: given)
