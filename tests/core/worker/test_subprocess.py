"""The real worker process (`python -m core.worker`), driven through its stdin and stdout."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.worker import protocol

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 20.0


class WorkerProcess:
    def __init__(self, jobs: Path, grace_s: float = 0.5) -> None:
        env = {**os.environ, "VOICEBANK_JOBS": str(jobs), "VOICEBANK_WORKER_GRACE_S": str(grace_s),
               "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-u", "-m", "core.worker"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.ready = self.next()
        assert self.ready["type"] == "ready"

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))

    def send(self, message: dict) -> None:
        self.proc.stdin.write(protocol.encode(message))
        self.proc.stdin.flush()

    def run(self, job: str, kind: str, **params) -> None:
        self.send(protocol.run_command(job, kind, params))

    def next(self) -> dict | None:
        line = self.lines.get(timeout=TIMEOUT)
        return None if line is None else protocol.decode(line)   # every stdout line must be protocol

    def until(self, type_: str, job: str | None = None) -> list[dict]:
        seen = []
        while True:
            event = self.next()
            assert event is not None, f"worker exited; stderr: {self.stderr[-10:]}"
            seen.append(event)
            if event["type"] == type_ and (job is None or event["job"] == job):
                return seen

    def rest(self) -> list[dict]:
        """Every event until stdout closes."""
        events = []
        while (event := self.next()) is not None:
            events.append(event)
        return events

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def worker(tmp_path):
    w = WorkerProcess(tmp_path / "jobs")
    yield w
    w.close()


def test_selftest_ok_with_progress_and_no_torch(worker, tmp_path):
    assert worker.ready["pid"] == worker.proc.pid
    worker.run("j1", "selftest", steps=4, delay_s=0.01)
    events = worker.until("result", "j1")
    progress = [e for e in events if e["type"] == "progress" and e["stage"] == "selftest"]
    assert [e["step"] for e in progress] == [1, 2, 3, 4]
    data = events[-1]["data"]
    assert data["pid"] == worker.proc.pid and not data["torch_loaded"]     # cheap to start
    assert Path(data["job_dir"]) == tmp_path / "jobs" / "j1" and Path(data["job_dir"]).is_dir()


def test_failure_is_an_error_event_and_the_worker_stays_alive(worker):
    worker.run("bad", "selftest", steps=3, fail_at=2)
    assert worker.until("error", "bad")[-1]["code"] == "selftest_failed"
    worker.run("next", "selftest", steps=2)
    assert worker.until("result", "next")[-1]["data"]["steps"] == 2
    assert worker.proc.poll() is None


def test_cancel_mid_job_is_quick(worker):
    worker.run("slow", "selftest", steps=10000, delay_s=0.05)
    worker.until("progress", "slow")
    worker.until("progress", "slow")
    started = time.monotonic()
    worker.send(protocol.cancel_command("slow"))
    worker.until("cancelled", "slow")
    assert time.monotonic() - started < 1.0
    worker.send(protocol.ping_command())
    assert worker.until("pong")


def test_crash_exits_non_zero_with_a_stderr_tail(worker):
    worker.run("boom", "selftest", steps=5, crash_at=2)
    worker.rest()
    assert worker.proc.wait(TIMEOUT) == 3
    deadline = time.monotonic() + 5
    while not any("crashing on purpose" in line for line in worker.stderr):
        assert time.monotonic() < deadline, worker.stderr
        time.sleep(0.02)


def test_stray_prints_go_to_stderr_not_the_protocol(worker):
    worker.run("chatty", "selftest", steps=2, stray="hello from a library")
    events = worker.until("result", "chatty")       # next() decodes every line: no stray text there
    assert all(protocol.is_event(e) for e in events)
    worker.send(protocol.shutdown_command())
    worker.rest()
    worker.proc.wait(TIMEOUT)
    time.sleep(0.1)
    assert "hello from a library" in worker.stderr
    assert "hello from a library (fd 1)" in worker.stderr


def test_stdin_closed_cancels_and_exits(worker):
    worker.run("long", "selftest", steps=10000, delay_s=0.05)
    worker.until("progress", "long")
    worker.proc.stdin.close()
    events = worker.rest()
    assert ("long", "cancelled") in [(e["job"], e["type"]) for e in events]
    assert worker.proc.wait(TIMEOUT) == 0


def test_a_job_deaf_to_cancel_does_not_keep_a_closed_worker_alive(worker):
    worker.run("stuck", "selftest", hang=True)
    worker.until("log", "stuck")
    started = time.monotonic()
    worker.proc.stdin.close()
    worker.rest()
    assert worker.proc.wait(TIMEOUT) == 1                    # after the 0.5 s grace
    assert time.monotonic() - started < 5


def test_unknown_kind_and_bad_json(worker):
    worker.proc.stdin.write("hello?\n")
    worker.proc.stdin.flush()
    assert worker.next()["code"] == protocol.BAD_JSON
    worker.run("k", "juggle")
    assert worker.next()["code"] == protocol.UNKNOWN_KIND
    worker.run("ok", "selftest", steps=1)
    worker.until("result", "ok")


def test_speak_without_usable_models_is_a_clean_error(worker, tmp_path):
    worker.run("s1", "speak", text="Hello.", gpt=str(tmp_path / "missing.ckpt"),
               sovits=str(tmp_path / "missing.pth"), reference=str(tmp_path / "ref.wav"))
    error = worker.until("error", "s1")[-1]
    assert error["code"] == "missing_file" and error["message"]
    # files that exist but are not models: engine_missing (no pipeline yet) or the engine's own error
    for name in ("gpt.ckpt", "sovits.pth", "ref.wav"):
        (tmp_path / name).write_bytes(b"not a model")
    worker.run("s2", "speak", text="Hello.", gpt=str(tmp_path / "gpt.ckpt"),
               sovits=str(tmp_path / "sovits.pth"), reference=str(tmp_path / "ref.wav"))
    error = worker.until("error", "s2")[-1]
    assert error["message"]
    worker.run("after", "selftest", steps=1)
    worker.until("result", "after")


# speak end to end: the real engine with the tiny reference checkpoints ----------------------

REF = ROOT.parent / "shared/reference/gpt-sovits-v2"


@pytest.fixture(scope="module")
def tiny_voice(tmp_path_factory) -> dict:
    if not (REF / "s1_tiny.ckpt").exists() or not (REF / "s2G_tiny.pth").exists():
        pytest.skip(f"tiny reference checkpoints not found in {REF}")
    pytest.importorskip("core.runtime.pipeline")
    import soundfile as sf

    from tests.testsignals import speech_like
    from tests.tinymodels import make_tiny_bert, make_tiny_hubert

    folder = tmp_path_factory.mktemp("voice")
    sf.write(folder / "ref.wav", speech_like(4.0, 48000, seed=3), 48000, subtype="PCM_16")
    return {"gpt": str(REF / "s1_tiny.ckpt"), "sovits": str(REF / "s2G_tiny.pth"),
            "hubert": str(make_tiny_hubert(folder / "chinese-hubert-base")),
            "bert": str(make_tiny_bert(folder / "chinese-roberta-wwm-ext-large", "你好世界今天天气很")),
            "reference": str(folder / "ref.wav")}


def test_speak_streams_sentences_with_the_real_engine(worker, tiny_voice):
    import soundfile as sf

    options = {"seed": 1, "max_new_tokens": 15}
    worker.run("s1", "speak", text="你好世界。今天天气很好。", options=options, **tiny_voice)
    events = worker.until("result", "s1")
    chunks = [e for e in events if e["type"] == "progress" and e["stage"] == "speak"]
    steps = [e["step"] for e in chunks]       # the first sentence in pieces: its step repeats
    assert sorted(set(steps)) == list(range(1, chunks[0]["total"] + 1)) and steps == sorted(steps)
    assert steps.count(1) >= 2 and [e["piece"] for e in chunks] == list(range(1, len(chunks) + 1))
    for event in chunks:
        assert Path(event["chunk"]).is_file()                # playable before the job ends
    data = events[-1]["data"]
    audio, rate = sf.read(data["out"])
    assert rate == 32000 and data["sentences"] == chunks[0]["total"]
    assert len(audio) == sum(sf.info(e["chunk"]).frames for e in chunks)   # the pieces are the whole
    assert len(audio) / rate == pytest.approx(data["seconds"], abs=1e-3)
    # same voice again: the loaded synthesizer is reused (no "load" stage the second time)
    worker.run("s2", "speak", text="你好。", options=options, **tiny_voice)
    events = worker.until("result", "s2")
    assert not [e for e in events if e["type"] == "progress" and e["stage"] == "load"]


def test_prepare_voice_with_the_real_engine(worker, tiny_voice):
    worker.run("p1", "prepare_voice", reference_text="你好世界", **tiny_voice)
    events = worker.until("result", "p1")
    assert events[-1]["data"]["loaded"] is True
    assert [e["step"] for e in events if e["type"] == "progress" and e["stage"] == "load"] == [0, 1]
    worker.run("s1", "speak", text="你好。", reference_text="你好世界",
               options={"seed": 1, "max_new_tokens": 10}, **tiny_voice)
    events = worker.until("result", "s1")
    assert not [e for e in events if e["type"] == "progress" and e["stage"] == "load"]
