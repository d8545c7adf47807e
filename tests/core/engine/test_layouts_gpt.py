"""The full-size v2 GPT (text-to-semantic) model has exactly the official parameter layout."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from core.engine.gpt import GPTConfig, Text2Semantic, checkpoint_weights
from core.engine.official import OFFICIAL_GPT_CONFIG

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"

OFFICIAL_V2 = OFFICIAL_GPT_CONFIG


@pytest.fixture(scope="module")
def full_model() -> Text2Semantic:
    # Meta tensors: shapes without memory or init cost.
    with torch.device("meta"):
        return Text2Semantic(GPTConfig.from_checkpoint_config(OFFICIAL_V2))


def test_config_from_checkpoint():
    cfg = GPTConfig.from_checkpoint_config(OFFICIAL_V2)
    assert (cfg.vocab_size, cfg.phoneme_vocab_size, cfg.hidden_dim, cfg.n_head, cfg.n_layer,
            cfg.linear_units, cfg.eos, cfg.max_sec) == (1025, 732, 512, 16, 24, 2048, 1024, 54)
    assert cfg.head_dim == 32
    # The bare "model" section works too.
    assert GPTConfig.from_checkpoint_config(OFFICIAL_V2["model"]).n_layer == 24


def test_bad_config_rejected():
    bad = {**OFFICIAL_V2["model"], "hidden_dim": 256}  # embedding_dim != hidden_dim
    with pytest.raises(ValueError):
        GPTConfig.from_checkpoint_config(bad)


@pytest.mark.skipif(not (REF / "s1_v2_layout.json").exists(),
                    reason=f"reference data not found at {REF}")
def test_gpt_layout(full_model):
    want = json.loads((REF / "s1_v2_layout.json").read_text())
    got = {k: list(v.shape) for k, v in checkpoint_weights(full_model).items()}
    assert len(want) == 295
    assert sorted(set(want) - set(got)) == []
    assert sorted(set(got) - set(want)) == []
    assert {k: v for k, v in got.items() if want[k] != v} == {}


def test_gpt_parameter_count(full_model):
    n = sum(p.numel() for p in full_model.state_dict().values())
    assert round(n / 1e6, 2) == 77.61  # architecture notes §3.5
