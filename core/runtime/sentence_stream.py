"""One sentence spoken in pieces while its GPT is still running, so the first audio comes early.

Why: a whole 10 s sentence is decoded before any of it can play (2.6-2.9 s on the dev CPU). Here
the GPT's tokens are vocoded in growing pieces as they come: the first piece after
`first_tokens` tokens (0.32 s of speech), each next one as long as everything before it, so the
next piece is ready before the last one has finished playing wherever the whole stays faster
than real time (the speech is the same length; only the waiting moves).

How each piece is made (the same idea as the original's streaming modes, written for this
project): the SoVITS decoder runs over a window of tokens - `left_context` tokens already
played, the piece, and `lookahead` tokens after it - with the sentence's full phones, and only
the piece's stretch of the output is kept; `fade` samples are cross-faded across every join.
The decoder's self-attention sees the whole window, so a piece is close to, not equal to, the
same stretch of the whole-sentence decode; `voicebank bench` measures how close
(`pieces_snr_db`: SNR against the whole decode with the same tokens, the noise off; 46.5 dB on
the full-size random models, where the fast paths' gate asks for 30). The noise the decoder
adds is drawn per window, so with the noise on a piece is another draw of the same speech. At
another speed the decoder stretches each window to whole frames, so the pieces keep their own
joins continuous but drift from the whole-sentence timing by a fraction of a frame (25 dB at
speed 1.3: the same sounds, shifted by under 10 ms).

The GPT side is `Text2Semantic.generate`'s loop for one row, step by step: same sampling, same
EOS rules (nothing chosen before `min_new_tokens`; on EOS the last draw is dropped), the same
generator draws, so the tokens are the ones the whole-sentence path would make.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from core.engine.gpt import Text2Semantic
from core.engine.gpt_sampling import sample_next

SAMPLES_PER_TOKEN = 1280     # 25 tokens/s at 32 kHz (two 50 Hz frames of 640 samples)
MIN_NEW_TOKENS = 11          # as Text2Semantic.generate


@dataclass(frozen=True)
class StreamSchedule:
    first_tokens: int = 8        # the first piece: 0.32 s of speech
    left_context: int = 12       # tokens already played, decoded again before each piece (0.5 s)
    lookahead: int = 4           # tokens after the piece, decoded for context only
    fade: int = 320              # samples cross-faded across a join (10 ms)

    def next_end(self, emitted: int) -> int:
        """Where the piece starting at token `emitted` ends: the first piece, then doubling."""
        return emitted + max(self.first_tokens, emitted)


@torch.inference_mode()
def token_steps(gpt: Text2Semantic, x: Tensor, bert: Tensor, prompt: Tensor | None, *,
                top_k: int | None, top_p: float, temperature: float, repetition_penalty: float,
                max_new_tokens: int, generator: torch.Generator | None
                ) -> Iterator[tuple[Tensor, bool]]:
    """One text's new tokens as they are drawn: yields (tokens so far, finished) after each step.

    x: phone ids [Tx]; bert: [bert_dim, Tx]; prompt: [P] or None. The last yield has
    finished=True and holds exactly what `generate` returns for this row.
    """
    dev = gpt.ar_predict_layer.weight.device
    x = x.to(dev).reshape(1, -1)
    bert = bert.to(dev, gpt.ar_predict_layer.weight.dtype).reshape(1, bert.shape[-2], -1)
    prompt = None if prompt is None or prompt.numel() == 0 else prompt.to(dev).long().reshape(1, -1)
    P = 0 if prompt is None else prompt.shape[1]
    if max_new_tokens <= 0:
        yield torch.zeros(0, dtype=torch.long, device=dev), True
        return
    Tx = x.shape[1]
    static = (gpt.static_decode.decoder(gpt, 1, Tx + P + max_new_tokens)
              if gpt.static_decode is not None else None)
    if static is not None:
        h = static.prefill(x, bert, prompt, None)
        rows = torch.zeros(1, dtype=torch.long, device=dev)
    else:
        cache = gpt.new_cache(1, Tx + P + max_new_tokens)
        h = gpt.prefill(x, bert, prompt, cache)
    history = torch.empty(1, P + max_new_tokens, dtype=torch.long, device=dev)
    if P:
        history[:, :P] = prompt
    eos = gpt.cfg.eos
    n = 0
    while True:
        logits = gpt.ar_predict_layer(h).float()
        if n < MIN_NEW_TOKENS:
            logits[:, eos] = -math.inf
        token, penalised = sample_next(
            logits, history[:, :P + n], top_k=top_k, top_p=top_p, temperature=temperature,
            repetition_penalty=repetition_penalty, generator=generator)
        history[:, P + n] = token
        n += 1
        at_eos = bool(penalised.argmax(-1)[0] == eos) or bool(token[0] == eos)
        if at_eos or n >= max_new_tokens:
            yield history[0, P:P + (n - 1 if at_eos else n)], True
            return
        yield history[0, P:P + n], False
        h = gpt.step(token, cache) if static is None else static.step(token, rows)


def _fade_in(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(np.linspace(0, math.pi, n, dtype=np.float64))).astype(np.float32)


def stream_pieces(steps: Iterator[tuple[Tensor, bool]], decode: Callable[[Tensor], np.ndarray],
                  speed: float = 1.0, schedule: StreamSchedule = StreamSchedule()
                  ) -> Iterator[tuple[np.ndarray, bool]]:
    """(audio, last) pieces of one sentence, in order, as `steps` (from `token_steps`) draws its
    tokens; the last piece comes with last=True (possibly empty).

    decode(tokens [n]) -> the raw audio of those tokens (the sentence's phones and reference are
    bound in). The pieces joined are the sentence: nothing doubled, nothing missing.
    """
    s = schedule
    emitted = 0                           # tokens whose audio has been handed out
    tail = np.zeros(0, np.float32)        # the last piece's overhang, faded into the next piece
    end = s.next_end(0)
    for tokens, finished in steps:
        n = int(tokens.numel())
        if not finished and n < end + s.lookahead:
            continue
        while emitted < n and (finished or n >= end + s.lookahead):
            stop = n if finished else end
            start = max(0, emitted - s.left_context)
            window_end = n if finished else min(n, stop + s.lookahead)
            audio = decode(tokens[start:window_end])
            # The piece's stretch, from token `emitted` to token `stop`, in this window's samples.
            # At another speed the decoder stretches the window to a whole number of frames, so
            # a token spans len(audio) / tokens samples of it (the same content at both joins).
            per_token = len(audio) / (window_end - start) if speed != 1 else SAMPLES_PER_TOKEN
            a = int(round((emitted - start) * per_token))
            b = len(audio) if stop == window_end else int(round((stop - start) * per_token))
            overhang = 0 if stop == window_end else min(s.fade, len(audio) - b)
            piece = audio[a:b + overhang].astype(np.float32, copy=True)
            k = min(len(tail), len(piece))
            if k:
                ramp = _fade_in(k)
                piece[:k] = piece[:k] * ramp + tail[:k] * (1 - ramp)
            if overhang:
                piece, tail = piece[:-overhang], piece[-overhang:]
            else:
                tail = np.zeros(0, np.float32)
            emitted = stop
            end = s.next_end(emitted)
            if finished and emitted >= n:
                yield piece, True
                return
            if len(piece):
                yield piece, False
        if finished:            # no tokens at all
            yield np.zeros(0, np.float32), True
            return


def sentence_pieces(synth, ph, options, generator, voc_generator, max_new: int,
                    gpt_done: Callable[[], None]) -> Iterator[tuple[int, np.ndarray, bool]]:
    """(part, audio, last) of one phonemized sentence spoken by `synth` (a pipeline Synthesizer
    with its reference set), its stages timed in `synth.timings` as the whole-sentence path's."""
    ref = synth.reference
    t = time.perf_counter()
    x, bert = synth._gpt_input(ph)
    synth.timings["bert"] += time.perf_counter() - t

    def steps():
        t_step = time.perf_counter()
        with synth.setup.autocast():
            for tokens, finished in token_steps(
                    synth.gpt, x, bert, ref.prompt_tokens, top_k=options.top_k, top_p=options.top_p,
                    temperature=options.temperature, repetition_penalty=options.repetition_penalty,
                    max_new_tokens=max_new, generator=generator):
                synth.timings["gpt"] += time.perf_counter() - t_step
                if finished:
                    synth.timings["tokens"] += int(tokens.numel())
                    gpt_done()
                yield tokens, finished
                t_step = time.perf_counter()

    def decode(tokens: Tensor) -> np.ndarray:
        return synth._decode_wav(tokens, ph.ids, options, voc_generator)

    for part, (audio, last) in enumerate(stream_pieces(steps(), decode, options.speed)):
        # A piece cannot know the sentence's peak: clipped, where the whole is peak-scaled.
        yield part, np.clip(audio, -1, 1), last
