"""GPT-SoVITS v2 text-to-semantic model ("T2S", "s1"): a clean re-implementation.

A decoder-only transformer reads a text stream (phone ids + projected BERT features) followed by
an audio stream (25 Hz semantic tokens, 1024 codes + EOS) and predicts the next semantic token.
Text positions attend to all text only; audio positions attend to all text and to earlier audio.

Numerics follow the original (RVC-Boss/GPT-SoVITS, MIT) so its `.ckpt` files load unchanged:
post-LayerNorm blocks with ReLU FFN, sine positions scaled by a learned `alpha` (no sqrt(d)),
summed cross-entropy over tokens + EOS for training, and the official sampling chain for
inference. Only the parameter names and numerics are shared; the code is our own.

Inference keeps a preallocated key/value cache per layer, [B, heads, max_len, head_dim], written in
place, so each decode step costs one token's worth of compute and no cache copies.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.engine.gpt_sampling import sample_next, sampling_probs

__all__ = [
    "GPTConfig",
    "Text2Semantic",
    "KVCache",
    "load_gpt",
    "check_gpt",
    "sample_next",
    "sampling_probs",
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


# --------------------------------------------------------------------------------------------
# The model


class Text2Semantic(nn.Module):
    kv_dtype: torch.dtype | None = None  # the KV cache's dtype; None = the weights' (a fast path may set bf16)
    static_decode: Any = None  # a `cuda_decode.StaticDecode`: static cache + CUDA-graph decode step
    # A fast path's stand-in for `self.h` in decode steps (`decode_step.FusedDecode`): (x, mask, cache) -> x
    decode_layers: Any = None

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.embedding_dim
        self.bert_proj = nn.Linear(cfg.bert_dim, d)
        self.ar_text_embedding = TokenEmbedding(cfg.phoneme_vocab_size, d, cfg.dropout)
        self.ar_text_position = SinePositions(d, cfg.pos_dropout)
        self.ar_audio_embedding = TokenEmbedding(cfg.vocab_size, d, cfg.dropout)
        self.ar_audio_position = SinePositions(d, cfg.pos_dropout)
        self.h = Stack(cfg)
        self.ar_predict_layer = nn.Linear(cfg.hidden_dim, cfg.vocab_size, bias=False)

    # ---- inputs -----------------------------------------------------------------------------

    def text_pos(self, x: Tensor, bert: Tensor) -> Tensor:
        """Phone ids [B, T] + BERT [B, bert_dim, T] -> [B, T, D] with positions 0..T-1."""
        h = self.ar_text_embedding(x) + self.bert_proj(bert.transpose(1, 2))
        return self.ar_text_position(h)

    # ---- training ---------------------------------------------------------------------------

    def forward_train(self, x: Tensor, x_lens: Tensor, bert: Tensor, y: Tensor, y_lens: Tensor
                      ) -> tuple[Tensor, Tensor, Tensor]:
        """Teacher-forced pass over a padded batch, as the original trains.

        x [B, Tx] phone ids and bert [B, bert_dim, Tx] LEFT-padded (the original's collate; text
        positions count over the padded row), y [B, Ty] semantic tokens right-padded (padding
        values are ignored). The lengths are x_lens, y_lens.
        Returns (logits [B, Ty+1, V] from the last text position on, summed cross-entropy against
        the tokens followed by EOS, top-3 accuracy over the non-EOS targets). Row i's valid
        logits are the first y_lens[i] + 1.
        """
        B, Tx = x.shape
        Ty = y.shape[1]
        # The original's collate LEFT-pads the text (positions still count over the padded row).
        text_ok = torch.arange(Tx, device=x.device)[None] >= (Tx - x_lens)[:, None]
        audio_ok = pad_mask(y_lens, Ty)
        # Audio padding reads EOS (the original's pad value); it is masked as a key, so it only
        # shapes the padded rows' own outputs, which the original's summed loss does include.
        codes = torch.where(audio_ok, y, torch.full_like(y, self.cfg.eos))
        xs = self.text_pos(x, bert)
        ys = self.ar_audio_position(self.ar_audio_embedding(codes))
        allowed = structure_mask(Tx, Ty, x.device)[None] & torch.cat([text_ok, audio_ok], 1)[:, None, :]
        h = self.h(torch.cat([xs, ys], 1), allowed[:, None])
        logits = self.ar_predict_layer(h[:, Tx - 1:])
        # Targets: the tokens then EOS; padding positions also read EOS (as in the original).
        targets = torch.cat([codes, torch.full_like(y[:, :1], self.cfg.eos)], 1)
        loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="sum")
        acc = topk_accuracy(logits.detach(), targets, k=3, ignore=self.cfg.eos)
        return logits, loss, acc

    def forward(self, x: Tensor, x_lens: Tensor, bert: Tensor, y: Tensor, y_lens: Tensor
                ) -> tuple[Tensor, Tensor, Tensor]:
        return self.forward_train(x, x_lens, bert, y, y_lens)

    # ---- inference --------------------------------------------------------------------------

    def new_cache(self, batch: int, max_len: int) -> KVCache:
        """The cache holds the weights' dtype, or `kv_dtype` where a fast path set one."""
        p = self.ar_predict_layer.weight
        return KVCache(self.cfg, batch, max_len, p.device, self.kv_dtype or p.dtype)

    def prefill(self, x: Tensor, bert: Tensor, prompt: Tensor | None, cache: KVCache,
                x_lens: Tensor | None = None) -> Tensor:
        """Run text + prompt through the model in one pass, filling `cache`.

        Texts of different lengths are LEFT-padded so that every row's audio starts at the same
        column; each row's text positions still count from 0. Returns the last hidden state
        [B, D] (the input of the first prediction).
        """
        B, Tx = x.shape
        cache.text_len = Tx
        if x_lens is None:
            x_lens = torch.full((B,), Tx, dtype=torch.long, device=x.device)
        xs = self.text_pos(x, bert) if bool((x_lens == Tx).all()) else self._left_text(x, bert, x_lens)
        P = 0 if prompt is None else prompt.shape[1]
        if P:
            ys = self.ar_audio_position(self.ar_audio_embedding(prompt))
            seq = torch.cat([xs, ys], 1)
        else:
            seq = xs
        allowed = structure_mask(Tx, P, x.device)
        if bool((x_lens == Tx).all()):
            mask = allowed
        else:
            real = torch.arange(cache.max_len, device=x.device)[None] >= (Tx - x_lens)[:, None]
            cache.key_mask = real
            # A padding query may see itself only, so that no softmax row is empty (NaN).
            mask = (allowed[None] & real[:, None, :Tx + P]) | torch.eye(Tx + P, dtype=torch.bool,
                                                                          device=x.device)[None]
            mask = mask[:, None]
        h = self.h(seq, mask, cache)
        return h[:, -1]

    def _left_text(self, x: Tensor, bert: Tensor, x_lens: Tensor) -> Tensor:
        """Right-padded text in, left-padded embedded text out (positions from 0 per row)."""
        B, Tx = x.shape
        xs = self.text_pos(x, bert)  # positions 0.. per row, because the row starts at column 0
        out = torch.zeros_like(xs)
        for i in range(B):
            n = int(x_lens[i])
            out[i, Tx - n:] = xs[i, :n]
        return out

    def step(self, tokens: Tensor, cache: KVCache) -> Tensor:
        """Feed one new token per row [B]; returns the hidden state [B, D]."""
        pos = cache.length - cache.text_len  # audio position of this token
        e = self.ar_audio_position.at(self.ar_audio_embedding(tokens[:, None]), pos)
        mask = None
        if cache.key_mask is not None:
            mask = cache.key_mask[:, None, None, :cache.length + 1]
        if self.decode_layers is not None:
            return self.decode_layers(e, mask, cache)[:, -1]
        return self.h(e, mask, cache)[:, -1]

    @torch.inference_mode()
    def generate(
        self,
        x: Tensor | Sequence[Tensor],
        bert: Tensor | Sequence[Tensor],
        prompt_tokens: Tensor | None,
        *,
        x_lens: Tensor | None = None,
        top_k: int | None = 15,
        top_p: float = 1.0,
        temperature: float = 1.0,
        repetition_penalty: float = 1.35,
        max_new_tokens: int = 1500,
        min_new_tokens: int = 11,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        eos_disabled: bool = False,
    ) -> list[Tensor]:
        """Sample semantic tokens after `prompt_tokens` for one or several texts.

        x: phone ids [B, Tx] (right-padded, true lengths in `x_lens`) or a list of 1-D tensors;
        bert: [B, bert_dim, Tx] or a list of [bert_dim, Tx_i]; prompt_tokens: [P] or [1, P]
        (shared by every row), [B, P], or None for the reference-free mode.

        Sampling is the original's: repetition penalty over all previous tokens (prompt
        included) -> top-p -> temperature -> top-k -> softmax -> argmax(p / Exp(1) noise).
        EOS cannot be chosen during the first `min_new_tokens` steps (never, with
        `eos_disabled`). A row stops when the penalised argmax or the sample is EOS (that last
        draw is not returned, as in the original) or once it holds `max_new_tokens` tokens
        (the original's hard cap: 1500 steps = 60 s). `top_k=1` is plain greedy decoding (no
        noise drawn); `top_k=None` disables top-k.
        Returns one 1-D tensor of new tokens per row.
        """
        if generator is None and seed is not None:
            generator = torch.Generator(device=self.ar_predict_layer.weight.device).manual_seed(seed)
        dev = self.ar_predict_layer.weight.device
        x, bert, x_lens = self._batch_text(x, bert, x_lens)
        x, bert, x_lens = x.to(dev), bert.to(dev), x_lens.to(dev)
        B, Tx = x.shape
        if max_new_tokens <= 0:
            return [torch.zeros(0, dtype=torch.long, device=dev) for _ in range(B)]
        if prompt_tokens is None:
            prompt = torch.zeros(B, 0, dtype=torch.long, device=dev)
        else:
            prompt = prompt_tokens.to(dev).long()
            prompt = prompt.reshape(1, -1) if prompt.dim() == 1 else prompt
            prompt = prompt.expand(B, -1) if prompt.shape[0] == 1 else prompt
        P = prompt.shape[1]
        eos = self.cfg.eos

        static = (self.static_decode.decoder(self, B, Tx + P + max_new_tokens)
                  if self.static_decode is not None else None)
        if static is not None:  # fixed shapes: finished rows stay in the batch, ignored
            cache = static.cache
            h = static.prefill(x, bert, prompt if P else None, x_lens)
        else:
            cache = self.new_cache(B, Tx + P + max_new_tokens)
            h = self.prefill(x, bert, prompt if P else None, cache, x_lens)

        history = torch.empty(B, P + max_new_tokens, dtype=torch.long, device=dev)
        history[:, :P] = prompt
        rows = torch.arange(B, device=dev)  # original batch index of each live row
        done: list[Tensor | None] = [None] * B
        n = 0
        while True:
            logits = self.ar_predict_layer(h).float()
            if eos_disabled or n < min_new_tokens:
                logits[:, eos] = -math.inf  # same as the original's dropping of the EOS column
            token, penalised = sample_next(
                logits, history[:, :P + n], top_k=top_k, top_p=top_p, temperature=temperature,
                repetition_penalty=repetition_penalty, generator=generator)
            history[:, P + n] = token
            n += 1
            at_eos = (penalised.argmax(-1) == eos) | (token == eos)
            stop = at_eos | (n >= max_new_tokens)
            if bool(stop.any()):
                for j in stop.nonzero().flatten().tolist():
                    # On EOS the original drops the last draw, even a non-EOS sample whose
                    # argmax was EOS; at the length cap every token is kept.
                    keep_n = n - 1 if bool(at_eos[j]) else n
                    done[int(rows[j])] = history[j, P:P + keep_n].clone()
                keep = (~stop).nonzero().flatten()
                if keep.numel() == 0:
                    break
                rows, history, token = rows[keep], history[keep], token[keep]
                if static is None:
                    cache.select(keep)
            h = self.step(token, cache) if static is None else static.step(token, rows)
        return [t for t in done if t is not None]

    def _batch_text(self, x: Tensor | Sequence[Tensor], bert: Tensor | Sequence[Tensor],
                    x_lens: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """Lists of texts -> right-padded tensors + lengths."""
        if isinstance(x, Tensor):
            x = x.reshape(1, -1) if x.dim() == 1 else x
            assert isinstance(bert, Tensor)
            bert = bert.unsqueeze(0) if bert.dim() == 2 else bert
            if x_lens is None:
                x_lens = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
            return x, bert.to(self.ar_predict_layer.weight.dtype), x_lens.to(x.device)
        lens = torch.tensor([len(t) for t in x], dtype=torch.long)
        T = int(lens.max())
        xs = torch.zeros(len(x), T, dtype=torch.long, device=x[0].device)
        bs = torch.zeros(len(x), self.cfg.bert_dim, T, device=x[0].device,
                         dtype=self.ar_predict_layer.weight.dtype)
        for i, (t, b) in enumerate(zip(x, bert)):
            xs[i, :len(t)] = t
            bs[i, :, :len(t)] = b
        return xs, bs, lens.to(xs.device)


def topk_accuracy(logits: Tensor, targets: Tensor, k: int, ignore: int) -> Tensor:
    """Fraction of targets (other than `ignore`) that are among the k highest logits."""
    keep = targets != ignore
    top = logits.topk(min(k, logits.shape[-1]), dim=-1).indices
    hit = (top == targets.unsqueeze(-1)).any(-1) & keep
    return hit.sum().float() / keep.sum().clamp(min=1).float()


# --------------------------------------------------------------------------------------------
# Loading


PREFIX = "model."  # the original saves its Lightning module, whose T2S lives under `model`


def gpt_from_checkpoint(ckpt: Mapping[str, Any], device: torch.device | str = "cpu") -> Text2Semantic:
    """Build a Text2Semantic from a loaded `.ckpt` dict ({"weight", "config", ...})."""
    from core.engine.checkpoint import CheckpointError

    try:
        cfg = GPTConfig.from_checkpoint_config(ckpt["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"This GPT file's configuration is not usable ({exc}).") from None
    weights = {k[len(PREFIX):]: v for k, v in ckpt["weight"].items() if k.startswith(PREFIX)}
    model = Text2Semantic(cfg)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    bad = sorted(k for k in set(expected) & set(weights) if expected[k].shape != weights[k].shape)
    if missing or extra or bad:
        detail = "; ".join(f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                           for what, keys in (("missing", missing), ("unexpected", extra),
                                              ("wrong shape", bad)) if keys)
        raise CheckpointError(f"This is not a GPT-SoVITS v2 GPT file ({detail}).")
    # Stored fp16; we always compute in fp32 (CPU fp16 is slow and the reference is fp32).
    model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)
    return model.to(device).eval()


def load_gpt(path: str | os.PathLike, device: torch.device | str = "cpu") -> Text2Semantic:
    """Read a GPT `.ckpt` safely and return the model in eval mode, fp32, on `device`."""
    from core.engine.checkpoint import load_checkpoint

    return gpt_from_checkpoint(load_checkpoint(path), device)


def checkpoint_weights(model: Text2Semantic) -> dict[str, Tensor]:
    """State dict under the names the original's files use (`model.` + name), for `save_gpt`."""
    return {PREFIX + k: v for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------------------------
# Conformance against the reference vectors (expected.pt)


def _rel(out: Tensor, ref: Tensor) -> float:
    """||out - ref|| / ||ref||; the plain error norm when the reference is zero."""
    diff = (out.double() - ref.double()).norm().item()
    scale = ref.double().norm().item()
    return diff / scale if scale > 0 else diff


@torch.no_grad()
def check_gpt(model: Text2Semantic, expected: Mapping[str, Tensor]) -> dict[str, float]:
    """Relative errors of every T2S output in `expected`; greedy_tokens is a mismatch count."""
    model.eval()
    e = expected
    res: dict[str, float] = {}
    res["t2s_text_pos"] = _rel(model.text_pos(e["t2s_x"], e["t2s_bert"]), e["t2s_text_pos"])
    logits, loss, acc = model.forward_train(e["t2s_x"], e["t2s_x_lens"], e["t2s_bert"],
                                            e["t2s_y"], e["t2s_y_lens"])
    n = [int(v) + 1 for v in e["t2s_y_lens"]]
    res["t2s_logits"] = _rel(torch.cat([logits[i, :k] for i, k in enumerate(n)]),
                             torch.cat([e["t2s_logits"][i, :k] for i, k in enumerate(n)]))
    res["t2s_loss"] = _rel(loss, e["t2s_loss"])
    res["t2s_acc"] = _rel(acc, e["t2s_acc"])

    # Greedy decode: text and BERT cut to the prompt-free part used by the reference.
    ref = e["greedy_tokens"][0]
    prompt = e["greedy_prompt"][0]
    n_new = ref.numel() - prompt.numel()
    tx = 15  # the reference decoded t2s_x[:1, :15] (see README)
    new = model.generate(e["t2s_x"][:1, :tx], e["t2s_bert"][:1, :, :tx], prompt, top_k=1,
                         max_new_tokens=n_new)[0]
    got = torch.cat([prompt, new])
    width = max(got.numel(), ref.numel())
    pad = lambda t: torch.cat([t, t.new_full((width - t.numel(),), -1)])  # noqa: E731
    res["greedy_tokens"] = float((pad(got) != pad(ref)).sum())
    return res
