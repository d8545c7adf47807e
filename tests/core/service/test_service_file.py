"""service.json: where the running service listens, for clients (voicebank/say_client.py).
Written when the service listens (0600), left alone by a second service that is refused, and
removed on a clean stop."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.core.service.conftest import Server
from tests.core.service.test_service_restart import serve


def _read(env: dict) -> dict:
    return json.loads((Path(env["VOICEBANK_CONFIG"]) / "service.json").read_text(encoding="utf-8"))


def test_service_json_names_the_port_and_process(server, service_env):
    env, _, _ = service_env
    assert _read(env) == {"port": server.port, "pid": server.proc.pid, "protocol": 1}
    if os.name == "posix":
        mode = stat.S_IMODE((Path(env["VOICEBANK_CONFIG"]) / "service.json").stat().st_mode)
        assert mode == 0o600
    leftovers = [p.name for p in Path(env["VOICEBANK_CONFIG"]).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_refused_second_service_leaves_it_alone(server, service_env):
    env, _, _ = service_env
    done = serve(env, "--port", "0")
    assert done.returncode == 1
    assert _read(env)["port"] == server.port


def test_a_clean_stop_removes_it(service_env, tmp_path):
    env, _, _ = service_env
    config = tmp_path / "own-config"
    other = Server({**env, "VOICEBANK_CONFIG": str(config)})
    try:
        assert _read(other.env) == {"port": other.port, "pid": other.proc.pid, "protocol": 1}
    finally:
        other.stop()
    assert other.proc.returncode == 0, other.lines[-5:]
    assert not (config / "service.json").exists()
