"""The full-size v2 generator and discriminator have exactly the official parameter layout."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.engine.checkpoint import HParams
from core.engine.sovits import SoVITS, SoVITSConfig
from core.engine.sovits_discriminator import MultiPeriodDiscriminator
from core.engine.official import official_sovits_config

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"
pytestmark = pytest.mark.skipif(
    not (REF / "s2G_v2_layout.json").exists(), reason=f"reference data not found at {REF}")

OFFICIAL_V2 = HParams(**official_sovits_config())


def _layout(module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def full_model() -> SoVITS:
    return SoVITS(SoVITSConfig.from_hparams(OFFICIAL_V2))


def test_generator_layout(full_model):
    expected = json.loads((REF / "s2G_v2_layout.json").read_text())
    got = _layout(full_model)
    assert set(got) == set(expected), (sorted(set(got) - set(expected))[:5], sorted(set(expected) - set(got))[:5])
    wrong = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert not wrong
    assert len(got) == 776
    assert sum(v.numel() for v in full_model.state_dict().values()) == 52_883_969


def test_generator_layout_without_enc_q():
    expected = {k: v for k, v in json.loads((REF / "s2G_v2_layout.json").read_text()).items()
                if "enc_q" not in k}
    got = _layout(SoVITS(SoVITSConfig.from_hparams(OFFICIAL_V2), with_posterior=False))
    assert len(expected) == 673 and got == expected


def test_discriminator_layout():
    expected = json.loads((REF / "s2D_v2_layout.json").read_text())
    got = _layout(MultiPeriodDiscriminator(periods=(2, 3, 5, 7, 11)))
    assert got == expected and len(got) == 111
