"""The GUI's side of the worker process: start it, send jobs, turn its JSON lines into signals.

The GUI never imports torch; everything heavy runs in `python -m core.worker` (a frozen build:
the app binary with `--worker`), started here with QProcess. Protocol: core/worker/protocol.py.

Every submitted job ends with exactly one of `result`, `failed` or `cancelled`, even when the
worker crashes (then `died` comes first, naming the job it was running) or has to be killed
because a job ignored a cancel (then the job is `cancelled` and the jobs queued behind it are
sent to a fresh worker).
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from core.worker import protocol

STDERR_LINES = 50            # kept for the message when the worker dies
SHUTDOWN_KILL_MS = 3000      # a worker that ignores `shutdown` this long is killed
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_command() -> tuple[str, list[str]]:
    """How to start the worker: the same interpreter (or the frozen app binary) in worker mode."""
    if getattr(sys, "frozen", False):
        return sys.executable, ["--worker"]
    return sys.executable, ["-u", "-m", "core.worker"]


@dataclass
class _Pending:
    kind: str
    params: dict[str, Any]
    sent: bool = False                  # written to the current worker process
    cancel_requested: bool = False


class WorkerClient(QObject):
    ready = Signal()                    # the worker said `ready`; its event is in `info`
    event = Signal(object)              # every protocol event, as a dict
    progress = Signal(str, object)      # job id, progress event (stage, step, total, message, ...)
    result = Signal(str, object)        # job id, result data
    failed = Signal(str, str)           # job id, message for the user
    cancelled = Signal(str)             # job id
    died = Signal(str)                  # the worker stopped unasked: what happened, stderr tail
    log = Signal(str)                   # worker log events, stray stdout lines, stderr lines

    def __init__(self, parent: QObject | None = None, program: str | None = None,
                 arguments: list[str] | None = None, environment: dict[str, str] | None = None):
        super().__init__(parent)
        default_program, default_args = default_command()
        self.program = program or default_program
        self.arguments = list(default_args if arguments is None else arguments)
        self.environment = dict(environment or {})
        self.info: dict[str, Any] = {}              # the last `ready` event
        self._process: QProcess | None = None
        self._stdout = b""
        self._stderr = b""
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_LINES)
        self._pending: OrderedDict[str, _Pending] = OrderedDict()   # in the worker's run order
        self._stopping = False                      # shutdown() asked: the exit is expected
        self._killed_for: str | None = None         # the job whose cancel fell back to kill()

    # state ---------------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.NotRunning

    @property
    def running_job(self) -> str | None:
        """The job the worker is on (jobs run in order, so the oldest unfinished one)."""
        return next(iter(self._pending), None)

    @property
    def pending_jobs(self) -> list[str]:
        return list(self._pending)

    @property
    def stderr_tail(self) -> list[str]:
        return list(self._stderr_tail)

    # commands ------------------------------------------------------------------------------
    def start(self) -> None:
        if self.is_running:
            return
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.SeparateChannels)
        env = QProcessEnvironment.systemEnvironment()
        if not getattr(sys, "frozen", False):
            # `-m core.worker` must find the package whatever the GUI's working folder is
            path = env.value("PYTHONPATH", "")
            env.insert("PYTHONPATH", str(PROJECT_ROOT) + (os.pathsep + path if path else ""))
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        for key, value in self.environment.items():
            env.insert(key, value)
        proc.setProcessEnvironment(env)
        proc.readyReadStandardOutput.connect(lambda: self._read_stdout(proc))
        proc.readyReadStandardError.connect(lambda: self._read_stderr(proc))
        proc.finished.connect(lambda code, status: self._finished(proc, code, status))
        proc.errorOccurred.connect(lambda error: self._error(proc, error))
        self._process = proc
        self._stdout = self._stderr = b""
        self._stderr_tail.clear()
        self._stopping = False
        self.info = {}
        proc.start(self.program, self.arguments)

    def submit(self, kind: str, params: dict[str, Any] | None = None) -> str:
        """Queue a job (starting the worker if needed); returns its id at once."""
        job = f"{kind}-{uuid.uuid4().hex[:12]}"
        self._pending[job] = _Pending(kind, dict(params or {}))
        if self._stopping and self.is_running:
            return job                  # sent to a fresh worker once this one has exited
        self.start()
        self._send_unsent()
        return job

    def cancel(self, job: str, kill_after_ms: int | None = 5000) -> None:
        """Ask the job to stop; if it is still going after kill_after_ms, kill the worker."""
        pending = self._pending.get(job)
        if pending is None:
            return
        pending.cancel_requested = True
        if not pending.sent or not self.is_running:
            del self._pending[job]      # never reached a worker
            self.cancelled.emit(job)
            return
        self._send(protocol.cancel_command(job))
        if kill_after_ms is not None:
            proc = self._process
            QTimer.singleShot(kill_after_ms, self, lambda: self._kill_for(proc, job))

    def ping(self) -> None:
        if self.is_running:
            self._send(protocol.ping_command())

    def shutdown(self, wait: bool = False, kill_after_ms: int = SHUTDOWN_KILL_MS) -> None:
        """Stop the worker (its running job is cancelled). wait=True blocks until it has gone."""
        proc = self._process
        if proc is None or not self.is_running:
            return
        self._stopping = True
        self._send(protocol.shutdown_command())
        proc.closeWriteChannel()        # EOF too: the worker exits even if the line were lost
        if wait:
            if not proc.waitForFinished(kill_after_ms):
                proc.kill()
                proc.waitForFinished(2000)
        else:
            QTimer.singleShot(kill_after_ms, self, lambda: self._kill_if_current(proc))

    # plumbing ------------------------------------------------------------------------------
    def _send(self, command: dict[str, Any]) -> None:
        if self._process is not None:
            self._process.write(protocol.encode(command).encode("utf-8"))

    def _send_unsent(self) -> None:
        for job, pending in self._pending.items():
            if not pending.sent:
                pending.sent = True
                self._send(protocol.run_command(job, pending.kind, pending.params))

    def _kill_if_current(self, proc: QProcess | None) -> None:
        if proc is not None and proc is self._process and self.is_running:
            proc.kill()

    def _kill_for(self, proc: QProcess | None, job: str) -> None:
        if job in self._pending and proc is self._process and self.is_running:
            self.log.emit(f"worker: job {job} ignored the cancel; stopping the worker")
            self._killed_for = job
            proc.kill()

    def _read_stdout(self, proc: QProcess) -> None:
        self._stdout += bytes(proc.readAllStandardOutput().data())
        *lines, self._stdout = self._stdout.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", errors="replace").rstrip("\r"))

    def _read_stderr(self, proc: QProcess) -> None:
        self._stderr += bytes(proc.readAllStandardError().data())
        *lines, self._stderr = self._stderr.split(b"\n")
        for raw in lines:
            self._stderr_line(raw.decode("utf-8", errors="replace").rstrip("\r"))

    def _stderr_line(self, text: str) -> None:
        if text.strip():
            self._stderr_tail.append(text)
            self.log.emit(text)

    def _line(self, text: str) -> None:
        if not text.strip():
            return
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and protocol.is_event(obj):
            self._dispatch(obj)
        else:
            self.log.emit(text)         # a library printing: a log line, never a crash

    def _dispatch(self, ev: dict[str, Any]) -> None:
        self.event.emit(ev)
        kind, job = ev["type"], ev.get("job")
        if kind == "ready":
            self.info = ev
            self.ready.emit()
        elif kind == "log":
            self.log.emit(str(ev.get("message", "")))
        elif kind == "progress" and job in self._pending:
            self.progress.emit(job, ev)
        elif kind == "error" and not job:
            self.log.emit(f"worker: {ev.get('message', '')}")     # a command it could not read
        elif kind in protocol.TERMINAL_TYPES and job in self._pending:
            del self._pending[job]
            if kind == "result":
                self.result.emit(job, ev.get("data") or {})
            elif kind == "error":
                self.failed.emit(job, str(ev.get("message") or "The job failed."))
            else:
                self.cancelled.emit(job)

    def _drain(self, proc: QProcess) -> None:
        # Events written just before the exit still count; a last unterminated line too.
        self._read_stdout(proc)
        self._read_stderr(proc)
        if self._stdout:
            self._line(self._stdout.decode("utf-8", errors="replace"))
        if self._stderr:
            self._stderr_line(self._stderr.decode("utf-8", errors="replace"))
        self._stdout = self._stderr = b""

    def _finished(self, proc: QProcess, code: int, status: QProcess.ExitStatus) -> None:
        self._drain(proc)
        if proc is not self._process:
            return
        self._process = None
        proc.deleteLater()
        killed_for, self._killed_for = self._killed_for, None
        if killed_for is not None:      # our own kill, for a job deaf to cancel
            if self._pending.pop(killed_for, None) is not None:
                self.cancelled.emit(killed_for)
            self._restart_unfinished()
        elif self._stopping:            # shutdown() asked for this
            self._stopping = False
            for job in [j for j, p in self._pending.items() if p.sent]:
                del self._pending[job]
                self.cancelled.emit(job)
            if self._pending:           # submitted during the shutdown: a fresh worker
                self.start()
                self._send_unsent()
        else:
            how = ("it crashed" if status == QProcess.CrashExit else f"exit code {code}")
            self._lost(f"The worker process stopped unexpectedly ({how})")

    def _error(self, proc: QProcess, error: QProcess.ProcessError) -> None:
        if error != QProcess.FailedToStart or proc is not self._process:
            return                      # crashes also arrive as finished(); handled there
        self._process = None
        proc.deleteLater()
        self._lost(f"Could not start the worker ({self.program}: {proc.errorString()}). "
                   "Reinstall the app", running=False)

    def _restart_unfinished(self) -> None:
        """Jobs that were queued in a killed worker start again in a fresh one."""
        for pending in self._pending.values():
            pending.sent = False
        if self._pending:
            self.start()
            self._send_unsent()

    def _lost(self, what: str, running: bool = True) -> None:
        jobs = list(self._pending.items())
        self._pending.clear()
        doing = f" while running job {jobs[0][0]} ({jobs[0][1].kind})" if jobs and running else ""
        tail = "\n".join(self._stderr_tail)
        message = f"{what}{doing}." + (f" Its last lines were:\n{tail}" if tail else "")
        self.died.emit(message)
        for job, pending in jobs:
            self.failed.emit(job, f"The {pending.kind} job did not finish: the worker process "
                                  "stopped. Try again; if it happens again, restart the app.")
