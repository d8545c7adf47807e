"""The jobs a worker can run: kind -> callable(params, ctx) -> result dict.

A job reports through its `JobContext` (progress, log), checks `ctx.cancelled()` between
steps and stops by raising `JobCancelled` (or simply returning: a job that returns after a
cancel was asked for is still reported as cancelled). A failure the user can act on is a
`JobError(message)`; any other exception becomes an `error` event with the traceback tail.

Heavy imports (torch, the engine) happen inside the jobs, never at module import: the worker
must start and answer `ping` in a fraction of a second.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import platformdirs

from core.worker import protocol

SPEAK_SAMPLE_RATE = 32_000      # GPT-SoVITS v2 speaks at 32 kHz


class JobError(Exception):
    """A failure worded for the user: what happened and what to do."""

    def __init__(self, message: str, code: str = protocol.JOB_FAILED, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail


class JobCancelled(Exception):
    """Raised by a job (or `ctx.raise_if_cancelled()`) to stop after a cancel request."""

    def __init__(self, data: dict[str, Any] | None = None):
        super().__init__("cancelled")
        self.data = data


Emit = Callable[[dict[str, Any]], None]


@dataclass
class JobContext:
    job: str
    job_dir: Path
    emit: Emit
    cancel_event: threading.Event = field(default_factory=threading.Event)
    cache: dict[Any, Any] = field(default_factory=dict)   # lives as long as the worker (loaded models)

    def progress(self, stage: str, step: int, total: int, message: str = "", **extra: Any) -> None:
        self.emit(protocol.progress_event(self.job, stage, step, total, message, **extra))

    def log(self, message: str, level: str = "info") -> None:
        self.emit(protocol.log_event(self.job, message, level))

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def raise_if_cancelled(self, data: dict[str, Any] | None = None) -> None:
        if self.cancel_event.is_set():
            raise JobCancelled(data)


JobFn = Callable[[dict[str, Any], JobContext], "dict[str, Any] | None"]
REGISTRY: dict[str, JobFn] = {}


def job(kind: str) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        REGISTRY[kind] = fn
        return fn
    return register


def jobs_root() -> Path:
    """VOICEBANK_JOBS overrides (tests); else `jobs/` in the user data folder."""
    override = os.environ.get("VOICEBANK_JOBS")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("voicebank", appauthor=False)) / "jobs"


def job_dir_for(job_id: str, params: dict[str, Any]) -> Path:
    given = params.get("job_dir")
    return Path(given) if given else jobs_root() / job_id


# parameter helpers: bad params are the GUI's bug, but still a readable error --------------

def _number(params: dict[str, Any], name: str, default: float, lo: float, hi: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise JobError(f"Parameter {name!r} must be a number from {lo} to {hi}; got {value!r}.",
                       protocol.BAD_COMMAND)
    return value


def _optional_step(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    return None if value is None else int(_number(params, name, 0, 0, 1_000_000))


# selftest ----------------------------------------------------------------------------------

@job("selftest")
def selftest(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """A diagnostic the app can run, and what the tests drive: steps with a delay, then a result.

    params: steps (5), delay_s (0.01), fail_at (JobError at that step), bug_at (a plain
    exception: an internal error), crash_at (os._exit(3): a dying worker), hang (ignore
    cancel and never finish), stray (text print()ed and written to fd 1, as a chatty
    library would).
    """
    steps = int(_number(params, "steps", 5, 0, 100_000))
    delay_s = float(_number(params, "delay_s", 0.01, 0, 60))
    fail_at, bug_at, crash_at = (_optional_step(params, n) for n in ("fail_at", "bug_at", "crash_at"))
    if params.get("hang"):
        ctx.log("selftest: hanging on purpose; only a kill stops this", "warning")
        while True:         # deliberately deaf to cancel: the client's kill fallback is under test
            time.sleep(0.05)
    if params.get("stray"):             # both land on stderr: the worker redirects stdout and fd 1
        print(params["stray"])
        sys.stdout.flush()
        os.write(1, f"{params['stray']} (fd 1)\n".encode())
    (ctx.job_dir / "selftest.txt").write_text(f"pid {os.getpid()}\n", encoding="utf-8")
    for step in range(1, steps + 1):
        if step == crash_at:
            sys.stderr.write(f"selftest: crashing on purpose at step {step}\n")
            sys.stderr.flush()
            os._exit(3)
        if step == fail_at:
            raise JobError(f"The self-test failed on purpose at step {step}. Nothing is wrong; "
                           "run it without fail_at to see it pass.", "selftest_failed")
        if step == bug_at:
            raise ValueError(f"selftest bug on purpose at step {step}")
        if delay_s:
            ctx.cancel_event.wait(delay_s)      # wakes at once on cancel
        ctx.raise_if_cancelled({"steps_done": step - 1})
        ctx.progress("selftest", step, steps, f"step {step} of {steps}",
                     eta_s=round((steps - step) * delay_s, 3))
    return {"steps": steps, "pid": os.getpid(), "job_dir": str(ctx.job_dir),
            "torch_loaded": "torch" in sys.modules}


# speak -------------------------------------------------------------------------------------

MODEL_HINT = "Download the models again, or choose the file where it is now."


def _existing_file(params: dict[str, Any], name: str, what: str, hint: str = MODEL_HINT,
                   required: bool = True) -> Path | None:
    value = params.get(name)
    if not value:
        if required:
            raise JobError(f"No {what} was given. Choose one and try again.", "missing_input")
        return None
    path = Path(value)
    if not path.exists():
        raise JobError(f"The {what} is missing: {path}. {hint}", "missing_file")
    return path


@job("speak")
def speak(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Text -> speech with a cached Synthesizer; each sentence is written and announced as it is made.

    params: text, reference (wav), reference_text (optional), gpt, sovits, hubert, bert
    (model paths; hubert/bert optional), device ("cpu"), options (SynthesisOptions fields),
    out (optional; default job_dir/speech.wav).
    Progress: stage "load" (only when the voice is not loaded yet), then stage "speak" once per
    sentence with `chunk` = job_dir/sentence-<i>.wav. Result: out, seconds, sentences, and
    reference / notes when the engine reports them.
    """
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise JobError("There is no text to speak. Type something first.", "missing_input")
    reference = _existing_file(params, "reference", "reference recording",
                               "Record it again or choose another take.")
    gpt = _existing_file(params, "gpt", "GPT voice model (.ckpt)")
    sovits = _existing_file(params, "sovits", "SoVITS voice model (.pth)")
    hubert = _existing_file(params, "hubert", "speech feature model (chinese-hubert-base)",
                            required=False)
    bert = _existing_file(params, "bert", "text feature model (chinese-roberta-wwm-ext-large)",
                          required=False)
    device = str(params.get("device") or "cpu")
    options = params.get("options") or {}
    if not isinstance(options, dict):
        raise JobError("Parameter 'options' must be a JSON object.", protocol.BAD_COMMAND)
    out = Path(params["out"]) if params.get("out") else ctx.job_dir / "speech.wav"

    try:    # lazily: torch and the engine load here, in the worker, never in the GUI
        from core.engine.pipeline import (ModelPaths, SynthesisCancelled, SynthesisError,
                                          SynthesisOptions, Synthesizer)
    except ImportError as exc:
        raise JobError(f"The speech engine is not installed or is incomplete ({exc}). "
                       "Reinstall the app.", "engine_missing") from exc
    import numpy as np

    from core.audio.io import write_wav

    try:
        synth_options = SynthesisOptions(**options)
    except TypeError as exc:
        raise JobError(f"Unknown speaking option ({exc}).", protocol.BAD_COMMAND) from exc

    key = ("synthesizer", str(gpt), str(sovits), str(hubert), str(bert), device)
    try:
        synth = ctx.cache.get(key)
        if synth is None:
            ctx.cache.clear()       # one voice in memory at a time: models are hundreds of MB
            ctx.progress("load", 0, 1, "Loading the voice (the first time takes a while)")
            synth = Synthesizer(ModelPaths(gpt=gpt, sovits=sovits, hubert=hubert, bert=bert), device=device)
            ctx.cache[key] = synth
            ctx.progress("load", 1, 1, "Voice loaded")
        ctx.raise_if_cancelled()
        ref_info = synth.set_reference(reference, text=params.get("reference_text") or None)
        rate = int(getattr(synth, "SAMPLE_RATE", SPEAK_SAMPLE_RATE))
        pieces: list[np.ndarray] = []
        for sentence in synth.stream(text, synth_options, cancel=ctx.cancelled):
            audio = np.asarray(sentence.audio, dtype=np.float32).reshape(-1)
            chunk = write_wav(ctx.job_dir / f"sentence-{sentence.index}.wav", audio, rate)
            pieces.append(audio)
            ctx.progress("speak", sentence.index + 1, sentence.total, sentence.text, chunk=str(chunk))
            ctx.raise_if_cancelled({"sentences": len(pieces)})
    except SynthesisCancelled as exc:
        raise JobCancelled() from exc
    except SynthesisError as exc:
        raise JobError(str(exc), "synthesis_failed") from exc
    if not pieces:
        raise JobError("Nothing was spoken: the text has no words the voice can say.", "nothing_spoken")
    audio = np.concatenate(pieces)
    write_wav(out, audio, rate)
    data: dict[str, Any] = {"out": str(out), "seconds": round(len(audio) / rate, 3),
                            "sentences": len(pieces)}
    if isinstance(ref_info, dict):
        data["reference"] = ref_info            # what of the reference was used (trimmed, cached...)
    notes = getattr(synth, "last_notes", None)
    if notes:
        data["notes"] = list(notes)             # e.g. characters the voice skipped
    return data
