"""The parts of the GPT-SoVITS v2 text-to-semantic model (`core.engine.gpt` assembles them).

Read this first, then gpt.py: the configuration as the original's `.ckpt` files state it, the
token embeddings and sine positions, the key/value cache, the post-LayerNorm transformer layer
and the attention masks. Parameter names are the checkpoints' (`word_embeddings`,
`in_proj_weight`, `h.layers.N`), so the official files load with `strict=True`.

Inference keeps a preallocated key/value cache per layer, [B, heads, max_len, head_dim], written in
place, so each decode step costs one token's worth of compute and no cache copies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "GPTConfig", "TokenEmbedding", "sine_table", "SinePositions", "KVCache", "SelfAttention",
    "cached_keys_values", "Block", "Stack", "pad_mask", "structure_mask",
]

# --------------------------------------------------------------------------------------------
# Configuration


@dataclass
class GPTConfig:
    vocab_size: int = 1025  # 1024 semantic codes + EOS
    phoneme_vocab_size: int = 732
    embedding_dim: int = 512
    hidden_dim: int = 512
    n_head: int = 16
    n_layer: int = 24
    linear_units: int = 2048
    eos: int = 1024  # also the padding value of token batches
    dropout: float = 0.0  # token-embedding dropout (the config's "dropout")
    # The original hard-codes 0.1 for the sine positions and inside the transformer layers; it only
    # matters in training mode, where fine-tuning should behave like the original's.
    pos_dropout: float = 0.1
    layer_dropout: float = 0.1
    bert_dim: int = 1024  # chinese-roberta-wwm-ext-large hidden size; fixed by the BERT, not the file
    layer_norm_eps: float = 1e-5
    max_sec: int = 54  # data.max_sec: the longest utterance the model was trained on

    @classmethod
    def from_checkpoint_config(cls, cfg: Mapping[str, Any]) -> "GPTConfig":
        """Build from a `.ckpt` config: the whole dict (with a "model" section) or the section."""
        model = cfg["model"] if "model" in cfg else cfg
        data = cfg.get("data", {}) if "model" in cfg else {}
        out = cls(
            vocab_size=int(model["vocab_size"]),
            phoneme_vocab_size=int(model["phoneme_vocab_size"]),
            embedding_dim=int(model["embedding_dim"]),
            hidden_dim=int(model["hidden_dim"]),
            n_head=int(model["head"]),
            n_layer=int(model["n_layer"]),
            # The original builds its FFN as 4 x hidden_dim and never reads "linear_units"
            # (equal in every official file); follow the builder so any file it loads, loads.
            linear_units=4 * int(model["hidden_dim"]),
            eos=int(model["EOS"]),
            dropout=float(model.get("dropout", 0.0)),
            max_sec=int((data or {}).get("max_sec", 54)),
        )
        if out.embedding_dim != out.hidden_dim:
            # The text/audio embeddings feed the transformer directly (no projection in between).
            raise ValueError("embedding_dim must equal hidden_dim in a GPT-SoVITS T2S model")
        if out.hidden_dim % out.n_head:
            raise ValueError("hidden_dim must be divisible by head")
        if out.eos != out.vocab_size - 1:
            raise ValueError("EOS must be the last token id (vocab_size - 1)")
        return out

    @property
    def head_dim(self) -> int:
        return self.hidden_dim // self.n_head


# --------------------------------------------------------------------------------------------
# Embeddings


class TokenEmbedding(nn.Module):
    """nn.Embedding under the attribute name the checkpoints use (`word_embeddings`)."""

    def __init__(self, num: int, dim: int, dropout: float) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(num, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: Tensor) -> Tensor:
        return self.dropout(self.word_embeddings(ids))


def sine_table(length: int, dim: int) -> Tensor:
    """[length, dim] table: sin on even channels, cos on odd, frequencies 10000^(-2i/dim)."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * -(math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class SinePositions(nn.Module):
    """x + alpha * sine(pos); `alpha` is learned, the table is rebuilt (never saved)."""

    def __init__(self, dim: int, dropout: float, initial_len: int = 4000) -> None:
        super().__init__()
        self.dim = dim
        self.alpha = nn.Parameter(torch.ones(1))
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pe", sine_table(initial_len, dim), persistent=False)

    def table(self, length: int) -> Tensor:
        if length > self.pe.shape[0]:  # grow on demand (rare: > 160 s of audio)
            with torch.inference_mode(False):  # a normal tensor, usable later in training
                self.pe = sine_table(max(length, 2 * self.pe.shape[0]), self.dim).to(self.pe.device)
        return self.pe[:length]

    def at(self, x: Tensor, pos: int) -> Tensor:
        """x [B, 1, D] placed at position `pos` (one decode step)."""
        return self.dropout(x + self.alpha * self.table(pos + 1)[pos].to(x.dtype))

    def forward(self, x: Tensor) -> Tensor:
        """Positions 0..T-1 for every row."""
        return self.dropout(x + self.alpha * self.table(x.shape[1]).to(x.dtype))


# --------------------------------------------------------------------------------------------
# Transformer


class KVCache:
    """Preallocated keys/values for every layer: [B, heads, max_len, head_dim], filled in place.

    `length` is how many positions are valid; `key_mask` [B, max_len] (True = may be attended)
    handles left-padded batches, None when every position is real.
    """

    def __init__(self, cfg: GPTConfig, batch: int, max_len: int, device: torch.device | str,
                 dtype: torch.dtype = torch.float32) -> None:
        shape = (batch, cfg.n_head, max_len, cfg.head_dim)
        # Never read beyond `length`, so no need to zero (saves touching ~180 MB per utterance).
        self.k = [torch.empty(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.v = [torch.empty(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.max_len = max_len
        self.length = 0
        self.text_len = 0  # columns taken by the (left-padded) text
        self.key_mask: Tensor | None = None

    def select(self, rows: Tensor) -> None:
        """Keep only `rows` of the batch (finished rows are dropped to save compute)."""
        self.k = [k.index_select(0, rows) for k in self.k]
        self.v = [v.index_select(0, rows) for v in self.v]
        if self.key_mask is not None:
            self.key_mask = self.key_mask.index_select(0, rows)


class SelfAttention(nn.Module):
    """Multi-head self-attention with the fused `in_proj_weight` layout of nn.MultiheadAttention."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        d = cfg.hidden_dim
        self.n_head = cfg.n_head
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        self.dropout = cfg.layer_dropout
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: Tensor, mask: Tensor | None, cache: tuple[Tensor, Tensor] | None = None,
                start: int = 0) -> Tensor:
        """x [B, T, D]; mask broadcastable to [B, H, T, S] (bool, True = attend).

        With a cache, the new keys/values are written at [start, start+T) and attention runs over
        the cache prefix [0, start+T).
        """
        B, T, D = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.view(B, T, 3, self.n_head, D // self.n_head).permute(2, 0, 3, 1, 4)
        if cache is not None:
            q, k, v = cached_keys_values(q, k, v, cache, start)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        if cache is not None:
            y = y.to(x.dtype)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, D))


def cached_keys_values(q: Tensor, k: Tensor, v: Tensor, cache: tuple[Tensor, Tensor], start: int
                       ) -> tuple[Tensor, Tensor, Tensor]:
    """Write the new keys/values at [start, start+T) of the cache; returns (q, keys, values) to
    attend with: the cache prefix [0, start+T), and q in the cache's dtype (a bf16 cache, the
    CPU fast path, halves the bytes each decode step reads)."""
    T = k.shape[2]
    k_all, v_all = cache
    k_all[:, :, start:start + T] = k
    v_all[:, :, start:start + T] = v
    if start == 0:  # a prefill attends over exactly its fresh keys: full precision, no cache read
        return q, k, v
    return q.to(k_all.dtype), k_all[:, :, :start + T], v_all[:, :, :start + T]


class Block(nn.Module):
    """Post-LayerNorm transformer layer: x = LN1(x + attn(x)); x = LN2(x + FFN(x))."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        d = cfg.hidden_dim
        self.self_attn = SelfAttention(cfg)
        self.linear1 = nn.Linear(d, cfg.linear_units)
        self.linear2 = nn.Linear(cfg.linear_units, d)
        self.norm1 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.norm2 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.layer_dropout)

    def forward(self, x: Tensor, mask: Tensor | None, cache: tuple[Tensor, Tensor] | None = None,
                start: int = 0) -> Tensor:
        if not self.training:  # the same without the no-op dropout calls (each decode step runs 24 layers)
            x = self.norm1(x + self.self_attn(x, mask, cache, start))
            return self.norm2(x + self.linear2(F.relu(self.linear1(x))))
        x = self.norm1(x + self.dropout(self.self_attn(x, mask, cache, start)))
        ff = self.linear2(self.dropout(F.relu(self.linear1(x))))
        return self.norm2(x + self.dropout(ff))


class Stack(nn.Module):
    """Holds the layers under `h.layers.N` as in the checkpoints."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))

    def forward(self, x: Tensor, mask: Tensor | None, cache: KVCache | None = None) -> Tensor:
        start = cache.length if cache is not None else 0
        for i, layer in enumerate(self.layers):
            kv = (cache.k[i], cache.v[i]) if cache is not None else None
            x = layer(x, mask, kv, start)
        if cache is not None:
            cache.length = start + x.shape[1]
        return x


# --------------------------------------------------------------------------------------------
# Masks


def pad_mask(lens: Tensor, max_len: int) -> Tensor:
    """[B, max_len] True where the position is real (right padding)."""
    return torch.arange(max_len, device=lens.device).unsqueeze(0) < lens.unsqueeze(1)


def structure_mask(n_text: int, n_audio: int, device: torch.device | str | None = None) -> Tensor:
    """[n_text + n_audio]^2 bool, True = may attend: text->text, audio->text and earlier audio."""
    n = n_text + n_audio
    allowed = torch.ones(n, n, dtype=torch.bool, device=device).tril()
    allowed[:n_text, :n_text] = True
    return allowed
