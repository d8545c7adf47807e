"""A model file with no known hash is opened with the safe loader and matched against its config
before its hash is recorded: an attacker's file (or the wrong model) never locks the genuine one out."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from core.models.content import content_problem
from core.models.importer import import_from
from core.models.manifest import load_manifest
from core.models.store import recorded_hashes
from core.paths import resources_dir
from tests.core.test_torchfile import pickle_payload, torchscript_payload

ROBERTA = "chinese-roberta-wwm-ext-large"


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory) -> Path:
    """config.json + tokenizer.json + pytorch_model.bin of a tiny BERT, as the real folder holds."""
    from transformers import BertForMaskedLM

    from tests.tinymodels import make_tiny_bert

    folder = make_tiny_bert(tmp_path_factory.mktemp("src") / ROBERTA, "你好")
    model = BertForMaskedLM.from_pretrained(str(folder))
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    for extra in folder.glob("*.safetensors"):
        extra.unlink()
    return folder


def test_the_genuine_file_passes(tiny_roberta):
    assert content_problem(ROBERTA, "pytorch_model.bin", tiny_roberta / "pytorch_model.bin", tiny_roberta) is None


def test_old_gamma_beta_names_and_a_bare_model_prefix_pass(tiny_roberta, tmp_path):
    state = torch.load(tiny_roberta / "pytorch_model.bin", weights_only=True)
    renamed = {k.removeprefix("bert.").replace("LayerNorm.weight", "LayerNorm.gamma")
               .replace("LayerNorm.bias", "LayerNorm.beta"): v for k, v in state.items()}
    torch.save(renamed, tmp_path / "old.bin")
    assert content_problem(ROBERTA, "pytorch_model.bin", tmp_path / "old.bin", tiny_roberta) is None


@pytest.mark.parametrize("kind", ["torchscript", "pickle"])
def test_hostile_files_are_rejected(tiny_roberta, tmp_path, kind):
    marker = tmp_path / "pwned"
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(torchscript_payload() if kind == "torchscript" else pickle_payload(marker))
    problem = content_problem(ROBERTA, "pytorch_model.bin", path, tiny_roberta)
    assert problem and ("TorchScript" in problem or "never holds" in problem)
    assert not marker.exists()


def test_a_model_of_other_shapes_is_rejected(tiny_roberta, tmp_path):
    state = torch.load(tiny_roberta / "pytorch_model.bin", weights_only=True)
    key = next(k for k in state if k.endswith("word_embeddings.weight"))
    state[key] = torch.zeros(state[key].shape[0] + 1, state[key].shape[1])
    torch.save(state, tmp_path / "other.bin")
    problem = content_problem(ROBERTA, "pytorch_model.bin", tmp_path / "other.bin", tiny_roberta)
    assert "word_embeddings.weight has shape" in problem and "config needs" in problem


def test_a_table_of_unrelated_tensors_is_rejected(tiny_roberta, tmp_path):
    torch.save({"w": torch.zeros(3)}, tmp_path / "junk.bin")
    assert "is not this model" in content_problem(ROBERTA, "pytorch_model.bin", tmp_path / "junk.bin", tiny_roberta)


def test_without_a_config_it_cannot_be_checked(tiny_roberta, tmp_path):
    problem = content_problem(ROBERTA, "pytorch_model.bin", tiny_roberta / "pytorch_model.bin", tmp_path)
    assert "config.json is needed" in problem


def test_import_records_no_hash_for_a_hostile_file_and_then_takes_the_genuine_one(tiny_roberta, tmp_path):
    manifest = load_manifest(resources_dir() / "models" / "manifest.json")
    root = tmp_path / "models"
    evil = tmp_path / "evil" / ROBERTA
    shutil.copytree(tiny_roberta, evil)
    (evil / "pytorch_model.bin").write_bytes(torchscript_payload())
    report = import_from(tmp_path / "evil", manifest=manifest, root=root)
    [rejected] = [i for i in report.items if i.key == f"{ROBERTA}/pytorch_model.bin"]
    assert rejected.outcome == "rejected" and "TorchScript" in rejected.reason
    assert f"{ROBERTA}/pytorch_model.bin" not in recorded_hashes(root)
    assert not (root / ROBERTA / "pytorch_model.bin").exists()

    report = import_from(tiny_roberta.parent, manifest=manifest, root=root)
    [imported] = [i for i in report.items if i.key == f"{ROBERTA}/pytorch_model.bin"]
    assert imported.outcome == "imported" and imported.first_use
    assert f"{ROBERTA}/pytorch_model.bin" in recorded_hashes(root)
