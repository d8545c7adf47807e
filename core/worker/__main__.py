"""`python -m core.worker`: the process that does the heavy work, driven over stdin/stdout.

The protocol is described in core/worker/protocol.py. Two threads: this one reads commands
(so a `cancel` is seen at once, even mid-job) and a job thread runs the queued jobs one at a
time. `run_worker(stdin, stdout)` is the whole server, for in-process tests; `main()` adds the
stream plumbing that keeps stray prints off the protocol pipe.
"""
from __future__ import annotations

import os
import platform
import sys
import threading
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.diskspace import disk_full_text, is_disk_full
from core.worker import protocol
from core.worker.jobs import REGISTRY, JobCancelled, JobContext, JobError, job_dir_for

GRACE_S = 5.0               # how long shutdown waits for a cancelled job before exiting anyway
TRACEBACK_TAIL = 3000       # characters of traceback sent in an error's `detail`


class LineReader(Protocol):
    def readline(self) -> str: ...


class LineWriter(Protocol):
    def write(self, text: str) -> Any: ...
    def flush(self) -> Any: ...


@dataclass
class _Job:
    id: str
    kind: str
    params: dict[str, Any]
    cancel: threading.Event = field(default_factory=threading.Event)


def _torch_version() -> str | None:
    # From the package metadata: importing torch would cost seconds before `ready`.
    try:
        from importlib.metadata import version
        return version("torch")
    except Exception:
        return None


class Worker:
    def __init__(self, stdin: LineReader, stdout: LineWriter, grace_s: float = GRACE_S):
        self.stdin = stdin
        self.stdout = stdout
        self.grace_s = grace_s
        self._out_lock = threading.Lock()       # one writer at a time on the pipe
        self._cond = threading.Condition()      # guards the queue, the current job, stopping
        self._queue: deque[_Job] = deque()
        self._current: _Job | None = None
        self._stopping = False
        self._broken = False                    # the GUI end of stdout is gone
        self._cache: dict[Any, Any] = {}        # loaded models, kept between jobs
        self._thread = threading.Thread(target=self._job_loop, name="voicebank-job", daemon=True)

    # output --------------------------------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> None:
        line = protocol.encode(event)
        with self._out_lock:
            if self._broken:
                return
            try:
                self.stdout.write(line)
                self.stdout.flush()
            except (OSError, ValueError):
                # Nobody is listening any more: stop the work instead of computing for no one.
                self._broken = True
                current = self._current
                if current is not None:
                    current.cancel.set()

    # the command reader (calling thread) --------------------------------------------------
    def serve(self) -> bool:
        """Read commands until shutdown or EOF. Returns False if a job would not stop in time."""
        self.emit(protocol.ready_event(os.getpid(), platform.python_version(), _torch_version(),
                                       sorted(REGISTRY)))
        self._thread.start()
        while True:
            try:
                line = self.stdin.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                break                           # stdin closed: the GUI is gone
            line = line.strip()
            if not line:
                continue
            try:
                command = protocol.parse_command(line)
            except protocol.ProtocolError as exc:
                self.emit(protocol.error_event(exc.job, str(exc), exc.code))
                continue
            if command.cmd == "shutdown":
                break
            self._handle(command)
        self._stop()
        self._thread.join(self.grace_s)
        return not self._thread.is_alive()

    def _handle(self, command: protocol.Command) -> None:
        if command.cmd == "ping":
            self.emit(protocol.pong_event())
        elif command.cmd == "cancel":
            self._cancel(command.job or "")
        elif command.cmd == "run":
            self._submit(command)

    def _submit(self, command: protocol.Command) -> None:
        assert command.job is not None and command.kind is not None
        if command.kind not in REGISTRY:
            self.emit(protocol.error_event(
                command.job, f"This worker cannot run {command.kind!r} jobs (it knows: "
                f"{', '.join(sorted(REGISTRY))}). The app and its worker may be from different "
                "versions; reinstall the app.", protocol.UNKNOWN_KIND))
            return
        with self._cond:
            known = [j.id for j in self._queue] + ([self._current.id] if self._current else [])
            if command.job in known:
                # job=None: this error must not look like the existing job failing
                self.emit(protocol.error_event(None, f"Job id {command.job!r} is already in use.",
                                               protocol.BAD_COMMAND))
                return
            busy = self._current is not None or bool(self._queue)
            self._queue.append(_Job(command.job, command.kind, dict(command.params)))
            self._cond.notify_all()
        if busy:
            self.emit(protocol.log_event(command.job, "queued: waiting for the running job to finish",
                                         "debug"))

    def _cancel(self, job_id: str) -> None:
        dropped: _Job | None = None
        with self._cond:
            if self._current is not None and self._current.id == job_id:
                self._current.cancel.set()          # the job stops at its next check
                return
            for queued in self._queue:
                if queued.id == job_id:
                    dropped = queued
                    break
            if dropped is not None:
                self._queue.remove(dropped)
        if dropped is not None:
            self.emit(protocol.cancelled_event(job_id))
        else:
            self.emit(protocol.log_event(job_id, "nothing to cancel: the job already ended", "debug"))

    def _stop(self) -> None:
        with self._cond:
            self._stopping = True
            dropped = list(self._queue)
            self._queue.clear()
            if self._current is not None:
                self._current.cancel.set()
            self._cond.notify_all()
        for job in dropped:
            self.emit(protocol.cancelled_event(job.id))

    # the job thread ----------------------------------------------------------------------
    def _job_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return                       # stopping, and nothing left
                job = self._queue.popleft()
                self._current = job
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._current = None

    def _run(self, job: _Job) -> None:
        fn = REGISTRY[job.kind]
        job_dir = job_dir_for(job.id, job.params)
        try:
            job_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.emit(protocol.error_event(
                job.id, f"Could not create the job folder {job_dir} ({exc.strerror or exc}). "
                "Check that the disk has space and the folder is writable.", "job_dir"))
            return
        ctx = JobContext(job.id, job_dir, self.emit, job.cancel, self._cache)
        ctx.progress("start", 0, 0, f"{job.kind} started")
        try:
            data = fn(job.params, ctx)
        except JobCancelled as exc:
            self.emit(protocol.cancelled_event(job.id, exc.data))
        except JobError as exc:
            self.emit(protocol.error_event(job.id, exc.message, exc.code, exc.detail))
        except BaseException as exc:  # noqa: BLE001 - any bug must become an event, not a dead thread
            if is_disk_full(exc):       # a full disk is not a bug: its own words, whatever was written
                failed = f"the {job.kind.replace('_', ' ')} job could not finish writing"
                self.emit(protocol.error_event(job.id, disk_full_text(exc, failed), protocol.DISK_FULL))
                return
            tail = traceback.format_exc()[-TRACEBACK_TAIL:]
            if sys.stderr is not None:          # None under pythonw / a windowed frozen build
                sys.stderr.write(tail)
            self.emit(protocol.error_event(
                job.id, f"Something went wrong inside the worker ({type(exc).__name__}: {exc}). "
                "Try again; if it happens again, send the log to the developers.",
                protocol.INTERNAL, tail))
        else:
            data = data if isinstance(data, dict) else ({} if data is None else {"value": data})
            if job.cancel.is_set():     # asked to stop: the GUI has moved on, whatever was made
                self.emit(protocol.cancelled_event(job.id, data))
            else:
                self.emit(protocol.result_event(job.id, data))


def run_worker(stdin: LineReader, stdout: LineWriter, grace_s: float = GRACE_S) -> int:
    """Serve the protocol on these streams until shutdown/EOF. Returns the exit code (0 ok)."""
    return 0 if Worker(stdin, stdout, grace_s).serve() else 1


def _protocol_streams() -> tuple[LineReader, LineWriter]:
    """stdin for commands, and a private copy of fd 1 for events; stray output goes to stderr."""
    stdin = sys.stdin if sys.stdin is not None else open(0, "r", encoding="utf-8", closefd=False)
    if hasattr(stdin, "reconfigure"):
        stdin.reconfigure(encoding="utf-8", errors="replace")
    out: LineWriter
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
        fd = os.dup(1)              # the pipe to the GUI, now only for protocol lines
        try:
            os.dup2(2, 1)           # C libraries printing to fd 1 now reach stderr
        except OSError:
            pass                    # no stderr to send them to: they stay on fd 1
        out = open(fd, "w", encoding="utf-8", newline="\n", buffering=1)
    except (OSError, ValueError):
        out = sys.stdout if sys.stdout is not None else open(os.devnull, "w")
    sys.stdout = sys.stderr         # print() from any library goes to stderr (None: dropped)
    return stdin, out


def main(argv: list[str] | None = None) -> int:
    grace_s = float(os.environ.get("VOICEBANK_WORKER_GRACE_S", GRACE_S))
    stdin, stdout = _protocol_streams()
    code = run_worker(stdin, stdout, grace_s)
    if code and sys.stderr is not None:
        sys.stderr.write("worker: a job did not stop in time; exiting anyway\n")
    for stream in (stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    # A job thread deaf to cancel must not keep the process alive, nor crash it at shutdown.
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
