"""The benchmark's models and workload: full-size v2 models with seeded random weights.

Nothing is downloaded: the GPT (77.6 M parameters), the SoVITS generator (v2 `s2.json` sizes),
HuBERT-base (`HubertConfig()`) and a BERT-large shaped chinese-roberta (24 x 1024, vocabulary
21128) are built from their configurations, so every stage costs what it costs with the real
files. The standard texts and a speech-like reference recording are here too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.engine.official import official_gpt_config, official_sovits_config

__all__ = ["build_models", "reference_wav", "no_eos", "sovits_hparams", "gpt_config", "STANDARD_TEXT", "PROMPT_TEXT", "LONG_TEXTS",
           "REF_SECONDS", "SR"]

STANDARD_TEXT = "今天天气很好，我们一起去公园散步，然后回家吃一顿丰盛的晚饭吧。"  # 59 phones
PROMPT_TEXT = "参考音频里说的话。"
LONG_TEXTS = [
    "我昨天晚上睡得很好。", "今天早上的天气非常晴朗。", "我们打算下午去公园散步。", "你想不想和我们一起去？",
    "公园里有很多漂亮的花。", "小朋友们在草地上玩游戏。", "我最喜欢秋天的风景。", "树叶慢慢变成了金黄色。",
    "晚上我们一起吃饭吧。", "我会做你喜欢的菜。", "明天还要早点起床。", "因为上午有一个会议。",
    "会议大概要开两个小时。", "结束以后我给你打电话。", "周末我们可以去看电影。", "听说最近有一部好电影。",
    "我已经买好了两张票。", "电影晚上七点开始。", "我们六点在门口见面。", "谢谢你今天陪我聊天。",
]
REF_SECONDS = 5.42  # + 0.6 s padding -> 300 HuBERT frames at 50 Hz = 150 prompt tokens
SR = 32000


def _tokenizer(folder: Path, chars: str):
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for ch in chars + "，。？！,.?!":
        if ch not in vocab and not ch.isspace():
            vocab.append(ch)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True,
                             tokenize_chinese_chars=True)


def no_eos(module, inputs, out):
    """Forward hook on the GPT head: EOS's logit -1e4, so the random GPT never stops early."""
    out[..., -1] = -1e4
    return out


# Smaller than full size, same shapes where the models meet (SSL 768, BERT 1024, codebook 1024):
# `quick` for the CI bench, `tiny` for the GPU bench's --smoke run (seconds, not figures).
QUICK_GPT = dict(n_layer=4, hidden_dim=256, embedding_dim=256, n_head=8, linear_units=1024)
QUICK_SOVITS = dict(upsample_initial_channel=128, hidden_channels=96, filter_channels=256, inter_channels=96)
TINY_GPT = dict(n_layer=2, hidden_dim=128, embedding_dim=128, n_head=4, linear_units=512)  # FFN: 4 x hidden, as files load
TINY_SOVITS = dict(upsample_initial_channel=64, hidden_channels=32, filter_channels=64, inter_channels=32)
TINY_SEGMENT = 8 * 640      # training crop: 8 frames instead of 32


def sovits_hparams(quick: bool = False, tiny: bool = False) -> dict:
    """The SoVITS hyper-parameters of the bench's models (the original's s2.json, reduced)."""
    hp = official_sovits_config()
    if tiny:
        hp["model"].update(TINY_SOVITS)
        hp["train"]["segment_size"] = TINY_SEGMENT
    elif quick:
        hp["model"].update(QUICK_SOVITS)
    return hp


def gpt_config(quick: bool = False, tiny: bool = False):
    from core.engine.gpt import GPTConfig

    gcfg = GPTConfig.from_checkpoint_config(official_gpt_config())
    for name, value in (TINY_GPT if tiny else QUICK_GPT if quick else {}).items():
        setattr(gcfg, name, value)
    return gcfg


def build_models(workdir: Path, quick: bool = False, seed: int = 0, tiny: bool = False):
    """(gpt, sovits, hubert, Bert) with seeded random weights; full size unless `quick` (or
    `tiny`: smaller still). The Bert is the whole masked-LM model (as saved to files);
    `trim_bert` makes it what `load_bert` gives."""
    from transformers import BertConfig, BertForMaskedLM, HubertConfig, HubertModel
    from transformers.utils import logging as hf_logging

    from core.engine.checkpoint import HParams
    from core.engine.features import Bert
    from core.engine.gpt import Text2Semantic
    from core.engine.sovits import SoVITS, SoVITSConfig

    hf_logging.set_verbosity_error()
    torch.manual_seed(seed)
    gpt = Text2Semantic(gpt_config(quick, tiny)).eval()
    gpt.ar_predict_layer.register_forward_hook(no_eos)  # the workload is exactly its tokens
    sovits = SoVITS(SoVITSConfig.from_hparams(HParams(**sovits_hparams(quick, tiny))), with_posterior=False).eval()
    tok = _tokenizer(workdir, STANDARD_TEXT + PROMPT_TEXT + "".join(LONG_TEXTS))
    if tiny:    # the bench's tokenizer knows only its own characters: no 21128-word table
        hcfg = HubertConfig(hidden_size=768, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=64, conv_dim=(32,) * 7, num_conv_pos_embeddings=16)
        bcfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=1024, num_hidden_layers=3, num_attention_heads=2,
                          intermediate_size=64, max_position_embeddings=512)
    elif quick:
        hcfg = HubertConfig(hidden_size=768, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=256, conv_dim=(64,) * 7, num_conv_pos_embeddings=16)
        bcfg = BertConfig(vocab_size=21128, hidden_size=1024, num_hidden_layers=3, num_attention_heads=4,
                          intermediate_size=256, max_position_embeddings=512)
    else:
        hcfg = HubertConfig()  # hubert-base: 12 x 768, the CNN feature encoder of 512 channels
        bcfg = BertConfig(vocab_size=21128, hidden_size=1024, num_hidden_layers=24,
                          num_attention_heads=16, intermediate_size=4096, max_position_embeddings=512)
    hubert = HubertModel(hcfg).eval()
    bert = Bert(tok, BertForMaskedLM(bcfg).eval())
    return gpt, sovits, hubert, bert


def reference_wav(path: Path, seconds: float, seed: int = 0) -> Path:
    """Speech-like audio: a gliding harmonic voice with syllable envelopes, plus a little noise."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) ** 0.5
    x = 0.2 * voice * env + 0.01 * rng.standard_normal(t.size)
    sf.write(path, (x / np.abs(x).max() * 0.5).astype(np.float32), SR, subtype="PCM_16")
    return path

