"""The server's side of the engine process: the one owner every request is queued to.

`EngineClient.start()` spawns `core.service.engine.main` (multiprocessing, spawn: a fresh
interpreter, so torch never loads in the server). A reader thread hands the engine's messages to
each request's asyncio queue. When the engine process dies (killed, out of memory), every request
in flight gets a 503 event, and the engine is started again; until it says "ready", new requests
are refused with `EngineUnavailable` (503). More than `max_active` requests at once is
`EngineBusy` (429).
"""
from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from typing import Any

RESTART_DELAY_S = 0.5
UNAVAILABLE = "The speech engine is starting or restarting. Try again in a few seconds."
DIED = "The speech engine stopped while speaking; it is being restarted. Try again in a few seconds."


class EngineUnavailable(Exception):
    """503: the engine is not running (starting, or restarting after it died)."""


class EngineBusy(Exception):
    """429: too many requests are queued."""


@dataclass
class Request:
    id: str
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue = field(default_factory=asyncio.Queue)

    def put(self, event: tuple) -> None:
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:        # the loop has closed: nobody is waiting any more
            pass


class EngineClient:
    def __init__(self, config: dict[str, Any], max_active: int = 32):
        self.config = config
        self.max_active = max_active
        self.pid: int | None = None
        self.starts = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._process = None
        self._conn = None
        self._ready = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._requests: dict[str, Request] = {}
        self._ids = itertools.count(1)

    # life -----------------------------------------------------------------------------------
    def start(self) -> None:
        threading.Thread(target=self._run, name="voicebank-engine-reader", daemon=True).start()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stopping = True
        self._ready.clear()
        try:
            self._send(("stop",))
        except (OSError, EngineUnavailable, ValueError):
            pass
        process = self._process
        if process is not None:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)

    def _spawn(self) -> None:
        from core.service.engine import main as engine_main

        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=engine_main, args=(child, self.config),
                                    name="voicebank-engine", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.starts += 1

    def _run(self) -> None:
        """The reader thread: (re)start the engine, then hand its messages out until it dies."""
        while not self._stopping:
            try:
                self._spawn()
                message = self._conn.recv()
                if message[0] != "ready":
                    raise EOFError
                self.pid = message[1]["pid"]
                self._ready.set()
                while True:
                    self._deliver(self._conn.recv())
            except (EOFError, OSError):
                pass
            self._ready.clear()
            self._fail_all(503, DIED)
            if self._process is not None:
                self._process.join(1)
            if not self._stopping:
                time.sleep(RESTART_DELAY_S)

    def _deliver(self, message: tuple) -> None:
        with self._lock:
            request = self._requests.get(message[1])
            if request is not None and message[0] in ("done", "error"):
                del self._requests[message[1]]
        if request is not None:
            request.put(message)

    def _fail_all(self, status: int, text: str) -> None:
        with self._lock:
            requests, self._requests = list(self._requests.values()), {}
        for request in requests:
            request.put(("error", request.id, status, text))

    def _send(self, message: tuple) -> None:
        conn = self._conn
        if conn is None:
            raise EngineUnavailable(UNAVAILABLE)
        with self._send_lock:
            conn.send(message)

    # requests ---------------------------------------------------------------------------------
    @property
    def active(self) -> int:
        with self._lock:
            return len(self._requests)

    def submit(self, spec: dict[str, Any]) -> Request:
        """Queue a text for the engine; its events arrive on the returned request's queue."""
        if not self._ready.is_set():
            raise EngineUnavailable(UNAVAILABLE)
        request = Request(f"r{next(self._ids)}", asyncio.get_running_loop())
        with self._lock:
            if len(self._requests) >= self.max_active:
                raise EngineBusy(f"{len(self._requests)} requests are already waiting.")
            self._requests[request.id] = request
        try:
            self._send(("speak", request.id, spec))
        except (OSError, ValueError) as exc:
            with self._lock:
                self._requests.pop(request.id, None)
            raise EngineUnavailable(UNAVAILABLE) from exc
        return request

    def cancel(self, request: Request) -> None:
        """The caller went away: the engine drops its sentences (between two sentences)."""
        with self._lock:
            known = self._requests.pop(request.id, None) is not None
        if known:
            try:
                self._send(("cancel", request.id))
            except (OSError, ValueError, EngineUnavailable):
                pass
