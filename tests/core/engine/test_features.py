"""HuBERT and BERT feature models: loading, shapes, BERT expansion, clear errors."""
from __future__ import annotations

import shutil

import pytest
import torch

from core.engine.features import (
    BERT_NAME, HUBERT_NAME, ModelMissingError, SynthesisError, bert_features, char_features,
    hubert_features, load_bert, load_hubert,
)
from core.text.frontend import phonemize


@pytest.fixture(scope="module")
def hubert(tiny_hubert):
    return load_hubert(tiny_hubert)


@pytest.fixture(scope="module")
def bert(tiny_bert):
    return load_bert(tiny_bert)


def test_hubert_gives_768d_frames_at_50_hz(hubert):
    for seconds in (1.0, 3.6):
        feats = hubert_features(hubert, torch.randn(int(16000 * seconds)) * 0.1)
        assert feats.shape[:2] == (1, 768)
        assert abs(feats.shape[2] - 50 * seconds) <= 1  # the real model gives 49 for 1 s
    assert not hubert.training


def test_bert_features_expand_chinese_and_zero_english(bert):
    ph = phonemize("你好世界，今天天气很好。Hello world!")
    feats = bert_features(bert, ph)
    assert feats.shape == (1024, len(ph.phones))
    col = 0
    for seg in ph.segments:
        part = feats[:, col:col + len(seg.phones)]
        if seg.language == "zh":
            assert part.abs().sum(0).min() > 0  # every Chinese phone has a vector
            # each character's vector repeated by its phone count: 你 -> two equal columns
            assert torch.equal(part[:, 0], part[:, 1])
            assert not torch.equal(part[:, 1], part[:, 2])
        else:
            assert torch.count_nonzero(part) == 0
        col += len(seg.phones)
    assert col == feats.shape[1]


def test_char_features_equal_whole_string_tokenisation(bert, tiny_bert):
    # We tokenise characters as pre-split words; for Han text + marks it must be what the
    # original's whole-string tokenisation gives (same ids, so the same hidden states), through
    # the whole masked-LM model as the original runs it (ours is trimmed after the feature layer).
    from transformers import AutoModelForMaskedLM

    text = "今天天气很好,我们去公园."
    enc = bert.tokenizer(text, return_tensors="pt")
    assert enc["input_ids"].shape[1] == len(text) + 2
    whole = AutoModelForMaskedLM.from_pretrained(str(tiny_bert), local_files_only=True).eval()
    with torch.inference_mode():
        ref = whole(**enc, output_hidden_states=True).hidden_states[-3][0, 1:-1]
    assert torch.allclose(char_features(bert, text), ref, atol=1e-5)


def test_bert_is_trimmed_after_the_feature_layer(bert, tiny_bert):
    from transformers import AutoModelForMaskedLM

    whole = AutoModelForMaskedLM.from_pretrained(str(tiny_bert), local_files_only=True).eval()
    assert bert.layer == -1 and not hasattr(bert.model, "cls")  # no masked-LM head
    assert len(bert.model.encoder.layer) == whole.config.num_hidden_layers - 2
    assert sum(p.numel() for p in bert.model.parameters()) < sum(p.numel() for p in whole.parameters())


def test_one_row_per_character_even_for_spaces_and_long_text(bert):
    assert char_features(bert, "你 好").shape == (3, 1024)
    assert torch.count_nonzero(char_features(bert, "你 好")[1]) == 0  # the space: no token
    long = "今天天气很好" * 120  # 720 characters: beyond BERT's 512 positions
    assert char_features(bert, long).shape == (720, 1024)


def test_without_bert_everything_is_zero():
    ph = phonemize("你好世界")
    feats = bert_features(None, ph)
    assert feats.shape == (1024, len(ph.phones)) and torch.count_nonzero(feats) == 0


@pytest.mark.parametrize("loader,name", [(load_hubert, HUBERT_NAME), (load_bert, BERT_NAME)])
def test_missing_folder(tmp_path, loader, name):
    folder = tmp_path / "models" / name
    with pytest.raises(ModelMissingError) as err:
        loader(folder)
    msg = str(err.value)
    assert name in msg and str(folder) in msg and "is not installed" in msg
    assert "voicebank models" in msg and "build page" in msg
    assert isinstance(err.value, SynthesisError)
    assert err.value.model == name and err.value.folder == folder


@pytest.mark.parametrize("which", ["hubert", "bert"])
def test_incomplete_or_damaged_folder(tmp_path, tiny_hubert, tiny_bert, which):
    src, loader, name = ((tiny_hubert, load_hubert, HUBERT_NAME) if which == "hubert"
                         else (tiny_bert, load_bert, BERT_NAME))
    folder = tmp_path / name
    shutil.copytree(src, folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 3])  # an interrupted download
    with pytest.raises(ModelMissingError, match=f"{name} model is damaged"):
        loader(folder)
    weights.unlink()
    with pytest.raises(ModelMissingError, match="weights file is missing"):
        loader(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ModelMissingError, match="config.json is missing"):
        loader(folder)


def test_wrong_model_in_the_folder(tmp_path, tiny_hubert):
    # A BERT folder that holds the HuBERT: a clear error, not a shape mismatch deep inside.
    folder = tmp_path / BERT_NAME
    shutil.copytree(tiny_hubert, folder)
    with pytest.raises(ModelMissingError, match=BERT_NAME):
        load_bert(folder)
