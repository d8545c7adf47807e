"""GPT-SoVITS v2 text-to-semantic model ("T2S", "s1"): a clean re-implementation.

A decoder-only transformer reads a text stream (phone ids + projected BERT features) followed by
an audio stream (25 Hz semantic tokens, 1024 codes + EOS) and predicts the next semantic token.
Text positions attend to all text only; audio positions attend to all text and to earlier audio.

Numerics follow the original (RVC-Boss/GPT-SoVITS, MIT) so its `.ckpt` files load unchanged:
post-LayerNorm blocks with ReLU FFN, sine positions scaled by a learned `alpha` (no sqrt(d)),
summed cross-entropy over tokens + EOS for training, and the official sampling chain for
inference. Only the parameter names and numerics are shared; the code is our own.

Top to bottom: the model (inputs, training, inference), loading a `.ckpt`, and the check against
the reference vectors. Its parts (config, embeddings, KV cache, layers, masks) are in
`core.engine.gpt_layers`, the sampling chain in `core.engine.gpt_sampling`.

Three class attributes of `Text2Semantic` are the one seam through which the runtime
(`core.runtime`, the fast paths) changes how inference runs; the model never imports the runtime,
and with all three unset (the default) it is exactly the original:
- `kv_dtype`: the KV cache's dtype (None = the weights');
- `decode_layers`: a callable (x, mask, cache) -> x that stands in for `self.h` in decode steps;
- `static_decode`: an object whose `decoder(model, batch, max_len)` gives a decoder with a
  `cache`, `prefill(x, bert, prompt, x_lens)` and `step(tokens, rows)` (fixed shapes: finished
  rows stay in the batch).
They are generic hooks rather than the fast paths' code here so that this file stays the model:
the int8 decode step, the bf16 cache choice and the CUDA graph each live in `core.runtime` and
are tested there against this exact path. Moving them out entirely would mean a second copy of
`generate`'s sampling loop in the runtime, which is the drift the seam avoids.
"""
from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.engine.gpt_layers import (
    GPTConfig, KVCache, SinePositions, Stack, TokenEmbedding, pad_mask, structure_mask,
)
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
# The model


class Text2Semantic(nn.Module):
    # The runtime's seam (module doc): unset, inference is exactly the original's.
    kv_dtype: torch.dtype | None = None  # the KV cache's dtype; None = the weights'
    static_decode: Any = None  # decoder(model, batch, max_len) -> fixed-shape cache + prefill/step
    decode_layers: Any = None  # (x, mask, cache) -> x in place of `self.h` in decode steps

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

    def step(self, tokens: Tensor, cache: KVCache, positions: Tensor | None = None) -> Tensor:
        """Feed one new token per row [B]; returns the hidden state [B, D].

        `positions` [B]: each row's own audio position, for a batch whose rows joined at
        different steps (`core.runtime.batching`); None: every row at the cache's.
        """
        if positions is None:
            pos = cache.length - cache.text_len  # audio position of this token
            e = self.ar_audio_position.at(self.ar_audio_embedding(tokens[:, None]), pos)
        else:  # the same sums as `at`, one table row per batch row
            sine = self.ar_audio_position
            x = self.ar_audio_embedding(tokens[:, None])
            rows = sine.table(int(positions.max()) + 1)[positions][:, None]
            e = sine.dropout(x + sine.alpha * rows.to(x.dtype))
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
