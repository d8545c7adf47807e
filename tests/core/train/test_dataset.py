"""Features from a synthetic bank: what is used, what is cached, what is filtered."""
from __future__ import annotations

import torch

from core.train import dataset
from core.train.build import usable_audio

from .conftest import TEXTS, add_take


def _loader(base_files, calls):
    def load():
        from core.engine.features import load_bert, load_hubert
        from core.engine.sovits import load_sovits

        calls.append(1)
        return dataset.FeatureModels(load_hubert(base_files["hubert"]), load_bert(base_files["bert"]),
                                     load_sovits(base_files["g"]), torch.device("cpu"))
    return load


def test_usable_audio_leaves_red_out(speaker):
    minutes, n = usable_audio(speaker)
    assert n == 6
    assert abs(minutes * 60 - sum(3.0 + 0.25 * i for i in range(6))) < 0.1
    assert usable_audio(speaker, include_red=True)[1] == 7
    red = [t for t in speaker.current_takes().values() if t.grade == "red"][0]
    assert red.id not in {t.id for t in dataset.usable_takes(speaker)}


def test_features_extracted_then_cached_incrementally(speaker, base_files):
    cache = dataset.cache_dir_of(speaker)
    key = dataset.models_identity(base_files["g"], base_files["hubert"], base_files["bert"])
    calls = []
    items, stats = dataset.extract_features(dataset.usable_takes(speaker), cache, key,
                                            _loader(base_files, calls))
    assert stats == {"cached": 0, "extracted": 6, "skipped": []} and len(calls) == 1
    for it in items:
        assert it.wav.dtype == torch.int16
        assert it.ssl.shape == (768, it.wav.numel() // dataset.HOP)
        assert it.codes.shape == (it.frames // 2,) and int(it.codes.max()) < 1024
        assert it.bert is not None and it.bert.shape == (1024, it.phones.numel())
    assert len(list(cache.glob("*.pt"))) == 6

    # Same bank again: everything comes from the cache and no model is loaded.
    items2, stats2 = dataset.extract_features(dataset.usable_takes(speaker), cache, key,
                                              _loader(base_files, calls))
    assert stats2["cached"] == 6 and stats2["extracted"] == 0 and len(calls) == 1
    assert torch.equal(items2[0].ssl, items[0].ssl) and torch.equal(items2[0].codes, items[0].codes)

    # A new take: only it is processed.
    add_take(speaker, TEXTS[7], 3.2, "green", seed=21)
    items3, stats3 = dataset.extract_features(dataset.usable_takes(speaker), cache, key,
                                              _loader(base_files, calls))
    assert stats3["cached"] == 6 and stats3["extracted"] == 1 and len(items3) == 7


def _item(seconds: float, n_phones: int) -> dataset.Item:
    frames = int(seconds * 50)
    return dataset.Item("t", "x", torch.zeros(frames * dataset.HOP, dtype=torch.int16),
                        torch.zeros(768, frames, dtype=torch.float16),
                        torch.ones(n_phones, dtype=torch.long), None,
                        torch.zeros(frames // 2, dtype=torch.long))


def test_filters_follow_the_original():
    short, ok, long_ = _item(0.5, 5), _item(4.0, 30), _item(55.0, 400)
    assert dataset.sovits_items([short, ok, long_]) == [ok]
    too_slow, too_fast = _item(4.0, 8), _item(4.0, 120)   # 2 and 30 phones per second
    assert dataset.gpt_items([ok, too_slow, too_fast, long_]) == [ok]
