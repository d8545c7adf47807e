"""The protocol-v1 loop the stand-in workers share (run as scripts, so imported as a sibling).

`serve(kinds, run)` answers `ready`, logs every command to $STUB_LOG, runs each `run` command in
a thread, one job at a time and in order, passes `cancel` on through `cancels[job]`, and stops on
`shutdown` or end of input. `run(job, kind, params)` reports with `emit`.
"""
import json
import os
import sys
import threading
from typing import Callable

LOG = os.environ.get("STUB_LOG")
lock = threading.Lock()
cancels: dict[str, threading.Event] = {}


def emit(job, type_, **fields) -> None:
    with lock:
        sys.stdout.write(json.dumps({"v": 1, "job": job, "type": type_, **fields}) + "\n")
        sys.stdout.flush()


def serve(kinds: list[str], run: Callable[[str, str, dict], None]) -> None:
    emit(None, "ready", pid=os.getpid(), python="stub", torch=None, protocol=1, kinds=kinds)
    jobs: list[threading.Thread] = []
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if LOG:
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(cmd, ensure_ascii=False) + "\n")
        if cmd["cmd"] == "shutdown":
            for event in cancels.values():
                event.set()
            break
        if cmd["cmd"] == "cancel" and cmd["job"] in cancels:
            cancels[cmd["job"]].set()
        elif cmd["cmd"] == "run":
            cancels[cmd["job"]] = threading.Event()
            for t in jobs:
                t.join()            # one job at a time, in order
            t = threading.Thread(target=run, args=(cmd["job"], cmd["kind"], cmd["params"]), daemon=True)
            jobs.append(t)
            t.start()
    for t in jobs:
        t.join(2)
