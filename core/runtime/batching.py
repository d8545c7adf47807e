"""Several callers' texts through one Synthesizer, their sentences merged into shared GPT batches
(the local speech service's engine owner, core/service/engine.py, drives this).

What is done, exactly:
- Each caller's text is planned on its own (`Synthesizer._plan`: split, G2P with the caller's
  pronunciation dictionary), so a bad text fails for that caller alone.
- A *round* is one GPT batch. It takes, oldest caller first, the first sentence of every caller
  that has had no audio yet (so a new caller's first audio waits for at most one round), then
  fills the batch with the callers' following sentences, one per caller in turn, up to
  `batch_size`. Only callers that share the voice (same Synthesizer and reference) and the GPT's
  sampling options (`gpt_key`) are merged: that is what the Synthesizer's own sentence batching
  (`_semantic_tokens`, one reference, one set of sampling options) allows.
- Each sentence of the round is then vocoded alone (SoVITS at the caller's own speed and noise
  scale), followed by the caller's pause, and watermarked with the caller's voice id, running on
  across that caller's sentences exactly as `Synthesizer.stream` marks them.
- A caller that arrives while a round runs joins the next round (a GPT-step boundary join,
  "continuous batching", is not done). A caller that goes away is dropped between sentences.
- `seed` is not honoured here: draws are shared by the batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from core.runtime.pipeline import TOKENS_PER_S, SynthesisOptions, Synthesizer
from core.watermark import embed as watermark


def gpt_key(options: SynthesisOptions) -> tuple:
    """Callers whose options agree on this may share a GPT batch."""
    return (options.top_k, options.top_p, options.temperature, options.repetition_penalty,
            options.max_new_tokens)


@dataclass
class Caller:
    """One caller's text, planned, and how far it has been spoken."""
    id: str
    plan: list                      # [(sentence, Phonemized)] from Synthesizer._plan
    options: SynthesisOptions
    watermark_id: int
    notes: list[str] = field(default_factory=list)
    done: int = 0                   # sentences handed out
    at_s: float = 0.0               # where the next sentence starts in this caller's output

    @property
    def total(self) -> int:
        return len(self.plan)

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def plan_caller(synth: Synthesizer, caller_id: str, text: str, options: SynthesisOptions,
                watermark_id: int, userdict=None) -> Caller:
    """Check and split one caller's text (SynthesisError when there is nothing to say). The
    synthesizer's reference must be the caller's voice's."""
    plan = synth._plan(text, options, userdict)
    return Caller(caller_id, plan, options, int(watermark_id), list(synth.last_notes))


def next_round(callers: list[Caller], batch_size: int) -> list[tuple[Caller, int]]:
    """The sentences of the next GPT batch: (caller, sentence index), see the module's text.
    `callers` are oldest first and already share a voice and a `gpt_key`."""
    picks: list[tuple[Caller, int]] = []
    taken = {c.id: c.done for c in callers}
    for c in callers:                               # every caller's first sentence first
        if len(picks) < batch_size and c.done == 0 and c.total:
            picks.append((c, 0))
            taken[c.id] = 1
    while len(picks) < batch_size:                  # then the rest, one per caller in turn
        added = False
        for c in callers:
            if len(picks) < batch_size and taken[c.id] < c.total:
                picks.append((c, taken[c.id]))
                taken[c.id] += 1
                added = True
        if not added:
            break
    return picks


def run_round(synth: Synthesizer, picks: list[tuple[Caller, int]],
              alive=lambda caller: True) -> Iterator[tuple[Caller, int, np.ndarray]]:
    """One GPT batch for `picks`, then each sentence vocoded and marked: yields (caller, index,
    audio) in the order of `picks`. `alive(caller)` is asked before each sentence is vocoded; a
    caller that is gone is skipped (its GPT tokens are simply dropped)."""
    if not picks:
        return
    options = picks[0][0].options
    generator = synth.setup.generator(None)
    voc_generator = synth.setup.vocoder_generator(None)
    max_new = options.max_new_tokens or synth.gpt.cfg.max_sec * TOKENS_PER_S
    tokens = synth._semantic_tokens([c.plan[i][1] for c, i in picks], options, generator, max_new)
    for (caller, index), new in zip(picks, tokens):
        if not alive(caller):
            continue
        ph = caller.plan[index][1]
        audio = synth._vocode(new, ph.ids, caller.options, voc_generator)
        pause = np.zeros(int(round(caller.options.pause_s * synth.SAMPLE_RATE)), np.float32)
        audio = watermark(np.concatenate([audio, pause]), synth.SAMPLE_RATE, caller.watermark_id,
                          caller.at_s)          # every synthesized sentence is marked
        caller.at_s += len(audio) / synth.SAMPLE_RATE
        caller.done = max(caller.done, index + 1)
        yield caller, index, audio
