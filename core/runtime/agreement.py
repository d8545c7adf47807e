"""How closely a changed GPT picks the exact GPT's tokens: the figure of the GPT gates.

`teacher_forced_picks` feeds both models the exact model's own greedy tokens, so one early
difference does not make every later step differ; `greedy_agreement` is the share of steps
where the picks agree (`voicebank bench`), and the load-time gates (`core.runtime.apply`) compute
the same share against tokens kept from the fp32 GPT on a fixed probe (`gpt_probe`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from core.engine.gpt import Text2Semantic
from core.runtime.gates import BERT_PROBE_TEXT

__all__ = ["greedy_tokens", "teacher_forced_picks", "greedy_agreement", "GptProbe", "GPT_PROBE_PROMPT",
           "gpt_probe"]


@torch.inference_mode()
def greedy_tokens(model: Text2Semantic, x: Tensor, bert: Tensor, prompt: Tensor | None, steps: int,
                  repetition_penalty: float = 1.35) -> Tensor:
    """`steps` greedy tokens (EOS excluded), as `generate(top_k=1)` picks them: [steps]."""
    return model.generate(x, bert, prompt, top_k=1, max_new_tokens=steps,
                          repetition_penalty=repetition_penalty, eos_disabled=True)[0]


@torch.inference_mode()
def teacher_forced_picks(model: Text2Semantic, x: Tensor, bert: Tensor, prompt: Tensor | None,
                         tokens: Tensor, repetition_penalty: float = 1.35) -> Tensor:
    """The greedy pick of `model` at every step when it is fed `tokens` (the exact model's own
    greedy tokens): one early difference then does not make every later step differ. Per step
    the argmax of the penalised logits, EOS excluded (what `generate(top_k=1)` picks). Runs
    through the model's own decode step (fused/scripted where set), as synthesis does."""
    from core.engine.gpt_sampling import penalise

    eos = model.cfg.eos
    P = 0 if prompt is None else prompt.shape[1]
    cache = model.new_cache(1, x.shape[1] + P + len(tokens) + 1)
    h = model.prefill(x, bert, prompt, cache)
    history = prompt.clone() if prompt is not None else torch.zeros(1, 0, dtype=torch.long, device=x.device)
    out = []
    for i in range(len(tokens)):
        logits = model.ar_predict_layer(h).float()
        logits[:, eos] = -math.inf
        out.append(int(penalise(logits, history, repetition_penalty).argmax(-1)))
        tok = tokens[i:i + 1]
        history = torch.cat([history, tok[None]], 1)
        h = model.step(tok, cache)
    return torch.tensor(out)


@torch.inference_mode()
def greedy_agreement(reference: Text2Semantic, candidate: Text2Semantic, x: Tensor, bert: Tensor,
                     prompt: Tensor | None, steps: int = 50, repetition_penalty: float = 1.35,
                     candidate_bert: Tensor | None = None) -> dict[str, float]:
    """How often `candidate` picks the same greedy token as `reference` over `steps` steps.

    Teacher-forced (`teacher_forced_picks`): both models are fed the reference's greedy tokens.
    Also reports how many leading tokens a free-running greedy decode of the candidate shares
    with the reference's. x [1, T] phone ids, bert [1, 1024, T], prompt [1, P] or None;
    `candidate_bert`: the candidate's own BERT features (a reduced-precision BERT's), else `bert`.
    """
    ref_tokens = greedy_tokens(reference, x, bert, prompt, steps, repetition_penalty)
    cbert = bert if candidate_bert is None else candidate_bert
    cand_tokens = greedy_tokens(candidate, x, cbert, prompt, steps, repetition_penalty)
    picks = [teacher_forced_picks(model, x, feats, prompt, ref_tokens, repetition_penalty)
             for model, feats in ((reference, bert), (candidate, cbert))]
    same = (picks[0] == picks[1]).float().mean().item()
    n = min(len(ref_tokens), len(cand_tokens))
    differs = (ref_tokens[:n] != cand_tokens[:n]).nonzero()
    prefix = int(differs[0]) if differs.numel() else n
    return {"agreement": same, "free_running_prefix": prefix, "steps": steps}


@dataclass
class GptProbe:
    """What the load-time GPT gates decode: a fixed Chinese sentence (its phones and the loaded
    BERT's fp32 features) after a seeded prompt of 150 tokens (as `voicebank bench`)."""
    x: Tensor
    bert: Tensor
    prompt: Tensor


GPT_PROBE_PROMPT = 150


@torch.inference_mode()
def gpt_probe(gpt: Text2Semantic, bert: Any, seed: int = 0) -> GptProbe:
    from core.engine.features import bert_features
    from core.text.frontend import phonemize

    dev = gpt.ar_predict_layer.weight.device
    ph = phonemize(BERT_PROBE_TEXT)
    feats = bert_features(bert, ph).float()[None].to(dev)
    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, gpt.cfg.eos, (1, GPT_PROBE_PROMPT), generator=g).to(dev)
    return GptProbe(torch.tensor([list(ph.ids)], device=dev), feats, prompt)
