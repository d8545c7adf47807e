"""The engine process of the speech service: started once by `EngineClient` (spawned, so torch
loads here and never in the server), it loads each voice once, keeps it warm and speaks for every
caller.

Messages over its pipe (pickled tuples):
    server -> engine   ("speak", id, spec)   spec: text, gpt, sovits, reference, reference_text,
                                            userdict (a path, entries or None), speed, and the
                                            options it sets (top_k, top_p, temperature,
                                            repetition_penalty, seed, pause_s)
                       ("cancel", id)        the caller went away: its sentences are dropped
                       ("stop",)
    engine -> server   ("ready", {"pid"})
                       ("audio", id, index, total, float32 bytes)   one watermarked sentence
                       ("done", id, {"sentences", "notes"})
                       ("error", id, status, message)               400: the text; 500: the engine

Two threads. The main one reads messages and runs the GPT: one step at a time of the running
batch (`core.runtime.batching.DecodingBatch`, continuous batching), where callers that went away
leave, new callers' sentences join at the step boundary, and sentences that end leave at once.
Messages are read before every step, so a cancel or a new caller is seen within one step.
A sentence that leaves goes to the vocoder thread (`_Voicer`), which vocodes, watermarks and
sends it while the GPT goes on with the others; first sentences go before later ones there, so
a new caller's first audio does not queue behind another caller's long text. torch runs each
thread with half the cores (`--threads` changes it), so the two never oversubscribe the CPU.
"""
from __future__ import annotations

import heapq
import itertools
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

MAX_VOICES = 2          # synthesizers kept loaded (models are hundreds of MB each)
IDLE_POLL_S = 0.02      # nothing to decode while the vocoder works: wait this long for a message
# spec fields that are SynthesisOptions fields of the same name
SAMPLING = ("top_k", "top_p", "temperature", "repetition_penalty", "seed", "pause_s")


def default_threads(overlap: bool) -> int:
    """torch threads: half the cores per engine thread where the GPT and the vocoder run side
    by side, else all of them."""
    cores = os.cpu_count() or 2
    return max(1, cores // 2) if overlap else cores


class _Engine:
    def __init__(self, config: dict[str, Any], conn):
        from core.runtime import batching, pipeline

        self.pipeline, self.batching = pipeline, batching
        overlap = config.get("overlap", True)
        self.config = {**config, "overlap": overlap, "threads": config.get("threads") or default_threads(overlap)}
        self.conn = conn
        self.synths: dict[tuple, Any] = {}
        self.callers: dict[str, tuple] = {}     # id -> (Caller, voice key, spec), oldest first
        self.batch = None                       # the running batching.DecodingBatch
        self.batch_voice: tuple | None = None   # its voice key
        self.send_lock = threading.Lock()       # both threads send
        # A synthesizer's current reference is shared state: the vocoder sets and reads it, a
        # new request's set_reference changes it, a new batch takes it. Held around each.
        self.voice_lock = threading.RLock()
        self.voicer = _Voicer(self, threaded=overlap)

    def send(self, message: tuple) -> None:
        with self.send_lock:
            self.conn.send(message)

    def fail(self, rid: str, status: int, text: str) -> None:
        if self.callers.pop(rid, None) is not None:
            self.send(("error", rid, status, text))

    def synth(self, spec: dict[str, Any]):
        p = self.pipeline
        key = (spec["gpt"], spec["sovits"])
        synth = self.synths.pop(key, None)
        if synth is None:
            while len(self.synths) >= MAX_VOICES:
                self.synths.pop(next(iter(self.synths)))
            fast = p.FastPaths.plain() if self.config.get("plain") else p.FastPaths.for_device(
                self.config.get("device") or "cpu")
            # the engine's own thread count (GPT and vocoder side by side), not the load's choice
            fast = replace(fast, threads=int(self.config["threads"]))
            hubert, bert = self.config.get("hubert"), self.config.get("bert")
            synth = p.Synthesizer(p.ModelPaths(gpt=Path(spec["gpt"]), sovits=Path(spec["sovits"]),
                                               hubert=Path(hubert) if hubert else None,
                                               bert=Path(bert) if bert else None),
                                  device=self.config.get("device") or "cpu", fast=fast)
        self.synths[key] = synth            # most recently used last
        with self.voice_lock:
            synth.set_reference(spec["reference"], spec.get("reference_text") or None)
        return synth

    def options(self, spec: dict[str, Any]):
        sampling = {name: spec[name] for name in SAMPLING if spec.get(name) is not None}
        return self.pipeline.SynthesisOptions(
            speed=float(spec.get("speed") or 1.0), batch_size=int(self.config.get("batch_size") or 8),
            max_new_tokens=self.config.get("max_new_tokens"), **sampling)

    def add(self, rid: str, spec: dict[str, Any]) -> None:
        from core.watermark import payload_id_for_files

        userdict = spec.get("userdict")
        if userdict:
            from core.text.userdict import UserDict
            userdict = UserDict(userdict) if isinstance(userdict, dict) else UserDict.load(Path(userdict))
        synth = self.synth(spec)
        mark = payload_id_for_files(spec["reference"], spec["gpt"], spec["sovits"])
        caller = self.batching.plan_caller(synth, rid, spec["text"], self.options(spec), mark, userdict)
        self.callers[rid] = (caller, (spec["gpt"], spec["sovits"], spec["reference"],
                                      spec.get("reference_text")), spec)

    def tick(self) -> None:
        """One GPT step of the running batch: callers that went away leave it, waiting sentences
        that may share it join (at this step boundary), and every sentence that ends goes to the
        vocoder. A new batch starts with the oldest waiting caller's voice; while that caller
        cannot share the running batch, nobody joins it, so the batch drains and the oldest
        caller's voice goes next."""
        batch = self.batch
        if batch is not None:
            batch.drop(lambda caller: caller.id not in self.callers)
        # a snapshot: the vocoder thread removes callers that are done
        waiting = [(c, v) for c, v, _ in list(self.callers.values()) if c.waiting]
        if batch is None or not batch.rows:
            if not waiting:
                self.batch = None
                self.idle()
                return
            first = waiting[0][0]
            voice, spec = self.callers[first.id][1:]
            with self.voice_lock:           # the batch keeps this caller's reference
                batch = self.batch = self.batching.DecodingBatch.for_caller(self.synth(spec), first)
            self.batch_voice = voice
        group = []
        for caller, voice in waiting:
            if voice != self.batch_voice or not batch.accepts(caller):
                break                       # an older caller needs another batch: drain this one
            group.append(caller)
        try:
            batch.join(self.batching.admit(group, batch.options.batch_size - len(batch.rows)))
            for caller, index, tokens in batch.advance():
                for i, new in self.batching.in_order(caller, index, tokens):
                    self.voicer.put(batch, caller, i, new)
        except self.pipeline.SynthesisError as exc:
            in_batch = {row.caller.id for row in batch.rows} | {c.id for c in group}
            self.batch = None
            for rid in in_batch:
                self.fail(rid, 500, str(exc))

    def idle(self) -> None:
        """Nothing to decode: the vocoder is finishing the last sentences (wait a little for a
        message instead of spinning), or, should it be idle, the callers left are stuck: say so."""
        if self.voicer.busy:
            self.conn.poll(IDLE_POLL_S)
            return
        for rid in list(self.callers):
            self.fail(rid, 500, "The engine lost track of this request.")


class _Voicer:
    """The vocoder thread: decoded sentences vocoded, watermarked and sent, first sentences of
    a caller before later ones, otherwise in the order they came. Not `threaded`: each sentence
    is spoken at once in the GPT's thread, between two steps."""

    def __init__(self, engine: _Engine, threaded: bool = True):
        self.engine, self.threaded = engine, threaded
        self.jobs: list[tuple] = []
        self.order = itertools.count()
        self.ready = threading.Condition()
        self.working = False
        if threaded:
            threading.Thread(target=self._run, name="voicebank-vocoder", daemon=True).start()

    @property
    def busy(self) -> bool:
        with self.ready:
            return self.working or bool(self.jobs)

    def put(self, batch, caller, index: int, tokens) -> None:
        if not self.threaded:
            self._speak_or_fail(batch, caller, index, tokens)
            return
        with self.ready:
            heapq.heappush(self.jobs, (index > 0, next(self.order), batch, caller, index, tokens))
            self.ready.notify()

    def _run(self) -> None:
        import torch
        torch.set_num_threads(int(self.engine.config["threads"]))
        while True:
            with self.ready:
                self.working = False
                while not self.jobs:
                    self.ready.wait()
                _, _, batch, caller, index, tokens = heapq.heappop(self.jobs)
                self.working = True
            try:
                self._speak_or_fail(batch, caller, index, tokens)
            except (EOFError, OSError):
                return                      # the server went away: the main thread ends too

    def _speak_or_fail(self, batch, caller, index: int, tokens) -> None:
        try:
            self._speak(batch, caller, index, tokens)
        except (EOFError, OSError):
            raise
        except Exception as exc:            # noqa: BLE001 - that caller alone; the engine goes on
            self.engine.fail(caller.id, 500, f"The voice could not speak ({type(exc).__name__}: {exc}).")

    def _speak(self, batch, caller, index: int, tokens) -> None:
        engine = self.engine
        if caller.id not in engine.callers:
            return                          # it went away meanwhile
        with engine.voice_lock:
            audio = engine.batching.speak(batch, caller, index, tokens)
        engine.send(("audio", caller.id, index, caller.total, audio.tobytes()))
        if caller.finished and engine.callers.pop(caller.id, None) is not None:
            engine.send(("done", caller.id, {"sentences": caller.total, "notes": caller.notes}))


def main(conn, config: dict[str, Any]) -> None:
    """The engine process's entry (multiprocessing, spawn)."""
    import torch

    engine = _Engine(config, conn)
    torch.set_num_threads(int(engine.config["threads"]))
    if config.get("preload"):               # the default voice, warm before the first request
        try:
            engine.synth(config["preload"])
        except Exception:                   # noqa: BLE001 - its requests will say what is wrong
            pass
    engine.send(("ready", {"pid": os.getpid()}))
    stopping = False

    def handle(message) -> None:
        nonlocal stopping
        if message[0] == "stop":
            stopping = True
        elif message[0] == "cancel":
            engine.callers.pop(message[1], None)
        elif message[0] == "speak":
            rid, spec = message[1], message[2]
            try:
                engine.add(rid, spec)
            except engine.pipeline.SynthesisError as exc:
                status = 400 if "Nothing to say" in str(exc) or "too long" in str(exc) else 500
                engine.send(("error", rid, status, str(exc)))
            except Exception as exc:        # a damaged voice or dictionary: that caller alone
                engine.send(("error", rid, 500, f"The voice could not be used ({type(exc).__name__}: {exc})."))

    try:
        while not stopping:
            if not engine.callers:
                engine.batch = None
                handle(conn.recv())         # nothing to do: wait for a caller
            while conn.poll(0):
                handle(conn.recv())
            if engine.callers and not stopping:
                engine.tick()
    except (EOFError, OSError, KeyboardInterrupt):
        pass                                # the server went away: so does the engine
