"""Tiny random feature models in transformers format, built at test time (no download).

They have the interfaces of the real ones where the engine depends on them:
- HuBERT: 768-d output (SoVITS's ssl_proj expects 768) at 50 Hz from raw 16 kHz audio (conv
  strides multiply to 320, the kernels are chinese-hubert-base's), but 1 layer and few channels;
- BERT: 1024-d hidden size (the GPT's bert_proj expects 1024), 3 layers so that
  hidden_states[-3] exists, a character vocabulary so that every CJK character is one token.
"""
from __future__ import annotations

from pathlib import Path

import torch

# Punctuation and the characters number normalisation produces, always in the vocabulary.
BASE_CHARS = "，。！？、：；…-,.!?零一二三四五六七八九十百千万亿点年月日号分秒负"


def make_tiny_hubert(folder: str | Path, seed: int = 0) -> Path:
    from transformers import HubertConfig, HubertModel

    folder = Path(folder)
    torch.manual_seed(seed)
    cfg = HubertConfig(
        hidden_size=768,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=128,
        conv_dim=(32,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),  # product 320: 50 frames per second at 16 kHz
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        feat_extract_norm="group",  # as chinese-hubert-base
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=16,
    )
    model = HubertModel(cfg).eval()
    model.save_pretrained(folder)
    return folder


def make_tiny_bert(folder: str | Path, chars: str = "", seed: int = 0) -> Path:
    """A BertForMaskedLM + BertTokenizer whose vocabulary is the special tokens + `chars`."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for ch in BASE_CHARS + chars:
        if ch not in vocab and not ch.isspace():
            vocab.append(ch)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as `vocab` (a path or a dict).
    tok = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True,
                            tokenize_chinese_chars=True)
    tok.save_pretrained(folder)

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=1024,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertForMaskedLM(cfg).eval().save_pretrained(folder)
    return folder
