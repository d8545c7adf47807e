"""WorkerClient against the real worker process (and a few stub programs), through Qt signals."""
from __future__ import annotations

import sys

import pytest

from desktop.worker_client import WorkerClient

WAIT_MS = 15000


@pytest.fixture
def make_client(qtbot, tmp_path):
    made: list[WorkerClient] = []

    def make(**kwargs) -> WorkerClient:
        env = {"VOICEBANK_JOBS": str(tmp_path / "jobs"), "VOICEBANK_WORKER_GRACE_S": "0.5"}
        client = WorkerClient(environment=env, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.shutdown(wait=True, kill_after_ms=2000)


@pytest.fixture
def client(make_client) -> WorkerClient:
    return make_client()


def record(signal) -> list:
    seen: list = []
    signal.connect(lambda *args: seen.append(args))
    return seen


def test_selftest_ok_with_progress(qtbot, client):
    progress = record(client.progress)
    with qtbot.waitSignal(client.ready, timeout=WAIT_MS):
        client.start()
    assert client.info["type"] == "ready" and "selftest" in client.info["kinds"]
    with qtbot.waitSignal(client.result, timeout=WAIT_MS) as blocker:
        job = client.submit("selftest", {"steps": 3})
    assert blocker.args[0] == job and blocker.args[1]["steps"] == 3
    assert [(e["stage"], e["step"]) for _, e in progress] == [("start", 0), ("selftest", 1),
                                                                ("selftest", 2), ("selftest", 3)]
    assert {j for j, _ in progress} == {job} and client.pending_jobs == []


def test_submit_starts_the_worker_and_jobs_run_in_order(qtbot, client):
    results = record(client.result)
    first = client.submit("selftest", {"steps": 5, "delay_s": 0.02})
    second = client.submit("selftest", {"steps": 1})
    assert client.is_running and client.running_job == first
    qtbot.waitUntil(lambda: len(results) == 2, timeout=WAIT_MS)
    assert [job for job, _ in results] == [first, second]


def test_failure_then_the_next_job(qtbot, client):
    with qtbot.waitSignal(client.failed, timeout=WAIT_MS) as blocker:
        job = client.submit("selftest", {"steps": 3, "fail_at": 2})
    assert blocker.args[0] == job and "on purpose" in blocker.args[1]
    with qtbot.waitSignal(client.result, timeout=WAIT_MS):
        client.submit("selftest", {"steps": 1})


def test_unknown_kind_fails_the_job(qtbot, client):
    with qtbot.waitSignal(client.failed, timeout=WAIT_MS) as blocker:
        job = client.submit("juggle", {})
    assert blocker.args[0] == job and "juggle" in blocker.args[1]


def test_cooperative_cancel(qtbot, client):
    with qtbot.waitSignal(client.progress, timeout=WAIT_MS,
                          check_params_cb=lambda job, ev: ev["stage"] == "selftest"):
        job = client.submit("selftest", {"steps": 10000, "delay_s": 0.02})
    pid = client.info["pid"]
    with qtbot.waitSignal(client.cancelled, timeout=2000) as blocker:
        client.cancel(job)
    assert blocker.args == [job]
    with qtbot.waitSignal(client.result, timeout=WAIT_MS) as blocker:
        client.submit("selftest", {"steps": 1})
    assert blocker.args[1]["pid"] == pid          # no kill: the same worker carries on


def test_cancel_a_queued_job(qtbot, client):
    cancelled = record(client.cancelled)
    results = record(client.result)
    running = client.submit("selftest", {"steps": 20, "delay_s": 0.02})
    queued = client.submit("selftest", {"steps": 1})
    client.cancel(queued)
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS)
    assert cancelled == [(queued,)] and [job for job, _ in results] == [running]


def test_crash_reports_died_with_the_stderr_tail(qtbot, client):
    failed = record(client.failed)
    with qtbot.waitSignal(client.died, timeout=WAIT_MS) as blocker:
        job = client.submit("selftest", {"steps": 5, "crash_at": 2})
    message = blocker.args[0]
    assert "exit code 3" in message and job in message and "crashing on purpose" in message
    assert failed and failed[0][0] == job
    assert not client.is_running
    with qtbot.waitSignal(client.result, timeout=WAIT_MS):   # the next submit starts a fresh one
        client.submit("selftest", {"steps": 1})


def test_cancel_of_a_hung_job_falls_back_to_kill(qtbot, client):
    died = record(client.died)
    results = record(client.result)
    with qtbot.waitSignal(client.progress, timeout=WAIT_MS):
        hung = client.submit("selftest", {"hang": True})
    old_pid = client.info["pid"]
    queued = client.submit("selftest", {"steps": 1})
    with qtbot.waitSignal(client.cancelled, timeout=5000) as blocker:
        client.cancel(hung, kill_after_ms=300)
    assert blocker.args == [hung]
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS)      # the queued job went to a fresh worker
    assert results[0][0] == queued and results[0][1]["pid"] != old_pid
    assert died == []


def test_stray_output_arrives_as_log(qtbot, client):
    logs = record(client.log)
    with qtbot.waitSignal(client.result, timeout=WAIT_MS):
        client.submit("selftest", {"steps": 1, "stray": "chatty library"})
    qtbot.waitUntil(lambda: any("chatty library" in m for (m,) in logs), timeout=WAIT_MS)


def test_non_json_stdout_from_a_stub_is_a_log_line(qtbot, make_client):
    script = ("import json, sys\n"
              "print('this is not json')\n"
              "print(json.dumps({'v': 1, 'job': None, 'type': 'ready', 'pid': 0}))\n"
              "sys.stdin.readline()\n")
    client = make_client(program=sys.executable, arguments=["-c", script])
    logs = record(client.log)
    died = record(client.died)
    with qtbot.waitSignal(client.ready, timeout=WAIT_MS):
        client.start()
    assert ("this is not json",) in logs
    client.shutdown(wait=True)
    assert died == [] and not client.is_running


def test_shutdown_cancels_the_running_job_without_died(qtbot, client):
    died = record(client.died)
    with qtbot.waitSignal(client.progress, timeout=WAIT_MS):
        job = client.submit("selftest", {"steps": 10000, "delay_s": 0.02})
    with qtbot.waitSignal(client.cancelled, timeout=WAIT_MS) as blocker:
        client.shutdown()
    assert blocker.args == [job]
    qtbot.waitUntil(lambda: not client.is_running, timeout=WAIT_MS)
    assert died == []


def test_missing_program_is_reported(qtbot, make_client, tmp_path):
    client = make_client(program=str(tmp_path / "no-such-python"), arguments=[])
    failed = record(client.failed)
    with qtbot.waitSignal(client.died, timeout=WAIT_MS) as blocker:
        job = client.submit("selftest", {})
    assert "Could not start" in blocker.args[0]
    assert failed and failed[0][0] == job
