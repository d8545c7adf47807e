"""The JSON-lines protocol between the GUI and the worker process (version 1).

The GUI never imports torch: it starts `python -m core.worker` (a frozen build: the app binary
with `--worker`) and talks to it over pipes, one JSON object per line, UTF-8, "\\n"-terminated.

GUI -> worker (the worker's stdin)
    {"v":1, "cmd":"run", "job":"<id>", "kind":"<kind>", "params":{...}}
    {"v":1, "cmd":"cancel", "job":"<id>"}
    {"v":1, "cmd":"ping"}
    {"v":1, "cmd":"shutdown"}

    A job id is 1-64 characters of [A-Za-z0-9._-], not starting with "." (it names a folder).
    "v" may be left out (1 is assumed); any other version is refused.

worker -> GUI (the worker's stdout; each line flushed as it is written)
    Every event has "v":1, "job" (the job id, or null) and "type":
    ready      once at start: pid, python, torch (version string or null; torch is not imported
               for it), protocol, kinds (the job kinds this worker runs)
    progress   stage, step, total, message; optional extras: eta_s, loss, chunk (a finished
               audio file the GUI may play while the rest is made), ...
               Every job starts with {"stage":"start","step":0,"total":0}.
    log        message, level ("debug" | "info" | "warning" | "error")
    result     data (a JSON object): the job finished
    error      message (for the user: what happened and what to do), code, optional detail
               (e.g. the tail of a traceback). With a job id: that job failed. With job null:
               a command could not be read (bad JSON, unknown cmd, ...).
    cancelled  the job stopped because it was asked to (optional data: what it had done)
    pong       the answer to ping

    Each run ends with exactly one of result / error / cancelled.

Behaviour
- Jobs run one at a time, in order; a `run` while busy is queued. Cancelling a queued job
  removes it at once. The job's own thread checks for cancel between steps, so a cancel is
  seen promptly while the stdin reader stays responsive.
- Unknown cmd, unknown kind, bad JSON, a duplicate job id: an `error` event; the worker keeps
  running.
- Anything a library prints goes to stderr (the worker redirects sys.stdout and fd 1), so
  stdout carries only protocol lines; clients still treat a non-JSON line as a log line.
- `shutdown`, or stdin closing (the GUI died): the current job is cancelled, queued jobs are
  dropped (each reported `cancelled`) and the worker exits.
- A job's files live in params["job_dir"] if given, else <user data>/voicebank/jobs/<job id>
  (VOICEBANK_JOBS overrides the jobs folder).

This module is pure: no Qt, no torch; the GUI imports it to build commands.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1

COMMANDS = ("run", "cancel", "ping", "shutdown")
EVENT_TYPES = ("ready", "progress", "log", "result", "error", "cancelled", "pong")
TERMINAL_TYPES = ("result", "error", "cancelled")
LOG_LEVELS = ("debug", "info", "warning", "error")

# error codes the worker uses; the GUI may branch on them, the user reads the message
BAD_JSON = "bad_json"
BAD_COMMAND = "bad_command"
UNKNOWN_COMMAND = "unknown_command"
UNKNOWN_KIND = "unknown_kind"
UNSUPPORTED_VERSION = "unsupported_version"
JOB_FAILED = "job_failed"
INTERNAL = "internal"
DISK_FULL = "disk_full"         # no room to write (core.diskspace): the message says what to do

_JOB_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


class ProtocolError(ValueError):
    """A line that is not a valid command; `code` is one of the error codes above."""

    def __init__(self, message: str, code: str = BAD_COMMAND, job: str | None = None):
        super().__init__(message)
        self.code = code
        self.job = job


@dataclass(frozen=True)
class Command:
    cmd: str
    job: str | None = None
    kind: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


# encoding ------------------------------------------------------------------------------

def encode(message: dict[str, Any]) -> str:
    """One protocol line, newline included. ASCII-only JSON, so no pipe encoding can mangle it."""
    return json.dumps(message, ensure_ascii=True, separators=(",", ":"), default=str) + "\n"


def decode(line: str | bytes) -> dict[str, Any]:
    """Parse one line into a JSON object; raises ProtocolError(code=bad_json) otherwise."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"Ignored a line that is not JSON ({exc}).", BAD_JSON) from None
    if not isinstance(obj, dict):
        raise ProtocolError("Ignored a line that is not a JSON object.", BAD_JSON)
    return obj


def valid_job_id(job: Any) -> bool:
    return isinstance(job, str) and bool(_JOB_ID.match(job))


def parse_command(line: str | bytes) -> Command:
    """Decode and validate one GUI -> worker line. Raises ProtocolError."""
    obj = decode(line)
    version = obj.get("v", PROTOCOL_VERSION)
    job = obj.get("job") if isinstance(obj.get("job"), str) else None
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"This worker speaks protocol version {PROTOCOL_VERSION}, not {version!r}. "
                            "The app and its worker come from different versions; reinstall the app.",
                            UNSUPPORTED_VERSION, job)
    cmd = obj.get("cmd")
    if cmd not in COMMANDS:
        raise ProtocolError(f"Unknown command {cmd!r} (known: {', '.join(COMMANDS)}).", UNKNOWN_COMMAND, job)
    if cmd in ("ping", "shutdown"):
        return Command(cmd)
    if not valid_job_id(obj.get("job")):
        raise ProtocolError(f"{cmd!r} needs a job id of 1-64 letters, digits, '.', '_' or '-'; "
                            f"got {obj.get('job')!r}.", BAD_COMMAND)
    if cmd == "cancel":
        return Command(cmd, job)
    kind = obj.get("kind")
    params = obj.get("params", {})
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("'run' needs a job kind.", BAD_COMMAND, job)
    if not isinstance(params, dict):
        raise ProtocolError("'params' must be a JSON object.", BAD_COMMAND, job)
    return Command(cmd, job, kind, params)


# commands (GUI side) -----------------------------------------------------------------------

def run_command(job: str, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "cmd": "run", "job": job, "kind": kind, "params": params or {}}


def cancel_command(job: str) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "cmd": "cancel", "job": job}


def ping_command() -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "cmd": "ping"}


def shutdown_command() -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "cmd": "shutdown"}


# events (worker side) -----------------------------------------------------------------------

def _event(type_: str, job: str | None, **fields: Any) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "job": job, "type": type_, **fields}


def ready_event(pid: int, python: str, torch: str | None, kinds: list[str]) -> dict[str, Any]:
    return _event("ready", None, pid=pid, python=python, torch=torch,
                  protocol=PROTOCOL_VERSION, kinds=kinds)


def progress_event(job: str | None, stage: str, step: int, total: int, message: str = "",
                   **extra: Any) -> dict[str, Any]:
    return _event("progress", job, stage=stage, step=step, total=total, message=message, **extra)


def log_event(job: str | None, message: str, level: str = "info") -> dict[str, Any]:
    return _event("log", job, message=message, level=level if level in LOG_LEVELS else "info")


def result_event(job: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return _event("result", job, data=data or {})


def error_event(job: str | None, message: str, code: str = JOB_FAILED,
                detail: str | None = None) -> dict[str, Any]:
    event = _event("error", job, message=message, code=code)
    if detail:
        event["detail"] = detail
    return event


def cancelled_event(job: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    event = _event("cancelled", job)
    if data:
        event["data"] = data
    return event


def pong_event() -> dict[str, Any]:
    return _event("pong", None)


def is_event(obj: dict[str, Any]) -> bool:
    """True for a well-formed event of this protocol version (clients log anything else)."""
    return obj.get("v") == PROTOCOL_VERSION and obj.get("type") in EVENT_TYPES
