"""Text + a reference recording -> speech in the reference's voice (GPT-SoVITS v2 inference).

    synth = Synthesizer(ModelPaths(gpt=..., sovits=...))     # loads all four models once
    synth.set_reference("me.wav", "参考音频里说的话。")         # 3-10 s; None = reference-free
    audio = synth.synthesize("你好，world!")                  # float32 mono @ 32 kHz
    for part in synth.stream(text): play(part.audio)          # sentence by sentence

Per reference (cached per file, modification time and text; `core.runtime.reference`):
  wav @16 kHz + 0.6 s zeros -> HuBERT -> SoVITS.extract_latent -> prompt tokens (25 Hz)
  wav @32 kHz (peak > 1 divided by min(2, peak)) -> linear spectrogram (the style reference)
  reference text + final 。/. -> phones + BERT features
Per sentence (the target is split into sentences; several go through the GPT as one batch):
  GPT context = reference phones + sentence phones, BERT features concatenated the same way;
  GPT samples new tokens after the prompt tokens until EOS (or max_sec x 25 tokens);
  SoVITS.decode(new tokens, the sentence's OWN phones, reference spectrogram) -> 32 kHz audio;
  divided by its peak if that exceeds 1, then `pause_s` of silence.

Every stage runs on one device, chosen once (`core.runtime.device.pick_device`). Every failure a
user can cause is a SynthesisError whose message says what to do. The models are the engine's
(`core.engine`); at load they are converted to the fast paths `FastPaths` asks for, each lossy
one behind its gate (`core.runtime.apply`), then warmed up (`core.runtime.warmup`).
"""
from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from core.engine.checkpoint import CheckpointError, checkpoint_kind, load_checkpoint, require_v2
from core.engine.features import (
    BERT_NAME, HUBERT_NAME, ModelMissingError, SynthesisError, bert_features, load_bert, load_hubert,
)
from core.engine.gpt import Text2Semantic, gpt_from_checkpoint
from core.engine.sovits import SoVITS, load_sovits
from core.paths import models_dir
from core.runtime.apply import apply_fast_paths
from core.runtime.device import DeviceSetup, pick_device
from core.runtime.gates import voice_identity
from core.runtime.levers import FastPathReport, FastPaths
from core.runtime.reference import Reference, prepare_reference
from core.runtime.sentence_stream import sentence_pieces
from core.runtime.warmup import warmup
from core.watermark import GENERIC_ID, embed as watermark
from core.text import TextError

__all__ = [
    "SynthesisError", "SynthesisCancelled", "ModelMissingError", "SynthesisOptions", "ModelPaths",
    "SentenceAudio", "Synthesizer", "DeviceSetup", "pick_device", "FastPaths",
]

TOKENS_PER_S = 25                  # semantic token rate
MAX_TEXT_CHARS = 100_000           # as the text front end
REF_CACHE_SIZE = 8


class SynthesisCancelled(SynthesisError):
    """cancel() returned True; raised between sentences or batches."""


@dataclass
class SynthesisOptions:
    top_k: int = 15
    top_p: float = 1.0
    temperature: float = 1.0
    repetition_penalty: float = 1.35   # over all previous tokens, the prompt's included
    speed: float = 1.0                 # > 1 is faster (shorter audio)
    noise_scale: float = 0.5
    seed: int | None = None            # same seed + same options + same batch_size -> same audio
    pause_s: float = 0.3               # silence after every sentence
    max_sentence_chars: int = 50
    batch_size: int = 8                # sentences per GPT batch
    max_new_tokens: int | None = None  # per sentence; None -> the GPT file's max_sec x 25


@dataclass
class ModelPaths:
    gpt: Path
    sovits: Path
    hubert: Path | None = None   # None -> models_dir() / "chinese-hubert-base"
    bert: Path | None = None     # None -> models_dir() / "chinese-roberta-wwm-ext-large"


@dataclass
class SentenceAudio:
    index: int          # 0-based, among the sentences that are spoken
    total: int
    text: str
    audio: np.ndarray   # float32 mono at 32 kHz, pause included (after the last part)
    part: int = 0       # pieces of one sentence (`stream(pieces=True)`): 0, 1, ...
    last: bool = True   # the sentence's last piece


# --------------------------------------------------------------------------------------------
# Model files


def _load_gpt_file(path: Path, device: torch.device) -> Text2Semantic:
    try:
        ckpt = load_checkpoint(path)
        if checkpoint_kind(ckpt) != "gpt":
            raise CheckpointError(f"{path.name} is a SoVITS model, not a GPT model (swapped files?).")
        require_v2(ckpt, path.name)
        return gpt_from_checkpoint(ckpt, device)
    except CheckpointError as exc:
        raise SynthesisError(f"Cannot use the GPT model {path}: {exc}") from None


def _load_sovits_file(path: Path, device: torch.device) -> SoVITS:
    try:
        return load_sovits(path, device)
    except CheckpointError as exc:
        msg = str(exc)
        with contextlib.suppress(CheckpointError):  # error path only: say so if it is a GPT file
            if checkpoint_kind(load_checkpoint(path)) == "gpt":
                msg = f"{path.name} is a GPT model, not a SoVITS model (swapped files?)."
        raise SynthesisError(f"Cannot use the SoVITS model {path}: {msg}") from None


# --------------------------------------------------------------------------------------------
# The synthesizer


class Synthesizer:
    SAMPLE_RATE = 32000
    watermark_id: int = GENERIC_ID   # written into every sentence (core.watermark.payload_id)

    def __init__(self, paths: ModelPaths, device: str = "cpu", fast: FastPaths | None = None,
                 watermark_id: int = GENERIC_ID) -> None:
        """`fast`: the speed levers (`core.runtime.levers`); None = the device's default
        (all CPU levers on), `FastPaths.plain()` = the fp32 reference path."""
        self.watermark_id = int(watermark_id)
        self.setup = pick_device(device)
        self.device = self.setup.device
        dev = self.device
        t0 = time.perf_counter()
        try:
            self.gpt = _load_gpt_file(Path(paths.gpt), dev)
            self.sovits = _load_sovits_file(Path(paths.sovits), dev)
            self.hubert = load_hubert(Path(paths.hubert or models_dir() / HUBERT_NAME), dev)
            self.bert = load_bert(Path(paths.bert or models_dir() / BERT_NAME), dev)
        except torch.OutOfMemoryError:
            raise SynthesisError("Not enough GPU memory to load the models; close other GPU "
                                 "programs or choose the CPU.") from None
        if self.sovits.cfg.sampling_rate != self.SAMPLE_RATE:
            raise SynthesisError(f"{Path(paths.sovits).name} makes {self.sovits.cfg.sampling_rate} Hz "
                                 "audio; only 32 kHz v2 models are supported.")
        # The fast paths' gate verdicts are cached per voice files + CPU (core.runtime.gates).
        voice = voice_identity(paths.gpt, paths.sovits, paths.bert or models_dir() / BERT_NAME)
        self._finish_init(fast, t0, voice)

    @classmethod
    def from_models(cls, gpt: Text2Semantic, sovits: SoVITS, hubert: torch.nn.Module, bert,
                    device: str = "cpu", fast: FastPaths | None = None,
                    watermark_id: int = GENERIC_ID) -> "Synthesizer":
        """A synthesizer over models already in memory (benchmarks, tests); they are moved to
        `device` and converted in place as `fast` asks."""
        self = cls.__new__(cls)
        self.watermark_id = int(watermark_id)
        self.setup = pick_device(device)
        self.device = dev = self.setup.device
        t0 = time.perf_counter()
        self.gpt, self.sovits = gpt.to(dev).eval(), sovits.to(dev).eval()
        self.hubert, self.bert = hubert.to(dev).eval(), bert
        self._finish_init(fast, t0)
        return self

    def _finish_init(self, fast: FastPaths | None, t0: float, voice: dict | None = None) -> None:
        self.fast = fast if fast is not None else FastPaths.for_device(self.device)
        # Each lossy lever is checked against the exact path here, on this CPU and these models,
        # and left off where it fails; `voice` (the files' identity) lets the verdicts be cached.
        self.fast_report: FastPathReport = apply_fast_paths(self, self.fast, voice)
        if self.fast.warmup:  # the first synthesis then costs about what a warm one does
            self.fast_report.warmup_s = round(warmup(self), 3)
        self.load_s = time.perf_counter() - t0
        self._refs: OrderedDict[tuple, Reference] = OrderedDict()
        self.reference: Reference | None = None
        self.last_notes: list[str] = []            # of the last synthesis (skipped characters...)
        self.sentences: list[str] = []             # what the last synthesis speaks, in order
        self.timings: dict[str, float] = {}        # of the last synthesis, seconds per stage

    # ---- reference ---------------------------------------------------------------------------

    def set_reference(self, wav_path: str | Path, text: str | None = None) -> dict:
        """Prepare the voice to imitate; returns what was used (see Reference.info)."""
        path = Path(wav_path)
        try:
            st = path.stat()
        except OSError:
            raise SynthesisError(f"The reference recording {path} does not exist.") from None
        text = text.strip() if isinstance(text, str) and text.strip() else None
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size, text)
        if key in self._refs:
            self._refs.move_to_end(key)
            self.reference = self._refs[key]
            return self.reference.info(cached=True)
        try:
            ref = prepare_reference(path, text, setup=self.setup, sovits=self.sovits, hubert=self.hubert,
                                    bert_model=self.bert, sample_rate=self.SAMPLE_RATE)
        except torch.OutOfMemoryError:
            raise SynthesisError("Not enough GPU memory for the reference; choose the CPU.") from None
        self._refs[key] = ref
        while len(self._refs) > REF_CACHE_SIZE:
            self._refs.popitem(last=False)
        self.reference = ref
        return ref.info()

    # ---- synthesis -------------------------------------------------------------------------

    def synthesize(self, text: str, options: SynthesisOptions | None = None,
                   progress: Callable[[int, int, str], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> np.ndarray:
        """The whole text as one float32 array at 32 kHz (each sentence followed by its pause)."""
        parts = [s.audio for s in self._run(text, options or SynthesisOptions(), cancel, progress)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def stream(self, text: str, options: SynthesisOptions | None = None,
               cancel: Callable[[], bool] | None = None, userdict=None,
               pieces: bool = False) -> Iterator[SentenceAudio]:
        """Yield each sentence's audio as soon as it is ready.

        The text is checked before this returns (a SynthesisError comes from this call, not from
        the first next()); the first batch holds one sentence so that playback starts early.
        `pieces`: the first sentence comes in pieces while its GPT still runs
        (`core.runtime.sentence_stream`), so that the first audio is ready in a fraction of a
        second; its pieces are SentenceAudio with the same index, `part` counting, `last` on the
        final one.
        """
        return self._run(text, options or SynthesisOptions(), cancel, None, userdict, pieces)

    def _run(self, text: str, options: SynthesisOptions, cancel, progress,
             userdict=None, pieces: bool = False) -> Iterator[SentenceAudio]:
        # userdict: core.text.userdict.UserDict (or word -> pronunciation dict) overriding the G2P
        plan = self._plan(text, options, userdict)  # eager: bad text fails here, not at the first next()
        return self._generate(plan, options, cancel, progress, pieces)

    # ---- steps -------------------------------------------------------------------------------

    def _plan(self, text: str, options: SynthesisOptions, userdict=None) -> list[tuple[str, object]]:
        """Check everything that can be checked up front; returns [(sentence, Phonemized)]."""
        self._check_options(options)
        if self.reference is None:
            raise SynthesisError("Choose a reference recording first (set_reference).")
        self.timings = {"text": 0.0, "bert": 0.0, "gpt": 0.0, "sovits": 0.0, "tokens": 0}
        t = time.perf_counter()
        from core.text.frontend import phonemize, split_sentences

        if not isinstance(text, str) or not text.strip():
            raise SynthesisError("Nothing to say: the text is empty.")
        if len(text) > MAX_TEXT_CHARS:
            raise SynthesisError(f"The text is too long ({len(text):,} characters); split it into "
                                 f"parts of at most {MAX_TEXT_CHARS:,} characters.")
        sentences = split_sentences(text, max_chars=options.max_sentence_chars)
        if not sentences:
            raise SynthesisError("Nothing to say: the text has no Chinese or English words "
                                 "(only punctuation, symbols or emoji).")
        plan, failed, notes = [], [], []
        for sentence in sentences:
            try:
                ph = phonemize(sentence, userdict=userdict)
            except TextError as exc:
                failed.append((sentence, str(exc)))
                continue
            plan.append((sentence, ph))
            notes.extend(n for n in ph.notes if n not in notes)
        if not plan:
            raise SynthesisError(failed[0][1])
        if failed:
            notes.append(f"Skipped {len(failed)} sentence(s) with nothing to say, e.g. "
                         f"“{failed[0][0][:40]}”.")
        self.last_notes = notes[:10]
        self.sentences = [sentence for sentence, _ in plan]
        self.timings["text"] = time.perf_counter() - t
        return plan

    def _check_options(self, o: SynthesisOptions) -> None:
        problems = []
        if not isinstance(o.top_k, int) or o.top_k < 1:
            problems.append("top_k must be a whole number of at least 1")
        if not 0 < o.top_p <= 1:
            problems.append("top_p must be above 0 and at most 1")
        if not o.temperature > 0:
            problems.append("temperature must be above 0")
        if not o.repetition_penalty > 0:
            problems.append("repetition_penalty must be above 0")
        if not 0.25 <= o.speed <= 4:
            problems.append("speed must be between 0.25 and 4")
        if not 0 <= o.noise_scale <= 2:
            problems.append("noise_scale must be between 0 and 2")
        if not 0 <= o.pause_s <= 10:
            problems.append("pause_s must be between 0 and 10 seconds")
        if not isinstance(o.max_sentence_chars, int) or o.max_sentence_chars < 5:
            problems.append("max_sentence_chars must be at least 5")
        if not isinstance(o.batch_size, int) or o.batch_size < 1:
            problems.append("batch_size must be at least 1")
        if o.max_new_tokens is not None and o.max_new_tokens < 1:
            problems.append("max_new_tokens must be at least 1")
        if problems:
            raise SynthesisError("Invalid synthesis options: " + "; ".join(problems) + ".")

    def _batches(self, n: int, batch_size: int) -> list[range]:
        """One sentence first (the first audio arrives quickly), then batches of batch_size."""
        if n == 0:
            return []
        first = 1 if batch_size > 1 else batch_size
        out = [range(0, min(first, n))]
        for start in range(out[0].stop, n, batch_size):
            out.append(range(start, min(start + batch_size, n)))
        return out

    def _generate(self, plan: list[tuple[str, object]], options: SynthesisOptions,
                  cancel: Callable[[], bool] | None,
                  progress: Callable[[int, int, str], None] | None,
                  pieces: bool = False) -> Iterator[SentenceAudio]:
        ref = self.reference
        assert ref is not None
        total = len(plan)
        generator = self.setup.generator(options.seed)
        voc_generator = self.setup.vocoder_generator(options.seed)
        max_new = options.max_new_tokens or self.gpt.cfg.max_sec * TOKENS_PER_S
        pause = np.zeros(int(round(options.pause_s * self.SAMPLE_RATE)), np.float32)
        batches = self._batches(total, options.batch_size)

        def gpt_stage(batch: range) -> list[Tensor]:
            try:
                return self._semantic_tokens([plan[i][1] for i in batch], options, generator, max_new)
            except torch.OutOfMemoryError:
                raise SynthesisError("Not enough GPU memory; lower the batch size or choose "
                                     "the CPU.") from None

        # Overlap: the GPT of batch n+1 runs in one worker thread while the rest of batch n is
        # decoded (torch releases the GIL in its kernels). It starts once batch n's first sentence
        # has been handed out, so nothing is computed ahead of the first audio; the same draws as
        # in sequence (separate generators), so the same audio.
        pool = ThreadPoolExecutor(1, "voicebank-gpt") if self.fast.overlap and len(batches) > 1 else None
        ahead = None
        done = 0
        at_s = 0.0   # where the sentence starts in the whole output: the watermark runs on across sentences
        try:
            if pieces and len(batches[0]) == 1:
                def gpt_done() -> None:      # the next batch's GPT runs while this one is vocoded
                    nonlocal ahead
                    if pool is not None:
                        ahead = pool.submit(gpt_stage, batches[1])
                sentence, ph = plan[0]
                for part, audio, last in sentence_pieces(self, ph, options, generator, voc_generator,
                                                         max_new, gpt_done):
                    self._check_cancel(cancel)
                    if last:
                        done += 1
                        if progress is not None:
                            progress(done, total, sentence)
                        audio = np.concatenate([audio, pause])
                    audio = watermark(audio, self.SAMPLE_RATE, self.watermark_id, at_s)
                    at_s += len(audio) / self.SAMPLE_RATE
                    yield SentenceAudio(0, total, sentence, audio, part=part, last=last)
                batches = batches[1:]
            for k, batch in enumerate(batches):
                self._check_cancel(cancel)
                tokens = ahead.result() if ahead is not None else gpt_stage(batch)
                ahead = None
                for j, (i, new) in enumerate(zip(batch, tokens)):
                    if j == 1 and pool is not None and k + 1 < len(batches):
                        ahead = pool.submit(gpt_stage, batches[k + 1])
                    self._check_cancel(cancel)
                    sentence, ph = plan[i]
                    audio = self._vocode(new, ph.ids, options, voc_generator)
                    done += 1
                    if progress is not None:
                        progress(done, total, sentence)
                    audio = watermark(np.concatenate([audio, pause]), self.SAMPLE_RATE,
                                      self.watermark_id, at_s)   # every synthesized audio is marked
                    at_s += len(audio) / self.SAMPLE_RATE
                    yield SentenceAudio(i, total, sentence, audio)
        finally:
            if pool is not None:  # cancelled or closed early: let a running GPT batch finish
                pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _check_cancel(cancel: Callable[[], bool] | None) -> None:
        if cancel is not None and cancel():
            raise SynthesisCancelled("Synthesis was cancelled.")

    def _gpt_input(self, ph, ref: Reference | None = None) -> tuple[Tensor, Tensor]:
        """The GPT's context for one sentence: reference phones + its phones, BERT features alike.
        `ref`: another reference than the current one (the service's batches keep their own)."""
        ref = ref or self.reference
        assert ref is not None
        ref_ids = torch.tensor(ref.phone_ids, dtype=torch.long, device=self.device)
        with self.setup.autocast():
            bert = bert_features(self.bert, ph).float()
        ids = torch.tensor(ph.ids, dtype=torch.long, device=self.device)
        return torch.cat([ref_ids, ids]), torch.cat([ref.bert, bert], dim=1)

    def _semantic_tokens(self, texts: Sequence, options: SynthesisOptions,
                         generator: torch.Generator | None, max_new: int) -> list[Tensor]:
        """GPT stage for a batch of phonemized sentences: new tokens per sentence."""
        ref = self.reference
        assert ref is not None
        t = time.perf_counter()
        xs, berts = [], []
        for ph in texts:
            x, bert = self._gpt_input(ph)
            xs.append(x)
            berts.append(bert)
        t_gpt = time.perf_counter()
        self.timings["bert"] += t_gpt - t
        with self.setup.autocast():
            out = self.gpt.generate(
                xs, berts, ref.prompt_tokens,
                top_k=options.top_k, top_p=options.top_p, temperature=options.temperature,
                repetition_penalty=options.repetition_penalty, max_new_tokens=max_new,
                generator=generator)
        self.timings["gpt"] += time.perf_counter() - t_gpt
        self.timings["tokens"] += sum(int(o.numel()) for o in out)
        return out

    def _vocode(self, tokens: Tensor, phone_ids: Sequence[int], options: SynthesisOptions,
                generator: torch.Generator | None) -> np.ndarray:
        """SoVITS stage: one sentence's new tokens + its own phones + the reference style,
        divided by its peak where that exceeds 1."""
        audio = self._decode_wav(tokens, phone_ids, options, generator)
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        return audio / peak if peak > 1 else audio

    def _decode_wav(self, tokens: Tensor, phone_ids: Sequence[int], options: SynthesisOptions,
                    generator: torch.Generator | None) -> np.ndarray:
        """The SoVITS decoder's raw float32 output for these tokens (timed as "sovits")."""
        ref = self.reference
        assert ref is not None
        if tokens.numel() == 0:  # the GPT ended at once; nothing to decode
            return np.zeros(0, np.float32)
        t = time.perf_counter()
        codes = tokens.to(self.device).long().reshape(1, 1, -1)
        phones = torch.tensor([list(phone_ids)], dtype=torch.long, device=self.device)
        try:
            wav = self.sovits.decode(codes, phones, [ref.spec], noise_scale=options.noise_scale,
                                     speed=options.speed, generator=generator)
        except torch.OutOfMemoryError:
            raise SynthesisError("Not enough GPU memory; choose the CPU.") from None
        audio = wav[0, 0].float().cpu().numpy().astype(np.float32, copy=False)
        self.timings["sovits"] += time.perf_counter() - t
        return audio
