"""What every worker job shares: its `JobContext`, the errors it may raise, and the checks on
its params.

A job is `callable(params, ctx) -> result dict`. It reports through its `JobContext` (progress,
log), checks `ctx.cancelled()` between steps and stops by raising `JobCancelled` (or simply
returning: a job that returns after a cancel was asked for is still reported as cancelled). A
failure the user can act on is a `JobError(message)`; any other exception becomes an `error`
event with the traceback tail.

This is the lowest module of the worker's jobs: the job families (selftest_jobs, speak_jobs,
build_jobs) import it, and the registry (core.worker.jobs) imports them; nothing here imports a
family or the registry. Like the rest of the worker it imports nothing heavy.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.worker import protocol


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


# parameter helpers: bad params are the GUI's bug, but still a readable error --------------

MODEL_HINT = "Download the models again, or choose the file where it is now."


def number_param(params: dict[str, Any], name: str, default: float, lo: float, hi: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise JobError(f"Parameter {name!r} must be a number from {lo} to {hi}; got {value!r}.",
                       protocol.BAD_COMMAND)
    return value


def optional_step(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    return None if value is None else int(number_param(params, name, 0, 0, 1_000_000))


def existing_file(params: dict[str, Any], name: str, what: str, hint: str = MODEL_HINT,
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
