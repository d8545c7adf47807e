"""The original GPT-SoVITS sampling chain for one decode step (split out of gpt.py).

Order and semantics follow the original (its AR/models/utils.py), so that seeds and settings
mean the same thing: repetition penalty over every previous token (prompt included) -> top-p ->
temperature -> top-k -> softmax -> draw as argmax(p / q) with q ~ Exp(1).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["penalise", "sampling_probs", "sample_next"]


def penalise(logits: Tensor, previous: Tensor, repetition_penalty: float) -> Tensor:
    """HF-style repetition penalty on a copy of logits [B, V] for previous tokens [B, L].

    A seen token's logit is divided by the penalty when positive and multiplied when negative,
    once, however often the token occurred.
    """
    logits = logits.clone()
    if previous.shape[1] and repetition_penalty != 1.0:
        previous = previous.long()
        seen = logits.gather(1, previous)
        seen = torch.where(seen < 0, seen * repetition_penalty, seen / repetition_penalty)
        logits.scatter_(1, previous, seen)  # duplicates write the same value
    return logits


def _filter(logits: Tensor, top_k: int | None, top_p: float | None, temperature: float) -> Tensor:
    """top-p, then temperature, then top-k, on already penalised logits."""
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cum > top_p
        drop_sorted[:, 0] = False  # always keep the most likely token
        drop = drop_sorted.scatter(1, order, drop_sorted)
        logits = logits.masked_fill(drop, -math.inf)
    logits = logits / max(temperature, 1e-5)
    if top_k is not None and top_k > 0:
        pivot = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        # Ties with the k-th value survive, as in the original.
        logits = logits.masked_fill(logits < pivot, -math.inf)
    return logits


def sampling_probs(logits: Tensor, previous: Tensor, *, top_k: int | None = 15,
                   top_p: float | None = 1.0, temperature: float = 1.0,
                   repetition_penalty: float = 1.35) -> Tensor:
    """The distribution [B, V] the next token is drawn from."""
    return _filter(penalise(logits, previous, repetition_penalty), top_k, top_p,
                   temperature).softmax(-1)


def sample_next(logits: Tensor, previous: Tensor, *, top_k: int | None = 15,
                top_p: float | None = 1.0, temperature: float = 1.0,
                repetition_penalty: float = 1.35,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Draw one token per row from logits [B, V] given the previous tokens [B, L].

    Returns (tokens [B], the penalised logits); the original also stops when the penalised
    logits' argmax is EOS, so the caller needs them. `top_k=1` is exact greedy decoding: top-p
    always keeps the best token and temperature is monotone, so no noise is drawn.
    """
    penalised = penalise(logits, previous, repetition_penalty)
    if top_k is not None and top_k == 1:
        return penalised.argmax(-1), penalised
    probs = _filter(penalised, top_k, top_p, temperature).softmax(-1)
    # argmax(p / q) with q ~ Exp(1) is an exact draw from p (the original's sync-free trick).
    q = torch.empty_like(probs).exponential_(1.0, generator=generator)
    return (probs / q).argmax(-1), penalised
