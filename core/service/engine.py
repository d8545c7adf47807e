"""The engine process of the speech service: started once by `EngineClient` (spawned, so torch
loads here and never in the server), it loads each voice once, keeps it warm and speaks for every
caller.

Messages over its pipe (pickled tuples):
    server -> engine   ("speak", id, spec)   spec: text, gpt, sovits, reference, reference_text,
                                            userdict (a path, entries or None), speed
                       ("cancel", id)        the caller went away: its sentences are dropped
                       ("stop",)
    engine -> server   ("ready", {"pid"})
                       ("audio", id, index, total, float32 bytes)   one watermarked sentence
                       ("done", id, {"sentences", "notes"})
                       ("error", id, status, message)               400: the text; 500: the engine

The loop: take every message waiting; then one round of `core.runtime.batching` for the oldest
caller's voice and the callers that can share its GPT batch; between sentences, read messages
again (a cancel is seen within a sentence, new callers join the next round).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MAX_VOICES = 2          # synthesizers kept loaded (models are hundreds of MB each)


class _Engine:
    def __init__(self, config: dict[str, Any]):
        from core.runtime import batching, pipeline

        self.pipeline, self.batching = pipeline, batching
        self.config = config
        self.synths: dict[tuple, Any] = {}
        self.callers: dict[str, tuple] = {}     # id -> (Caller, voice key, spec), oldest first

    def synth(self, spec: dict[str, Any]):
        p = self.pipeline
        key = (spec["gpt"], spec["sovits"])
        synth = self.synths.pop(key, None)
        if synth is None:
            while len(self.synths) >= MAX_VOICES:
                self.synths.pop(next(iter(self.synths)))
            fast = p.FastPaths.plain() if self.config.get("plain") else None
            hubert, bert = self.config.get("hubert"), self.config.get("bert")
            synth = p.Synthesizer(p.ModelPaths(gpt=Path(spec["gpt"]), sovits=Path(spec["sovits"]),
                                               hubert=Path(hubert) if hubert else None,
                                               bert=Path(bert) if bert else None),
                                  device=self.config.get("device") or "cpu", fast=fast)
        self.synths[key] = synth            # most recently used last
        synth.set_reference(spec["reference"], spec.get("reference_text") or None)
        return synth

    def options(self, spec: dict[str, Any]):
        return self.pipeline.SynthesisOptions(
            speed=float(spec.get("speed") or 1.0), batch_size=int(self.config.get("batch_size") or 8),
            max_new_tokens=self.config.get("max_new_tokens"))

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

    def round(self, conn, read) -> None:
        """One GPT batch for the oldest caller's voice and those that may share it."""
        first, voice, spec = next(iter(self.callers.values()))
        key = self.batching.gpt_key(first.options)
        group = [c for c, v, _ in self.callers.values()
                 if v == voice and self.batching.gpt_key(c.options) == key and not c.finished]
        synth = self.synth(spec)
        picks = self.batching.next_round(group, first.options.batch_size)

        def alive(caller) -> bool:
            read()
            return caller.id in self.callers

        try:
            for caller, index, audio in self.batching.run_round(synth, picks, alive):
                conn.send(("audio", caller.id, index, caller.total, audio.tobytes()))
                if caller.finished:
                    self.callers.pop(caller.id, None)
                    conn.send(("done", caller.id, {"sentences": caller.total, "notes": caller.notes}))
        except self.pipeline.SynthesisError as exc:
            for caller in group:
                if self.callers.pop(caller.id, None) is not None:
                    conn.send(("error", caller.id, 500, str(exc)))


def main(conn, config: dict[str, Any]) -> None:
    """The engine process's entry (multiprocessing, spawn)."""
    if config.get("threads"):
        import torch
        torch.set_num_threads(int(config["threads"]))
    engine = _Engine(config)
    if config.get("preload"):               # the default voice, warm before the first request
        try:
            engine.synth(config["preload"])
        except Exception:                   # noqa: BLE001 - its requests will say what is wrong
            pass
    conn.send(("ready", {"pid": os.getpid()}))
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
                conn.send(("error", rid, status, str(exc)))
            except Exception as exc:        # a damaged voice or dictionary: that caller alone
                conn.send(("error", rid, 500, f"The voice could not be used ({type(exc).__name__}: {exc})."))

    def read() -> None:
        while conn.poll(0):
            handle(conn.recv())

    try:
        while not stopping:
            if not engine.callers:
                handle(conn.recv())         # nothing to do: wait for a caller
            read()
            if engine.callers and not stopping:
                engine.round(conn, read)
    except (EOFError, OSError, KeyboardInterrupt):
        pass                                # the server went away: so does the engine
