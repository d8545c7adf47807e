"""Several callers' texts through one Synthesizer, their sentences decoded in one running GPT
batch (continuous batching; the local speech service's engine owner, core/service/engine.py,
drives this).

What is done, exactly:
- Each caller's text is planned on its own (`Synthesizer._plan`: split, G2P with the caller's
  pronunciation dictionary), so a bad text fails for that caller alone.
- `DecodingBatch` is the GPT state of the sentences decoding together: one KV cache, one hidden
  state per row. `advance()` is one decode step: one token sampled per row, the rows that said
  EOS (or reached their token limit) leave at once, the others run one more layer pass. Between
  two steps `join()` adds sentences: their prefill (reference phones + sentence phones, BERT,
  prompt tokens) runs as a batch of its own and their key/value rows are merged into the running
  cache. Every row keeps its own audio position and history, so a row decodes exactly as it
  would alone: the positions are added to the embeddings (not in the cache), so where a row's
  keys sit in the cache does not matter, and the columns before a row's start are masked.
  With greedy sampling (top_k=1) a sentence gets the same tokens alone and in a batch (tests).
- Cache layout: every row's keys end at the same column (`cache.length`), which is where each
  step writes; a row that joins later has its earlier columns masked. Each join or leave
  rebuilds the cache from the valid columns only, dropping columns no row uses any more, so the
  attention span follows the longest sentence still decoding.
- Which sentences join (`admit`): the first sentence of every caller that has none started,
  oldest caller first; a caller's later sentences only once its first has been decoded (as
  `Synthesizer.stream` puts one sentence in its first batch, so the first audio comes from a
  small batch), then one sentence per caller in turn, up to `batch_size` rows. Only callers that
  share the voice (Synthesizer and reference) and the GPT's sampling options (`gpt_key`) share
  a batch.
- A sentence that leaves is vocoded alone right away (SoVITS at the caller's own speed and noise
  scale), followed by the caller's pause, and watermarked with the caller's voice id, running on
  across that caller's sentences exactly as `Synthesizer.stream` marks them (`speak`); a
  sentence that finishes before an earlier one of the same caller waits for it (`in_order`).
  `speak` may run in another thread than the GPT (the service's engine runs it in its vocoder
  thread, so the batch goes on decoding meanwhile); it touches only the caller's `done`/`at_s`.
- `seed`: a caller that gives one decodes in a batch of its own (`DecodingBatch(owner=...)`;
  shared draws would make its audio depend on the other callers), with its own generators for
  the GPT's draws and the vocoder's noise, so the same seed, text and options give the same
  audio again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from core.engine.gpt_sampling import sample_next
from core.runtime.pipeline import TOKENS_PER_S, SynthesisOptions, Synthesizer
from core.watermark import embed as watermark

MIN_NEW_TOKENS = 11     # EOS cannot be chosen before this many tokens (Text2Semantic.generate)


def gpt_key(options: SynthesisOptions) -> tuple:
    """Callers whose options agree on this may share a GPT batch (see also `accepts`)."""
    return (options.top_k, options.top_p, options.temperature, options.repetition_penalty,
            options.max_new_tokens, options.seed)


@dataclass
class Caller:
    """One caller's text, planned, and how far it has been decoded and spoken."""
    id: str
    plan: list                      # [(sentence, Phonemized)] from Synthesizer._plan
    options: SynthesisOptions
    watermark_id: int
    notes: list[str] = field(default_factory=list)
    started: int = 0                # sentences put into the GPT batch
    decoded: int = 0                # sentences handed on to be spoken, in order (`in_order`)
    done: int = 0                   # sentences spoken (`speak`)
    at_s: float = 0.0               # where the next sentence starts in this caller's output
    ready: dict[int, Tensor] = field(default_factory=dict)  # decoded before an earlier sentence
    vocoder_generator: torch.Generator | None = field(default=None, repr=False)  # with a seed

    @property
    def total(self) -> int:
        return len(self.plan)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def waiting(self) -> bool:
        """It has sentences not yet in the GPT batch."""
        return self.started < self.total


def plan_caller(synth: Synthesizer, caller_id: str, text: str, options: SynthesisOptions,
                watermark_id: int, userdict=None) -> Caller:
    """Check and split one caller's text (SynthesisError when there is nothing to say). The
    synthesizer's reference must be the caller's voice's."""
    plan = synth._plan(text, options, userdict)
    return Caller(caller_id, plan, options, int(watermark_id), list(synth.last_notes),
                  vocoder_generator=synth.setup.vocoder_generator(options.seed))


def admit(callers: list[Caller], free: int) -> list[tuple[Caller, int]]:
    """The sentences that join the batch at this step boundary, at most `free` (see the module's
    text). `callers` are oldest first and already share a voice and a `gpt_key`."""
    picks: list[tuple[Caller, int]] = []
    for c in callers:                               # every new caller's first sentence first
        if len(picks) < free and c.started == 0 and c.total:
            picks.append((c, 0))
            c.started = 1
    while len(picks) < free:                        # then the rest, one per caller in turn
        added = False
        for c in callers:
            if len(picks) < free and c.decoded > 0 and c.waiting:
                picks.append((c, c.started))
                c.started += 1
                added = True
        if not added:
            break
    return picks


@dataclass
class _Row:
    caller: Caller
    index: int                      # the sentence, in the caller's plan


class DecodingBatch:
    """Sentences of one voice decoding together, joining and leaving at step boundaries.
    `owner`: the one caller whose sentences it takes (a caller with a seed), None: any caller
    with the same `gpt_key`."""

    def __init__(self, synth: Synthesizer, options: SynthesisOptions, owner: str | None = None):
        assert synth.reference is not None
        self.synth, self.gpt, self.reference, self.options = synth, synth.gpt, synth.reference, options
        self.owner = owner
        self.max_new = options.max_new_tokens or self.gpt.cfg.max_sec * TOKENS_PER_S
        dev = synth.device
        prompt = self.reference.prompt_tokens
        self.prompt = (torch.zeros(0, dtype=torch.long, device=dev) if prompt is None
                       else prompt.to(dev).long().reshape(-1))
        self.rows: list[_Row] = []
        self.cache = None                           # KVCache; key_mask: the valid columns per row
        self.h: Tensor | None = None                # [B, D]: predicts each row's next token
        self.history = torch.zeros(0, len(self.prompt) + self.max_new, dtype=torch.long, device=dev)
        self.n = torch.zeros(0, dtype=torch.long, device=dev)   # tokens made per row
        self.generator = synth.setup.generator(options.seed)

    @classmethod
    def for_caller(cls, synth: Synthesizer, caller: Caller) -> "DecodingBatch":
        """A new batch started by `caller` (its own when it gave a seed)."""
        return cls(synth, caller.options, caller.id if caller.options.seed is not None else None)

    def accepts(self, caller: Caller) -> bool:
        """Whether `caller` (of the same voice) may join."""
        return gpt_key(caller.options) == gpt_key(self.options) and self.owner in (None, caller.id)

    # ---- joining -----------------------------------------------------------------------------

    def join(self, picks: list[tuple[Caller, int]]) -> None:
        """Prefill `picks` (as one left-padded batch) and add their rows to the running batch."""
        if not picks:
            return
        gpt, dev = self.gpt, self.synth.device
        xs, berts = [], []
        for caller, index in picks:                 # this batch's reference, not the synth's current one
            x, bert = self.synth._gpt_input(caller.plan[index][1], self.reference)
            xs.append(x)
            berts.append(bert)
        P = len(self.prompt)
        with torch.inference_mode(), self.synth.setup.autocast():
            x, bert, x_lens = gpt._batch_text(xs, berts, None)
            x, bert, x_lens = x.to(dev), bert.to(dev), x_lens.to(dev)
            B, Tx = x.shape
            cache = gpt.new_cache(B, Tx + P)
            h = gpt.prefill(x, bert, self.prompt.expand(B, -1) if P else None, cache, x_lens)
            valid = (cache.key_mask[:, :Tx + P] if cache.key_mask is not None
                     else torch.ones(B, Tx + P, dtype=torch.bool, device=dev))
            history = torch.zeros(B, self.history.shape[1], dtype=torch.long, device=dev)
            history[:, :P] = self.prompt
            n = torch.zeros(B, dtype=torch.long, device=dev)
            keep = torch.arange(len(self.rows), device=dev)
            parts = [(cache, valid, None)]
            if self.rows:
                parts.insert(0, (self.cache, self.cache.key_mask[:, :self.cache.length], keep))
            self._relayout(parts, torch.cat([self.n, n]))
            self.h = h if self.h is None else torch.cat([self.h, h])
            self.history = torch.cat([self.history, history])
            self.n = torch.cat([self.n, n])
        self.rows += [_Row(caller, index) for caller, index in picks]

    def _relayout(self, parts: list, n: Tensor) -> None:
        """A new cache holding each part's rows (`(cache, valid [B, length], rows or None)`), every
        row's valid columns ending at the same column; columns no row uses are dropped."""
        spans = []
        for cache, valid, rows in parts:
            valid = valid if rows is None else valid.index_select(0, rows)
            used = valid.any(0).nonzero()
            first = int(used[0]) if used.numel() else valid.shape[1]
            spans.append((cache, valid, rows, first, valid.shape[1]))
        L = max(end - first for _, _, _, first, end in spans)
        room = int((self.max_new - n).max()) + 1 if n.numel() else 1   # steps a row may still run
        B = sum(v.shape[0] for _, v, _, _, _ in spans)
        new = self.gpt.new_cache(B, L + room)
        mask = torch.zeros(B, L + room, dtype=torch.bool, device=new.k[0].device)
        r = 0
        for cache, valid, rows, first, end in spans:
            b, width = valid.shape[0], end - first
            for dst, src in ((new.k, cache.k), (new.v, cache.v)):
                for i, t in enumerate(src):
                    part = t[:, :, first:end] if rows is None else t[rows, :, first:end]
                    dst[i][r:r + b, :, L - width:L] = part
                    # masked, but attention still multiplies them: never leave garbage (NaN) there
                    dst[i][r:r + b, :, :L - width] = 0
            mask[r:r + b, L - width:L] = valid[:, first:end]
            r += b
        new.length, new.key_mask = L, mask
        self.cache = new

    # ---- decoding ----------------------------------------------------------------------------

    def advance(self) -> list[tuple[Caller, int, Tensor]]:
        """One decode step: a token for every row; returns the sentences that ended with it,
        (caller, index, new tokens), and drops them from the batch."""
        if not self.rows:
            return []
        gpt, eos, P = self.gpt, self.gpt.cfg.eos, len(self.prompt)
        with torch.inference_mode(), self.synth.setup.autocast():
            logits = gpt.ar_predict_layer(self.h).float()
            young = self.n < MIN_NEW_TOKENS
            if bool(young.any()):
                logits[young, eos] = -math.inf      # as generate drops the EOS column early on
            token, penalised = self._draw(logits)
            everyone = torch.arange(len(self.rows), device=token.device)
            self.history[everyone, P + self.n] = token
            self.n += 1
            at_eos = (penalised.argmax(-1) == eos) | (token == eos)
            stop = at_eos | (self.n >= self.max_new)
            ended = []
            for j in stop.nonzero().flatten().tolist():
                # as generate: on EOS the last draw is dropped; at the length cap it is kept
                keep_n = int(self.n[j]) - (1 if bool(at_eos[j]) else 0)
                row = self.rows[j]
                ended.append((row.caller, row.index, self.history[j, P:P + keep_n].clone()))
            if ended:
                self._keep((~stop).nonzero().flatten())
                token = token[~stop]
            if self.rows:
                self.cache.key_mask[:, self.cache.length] = True   # the column this step writes
                self.h = gpt.step(token, self.cache, positions=P + self.n - 1)
        return ended

    def _draw(self, logits: Tensor) -> tuple[Tensor, Tensor]:
        """`sample_next` over rows with histories of different lengths: a shorter one is padded
        with its own first token, which the penalty counts once however often it occurs."""
        o = self.options
        kw = dict(top_k=o.top_k, top_p=o.top_p, temperature=o.temperature,
                  repetition_penalty=o.repetition_penalty, generator=self.generator)
        lens = len(self.prompt) + self.n
        empty = lens == 0                           # reference-free, first token: no history
        if bool(empty.any()) and not bool(empty.all()):
            token = torch.empty(len(lens), dtype=torch.long, device=logits.device)
            penalised = torch.empty_like(logits)
            for rows in (empty.nonzero().flatten(), (~empty).nonzero().flatten()):
                token[rows], penalised[rows] = self._draw_rows(logits, rows, kw)
            return token, penalised
        return self._draw_rows(logits, None, kw)

    def _draw_rows(self, logits: Tensor, rows: Tensor | None, kw: dict) -> tuple[Tensor, Tensor]:
        lens = len(self.prompt) + self.n
        history = self.history
        if rows is not None:
            logits, lens, history = logits[rows], lens[rows], history[rows]
        width = int(lens.max())
        previous = history[:, :width]
        if width and not bool((lens == width).all()):
            pad = torch.arange(width, device=lens.device)[None] >= lens[:, None]
            previous = torch.where(pad, previous[:, :1], previous)
        return sample_next(logits, previous, **kw)

    def _keep(self, keep: Tensor) -> None:
        """Only the rows `keep` go on (the others ended or their caller went away)."""
        self.rows = [self.rows[int(j)] for j in keep.tolist()]
        self.h, self.history, self.n = self.h[keep], self.history[keep], self.n[keep]
        if not self.rows:
            self.cache, self.h = None, None
            return
        self._relayout([(self.cache, self.cache.key_mask[:, :self.cache.length], keep)], self.n)

    def drop(self, gone: Callable[[Caller], bool]) -> None:
        """Rows whose caller went away leave the batch (their tokens are dropped)."""
        keep = [j for j, row in enumerate(self.rows) if not gone(row.caller)]
        if len(keep) < len(self.rows):
            with torch.inference_mode():
                self._keep(torch.tensor(keep, dtype=torch.long, device=self.n.device))


# ---- speaking ---------------------------------------------------------------------------------

def in_order(caller: Caller, index: int, tokens: Tensor) -> Iterator[tuple[int, Tensor]]:
    """The caller's sentences that can be spoken now that `index` is decoded: its own turn and
    any later ones that finished before it, in order."""
    caller.ready[index] = tokens
    while caller.decoded in caller.ready:
        caller.decoded += 1
        yield caller.decoded - 1, caller.ready.pop(caller.decoded - 1)


def speak(batch: DecodingBatch, caller: Caller, index: int, tokens: Tensor) -> np.ndarray:
    """One decoded sentence vocoded alone, its pause added, watermarked; `caller.done` moves on."""
    synth = batch.synth
    synth.reference = batch.reference       # a request that came meanwhile may have set another
    ph = caller.plan[index][1]
    audio = synth._vocode(tokens, ph.ids, caller.options, caller.vocoder_generator)
    pause = np.zeros(int(round(caller.options.pause_s * synth.SAMPLE_RATE)), np.float32)
    audio = watermark(np.concatenate([audio, pause]), synth.SAMPLE_RATE, caller.watermark_id,
                      caller.at_s)          # every synthesized sentence is marked
    caller.at_s += len(audio) / synth.SAMPLE_RATE
    caller.done = index + 1
    return audio
