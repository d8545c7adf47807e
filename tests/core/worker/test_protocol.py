"""The worker in this process (run_worker on in-memory pipes): commands, events, jobs, cancel."""
from __future__ import annotations

import queue
import sys
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from core.worker import protocol
from core.worker.__main__ import Worker, run_worker

TIMEOUT = 10.0


class LinePipe:
    """A blocking in-memory pipe of lines: readline() waits, '' means closed."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def readline(self) -> str:
        return self.lines.get()

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.lines.put(line)

    def flush(self) -> None:
        pass


class InProcessWorker:
    def __init__(self, grace_s: float = 2.0) -> None:
        self.stdin, self.stdout = LinePipe(), LinePipe()
        self.code: int | None = None
        self.thread = threading.Thread(target=self._serve, args=(grace_s,), daemon=True)
        self.thread.start()
        self.ready = self.next()
        assert self.ready["type"] == "ready"

    def _serve(self, grace_s: float) -> None:
        self.code = run_worker(self.stdin, self.stdout, grace_s)

    def send(self, message: dict | str) -> None:
        self.stdin.lines.put(message if isinstance(message, str) else protocol.encode(message))

    def run(self, job: str, kind: str, **params) -> None:
        self.send(protocol.run_command(job, kind, params))

    def next(self) -> dict:
        return protocol.decode(self.stdout.lines.get(timeout=TIMEOUT))

    def until(self, type_: str, job: str | None = None) -> list[dict]:
        """Events up to and including the first of this type (and job)."""
        seen = []
        while True:
            event = self.next()
            seen.append(event)
            if event["type"] == type_ and (job is None or event["job"] == job):
                return seen

    def close(self) -> int | None:
        self.stdin.lines.put("")                # EOF
        self.thread.join(TIMEOUT)
        return self.code


@pytest.fixture(autouse=True)
def jobs_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    return tmp_path / "jobs"


@pytest.fixture
def worker():
    w = InProcessWorker()
    yield w
    w.close()


# the protocol module --------------------------------------------------------------------

def test_encode_is_one_ascii_line_and_decodes_back():
    event = protocol.progress_event("j1", "speak", 1, 2, "Grüße, 你好", chunk="/tmp/a.wav")
    line = protocol.encode(event)
    assert line.endswith("\n") and line.count("\n") == 1 and line.isascii()
    assert protocol.decode(line) == event
    assert protocol.is_event(event) and event["v"] == protocol.PROTOCOL_VERSION


@pytest.mark.parametrize("line, code", [
    ("not json", protocol.BAD_JSON),
    ("[1, 2]", protocol.BAD_JSON),
    ('{"v": 2, "cmd": "ping"}', protocol.UNSUPPORTED_VERSION),
    ('{"v": 1, "cmd": "dance"}', protocol.UNKNOWN_COMMAND),
    ('{"v": 1, "cmd": "run", "job": "../evil", "kind": "selftest"}', protocol.BAD_COMMAND),
    ('{"v": 1, "cmd": "run", "job": "j", "kind": ""}', protocol.BAD_COMMAND),
    ('{"v": 1, "cmd": "run", "job": "j", "kind": "selftest", "params": []}', protocol.BAD_COMMAND),
    ('{"v": 1, "cmd": "cancel"}', protocol.BAD_COMMAND),
])
def test_parse_command_rejects(line, code):
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.parse_command(line)
    assert info.value.code == code


def test_parse_command_accepts():
    cmd = protocol.parse_command(protocol.encode(protocol.run_command("j-1.a_b", "selftest", {"steps": 2})))
    assert (cmd.cmd, cmd.job, cmd.kind, cmd.params) == ("run", "j-1.a_b", "selftest", {"steps": 2})
    assert protocol.parse_command('{"cmd": "ping"}').cmd == "ping"     # "v" may be left out


# the worker -----------------------------------------------------------------------------

def test_ready_then_selftest_ok(worker, jobs_dir):
    assert worker.ready["job"] is None and "selftest" in worker.ready["kinds"]
    assert worker.ready["protocol"] == 1 and worker.ready["python"]
    worker.run("j1", "selftest", steps=3, delay_s=0)
    events = worker.until("result", "j1")
    assert [e["type"] for e in events] == ["progress"] * 4 + ["result"]
    assert events[0]["stage"] == "start"
    assert [(e["step"], e["total"]) for e in events[1:4]] == [(1, 3), (2, 3), (3, 3)]
    assert events[-1]["data"]["steps"] == 3
    assert (jobs_dir / "j1" / "selftest.txt").exists()     # every job has its own folder


def test_job_dir_param_is_used(worker, tmp_path):
    worker.run("j1", "selftest", steps=1, job_dir=str(tmp_path / "here"))
    assert worker.until("result", "j1")[-1]["data"]["job_dir"] == str(tmp_path / "here")
    assert (tmp_path / "here" / "selftest.txt").exists()


def test_job_error_then_next_job_runs(worker):
    worker.run("bad", "selftest", steps=5, fail_at=2, delay_s=0)
    error = worker.until("error", "bad")[-1]
    assert error["code"] == "selftest_failed" and "step 2" in error["message"]
    worker.run("good", "selftest", steps=1)
    assert worker.until("result", "good")[-1]["data"]["steps"] == 1


def test_bug_in_a_job_sends_the_traceback_tail(worker):
    worker.run("b", "selftest", steps=3, bug_at=1)
    error = worker.until("error", "b")[-1]
    assert error["code"] == protocol.INTERNAL
    assert "ValueError" in error["message"] and "Traceback" in error["detail"]


def test_bad_params_are_an_error_not_a_crash(worker):
    worker.run("p", "selftest", steps="many")
    assert "steps" in worker.until("error", "p")[-1]["message"]


def test_unknown_kind_bad_json_unknown_cmd_keep_the_worker_alive(worker):
    worker.run("k", "juggle")
    error = worker.next()
    assert (error["type"], error["job"], error["code"]) == ("error", "k", protocol.UNKNOWN_KIND)
    worker.send("{this is not json\n")
    error = worker.next()
    assert (error["type"], error["job"], error["code"]) == ("error", None, protocol.BAD_JSON)
    worker.send({"v": 1, "cmd": "dance"})
    assert worker.next()["code"] == protocol.UNKNOWN_COMMAND
    worker.send(protocol.ping_command())
    assert worker.next()["type"] == "pong"


def test_cancel_mid_job(worker):
    worker.run("slow", "selftest", steps=1000, delay_s=0.01)
    worker.until("progress", "slow")
    worker.until("progress", "slow")
    worker.send(protocol.cancel_command("slow"))
    cancelled = worker.until("cancelled", "slow")[-1]
    assert 0 < cancelled["data"]["steps_done"] < 1000


def test_jobs_run_in_order_and_a_queued_job_can_be_cancelled(worker):
    worker.run("a", "selftest", steps=1000, delay_s=0.01)
    worker.run("b", "selftest", steps=1)
    worker.run("c", "selftest", steps=1)
    worker.send(protocol.cancel_command("b"))
    events = worker.until("cancelled", "b")
    assert all(e["job"] != "b" or e["type"] in ("log", "cancelled") for e in events)
    worker.send(protocol.cancel_command("a"))
    events = worker.until("result", "c")
    types_by_job = [(e["job"], e["type"]) for e in events if e["type"] != "progress" or e["stage"] == "start"]
    assert types_by_job.index(("a", "cancelled")) < types_by_job.index(("c", "progress"))
    assert ("b", "progress") not in types_by_job        # a cancelled queued job never starts


def test_duplicate_job_id_is_refused_without_touching_the_job(worker):
    worker.run("d", "selftest", steps=1000, delay_s=0.01)
    worker.run("d", "selftest", steps=1)
    error = worker.until("error")[-1]
    assert error["job"] is None and "already in use" in error["message"]
    worker.send(protocol.cancel_command("d"))
    worker.until("cancelled", "d")


def test_stdin_closed_cancels_the_running_job_and_returns():
    w = InProcessWorker()
    w.run("long", "selftest", steps=1000, delay_s=0.01)
    w.run("queued", "selftest", steps=1)
    w.until("progress", "long")
    assert w.close() == 0
    rest = []
    while not w.stdout.lines.empty():
        rest.append(protocol.decode(w.stdout.lines.get()))
    assert {(e["job"], e["type"]) for e in rest} >= {("long", "cancelled"), ("queued", "cancelled")}


def test_shutdown_command_stops_the_worker():
    w = InProcessWorker()
    w.send(protocol.shutdown_command())
    w.thread.join(TIMEOUT)
    assert not w.thread.is_alive() and w.code == 0


def test_a_gone_gui_cancels_the_job():
    class Broken(LinePipe):
        def write(self, text: str) -> None:
            if '"step":2' in text:
                raise BrokenPipeError
            super().write(text)

    stdin, stdout = LinePipe(), Broken()
    server = Worker(stdin, stdout, grace_s=2.0)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    stdin.write(protocol.encode(protocol.run_command("j", "selftest", {"steps": 100000, "delay_s": 0.01})))
    deadline = time.monotonic() + TIMEOUT
    while not server._broken or server._current is not None:   # the job stops: nobody is listening
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stdin.lines.put("")
    thread.join(TIMEOUT)
    assert not thread.is_alive()


# speak, against a stand-in for core.runtime.pipeline ----------------------------------------

@pytest.fixture
def fake_pipeline(monkeypatch):
    """A stand-in engine with the agreed API: records constructions, speaks sine sentences."""
    module = types.ModuleType("core.runtime.pipeline")
    made: list = []

    class SynthesisError(Exception):
        pass

    class SynthesisCancelled(Exception):
        pass

    @dataclass
    class ModelPaths:
        gpt: Path
        sovits: Path
        hubert: Path | None = None
        bert: Path | None = None

    @dataclass
    class SynthesisOptions:
        speed: float = 1.0
        fail: bool = False

    class Synthesizer:
        SAMPLE_RATE = 32000

        def __init__(self, paths: ModelPaths, device: str = "cpu"):
            made.append((paths, device))
            self.reference = None

        def set_reference(self, wav, text=None):
            self.reference = (Path(wav), text)

        def stream(self, text, options, cancel=lambda: False, pieces=False):
            if options.fail:
                raise SynthesisError("The reference is too short; record 3 to 10 seconds.")
            sentences = [s for s in text.split(".") if s.strip()]
            for i, s in enumerate(sentences):
                if cancel():
                    raise SynthesisCancelled()
                audio = (0.1 * np.sin(np.arange(3200) / 10)).astype(np.float32)
                parts = [audio[:1000], audio[1000:]] if pieces and i == 0 else [audio]
                for k, part in enumerate(parts):     # the first sentence in pieces, as the engine
                    yield SimpleNamespace(index=i, total=len(sentences), text=s.strip(), audio=part,
                                          part=k, last=k == len(parts) - 1)

    for obj in (SynthesisError, SynthesisCancelled, ModelPaths, SynthesisOptions, Synthesizer):
        setattr(module, obj.__name__, obj)
    monkeypatch.setitem(sys.modules, "core.runtime.pipeline", module)
    return made


@pytest.fixture
def voice_files(tmp_path) -> dict:
    files = {}
    for name in ("gpt.ckpt", "sovits.pth", "ref.wav"):
        (tmp_path / name).write_bytes(b"x")
        files[name.split(".")[0]] = str(tmp_path / name)
    return {"gpt": files["gpt"], "sovits": files["sovits"], "reference": files["ref"]}


def test_speak_streams_sentences_and_caches_the_synthesizer(worker, fake_pipeline, voice_files, jobs_dir):
    worker.run("s1", "speak", text="One. Two. Three.", **voice_files)
    events = worker.until("result", "s1")
    chunks = [e for e in events if e["type"] == "progress" and e["stage"] == "speak"]
    assert [(e["step"], e["total"], e["piece"]) for e in chunks] == [(1, 3, 1), (1, 3, 2), (2, 3, 3), (3, 3, 4)]
    assert chunks[0]["message"] == "One" and Path(chunks[0]["chunk"]) == jobs_dir / "s1" / "sentence-0-0.wav"
    assert sf.info(chunks[0]["chunk"]).frames == 1000 and sf.info(chunks[1]["chunk"]).frames == 2200
    data = events[-1]["data"]
    assert data["sentences"] == 3 and data["seconds"] == pytest.approx(0.3)
    audio, rate = sf.read(data["out"])
    assert rate == 32000 and len(audio) == 9600
    worker.run("s2", "speak", text="Again.", options={"speed": 1.2}, **voice_files)
    worker.until("result", "s2")
    assert len(fake_pipeline) == 1              # loaded once, reused by the second job


def test_prepare_voice_loads_ahead_so_speak_does_not(worker, fake_pipeline, voice_files):
    worker.run("p1", "prepare_voice", reference_text="你好", **voice_files)
    events = worker.until("result", "p1")
    assert [e["step"] for e in events if e["type"] == "progress" and e["stage"] == "load"] == [0, 1]
    assert events[-1]["data"]["loaded"] is True and len(fake_pipeline) == 1
    worker.run("s1", "speak", text="One.", **voice_files)
    events = worker.until("result", "s1")
    assert not [e for e in events if e["type"] == "progress" and e["stage"] == "load"]
    assert len(fake_pipeline) == 1              # the prepared voice was used


def test_prepare_voice_missing_file_is_a_user_error(worker, voice_files, tmp_path):
    worker.run("p1", "prepare_voice", **{**voice_files, "sovits": str(tmp_path / "gone.pth")})
    error = worker.until("error", "p1")[-1]
    assert error["code"] == "missing_file" and "gone.pth" in error["message"]


def test_speak_engine_error_and_bad_option(worker, fake_pipeline, voice_files):
    worker.run("s1", "speak", text="Hi.", options={"fail": True}, **voice_files)
    error = worker.until("error", "s1")[-1]
    assert error["code"] == "synthesis_failed" and "too short" in error["message"]
    worker.run("s2", "speak", text="Hi.", options={"pitch": 3}, **voice_files)
    assert "option" in worker.until("error", "s2")[-1]["message"]


def test_speak_missing_inputs_are_user_errors(worker, voice_files, tmp_path):
    worker.run("s1", "speak", text="  ", **voice_files)
    assert worker.until("error", "s1")[-1]["code"] == "missing_input"
    worker.run("s2", "speak", text="Hi.", **{**voice_files, "gpt": str(tmp_path / "gone.ckpt")})
    error = worker.until("error", "s2")[-1]
    assert error["code"] == "missing_file" and "gone.ckpt" in error["message"]
