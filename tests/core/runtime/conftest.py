"""Runtime fixtures: the engine's tiny models (tests/core/engine/conftest.py), the voice's model
paths, and a private gate cache for every synthesizer the tests build."""
from __future__ import annotations

import pytest

from tests.core.engine.conftest import gpt_ckpt, ref_wav, sovits_pth, tiny_bert, tiny_hubert  # noqa: F401


@pytest.fixture(scope="session", autouse=True)
def private_gate_cache(tmp_path_factory):
    """The fast paths' gate verdicts go to a throw-away folder, never the user's cache (session
    scope: module-scoped synthesizers are built before function fixtures run)."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("gate-cache")
        mp.setenv("VOICEBANK_CACHE", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def own_gate_cache(tmp_path, monkeypatch):
    """Each test's own synthesizers get a fresh gate cache: a verdict one test forced (a
    lowered threshold, corrupted weights) never reaches another."""
    monkeypatch.setenv("VOICEBANK_CACHE", str(tmp_path / "gate-cache"))
    return tmp_path / "gate-cache"


@pytest.fixture(scope="session")
def model_paths(gpt_ckpt, sovits_pth, tiny_hubert, tiny_bert):  # noqa: F811 (the imported fixtures)
    from core.runtime.pipeline import ModelPaths

    return ModelPaths(gpt=gpt_ckpt, sovits=sovits_pth, hubert=tiny_hubert, bert=tiny_bert)
