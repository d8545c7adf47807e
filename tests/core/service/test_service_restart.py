"""Faults of the process: the engine killed (503, then it is started again and speaks), and a
second service started while one runs (one line, exit status non-zero)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from tests.core.service.conftest import ROOT


def test_killed_engine_answers_503_then_restarts(server):
    before = server.health()
    os.kill(before["engine_pid"], signal.SIGKILL)
    r = httpx.post(f"{server.url}/v1/audio/speech", headers=server.headers, timeout=60,
                   json={"input": "你好世界。"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    after = server.wait_ready(starts=before["engine_starts"] + 1)
    assert after["engine_pid"] != before["engine_pid"]
    r = httpx.post(f"{server.url}/v1/audio/speech", headers=server.headers, timeout=60,
                   json={"input": "你好世界。"})
    assert r.status_code == 200 and len(r.content) > 32000


def serve(env, *args):
    return subprocess.run([sys.executable, "-m", "voicebank.cli", "serve", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_second_service_says_the_lock_is_taken(server, service_env):
    env, _, _ = service_env
    done = serve(env, "--port", "0")
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "lock" in lines[0] and "is taken" in lines[0], done.stderr


def test_a_taken_port_is_one_line(server, service_env, tmp_path):
    env, _, _ = service_env
    done = serve({**env, "VOICEBANK_CONFIG": str(tmp_path / "other-config")}, "--port", str(server.port))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {server.port}" in lines[0] and "taken" in lines[0], done.stderr
