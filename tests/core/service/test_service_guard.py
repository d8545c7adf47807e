"""Refused before anything is said: the token, loopback Host/Origin, malformed or oversized input,
an unknown voice; the token file is the user's alone. Each against the running server."""
from __future__ import annotations

import os
import stat
import time

import httpx
import pytest

from core.service.security import RateLimit, host_ok, origin_ok, token_ok


def post(server, json=None, headers=None, path="/v1/audio/speech", **kw):
    return httpx.post(f"{server.url}{path}", json=json, headers={**server.headers, **(headers or {})},
                      timeout=60, **kw)


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic abc", "Bearer x"])
def test_no_or_wrong_token_is_401(server, auth):
    headers = {"Authorization": auth} if auth else {}
    r = httpx.get(f"{server.url}/voices", headers=headers)
    assert r.status_code == 401 and "token" in r.json()["message"]
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("headers", [{"Host": "evil.example:9880"}, {"Host": "127.0.0.1.evil.example"},
                                     {"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Host": "192.168.1.5"}])
def test_foreign_host_or_origin_is_403_without_cors(server, headers):
    r = httpx.get(f"{server.url}/voices", headers={**server.headers, **headers})
    assert r.status_code == 403
    assert not any(k.lower().startswith("access-control") for k in r.headers)


def test_loopback_origin_is_fine(server):
    r = httpx.get(f"{server.url}/voices", headers={**server.headers, "Origin": f"http://localhost:{server.port}"})
    assert r.status_code == 200


@pytest.mark.parametrize("body,field,status", [
    ({"voice": "v-1"}, "input", 400),
    ({"input": 5}, "input", 400),
    ({"input": "你好", "speed": "fast"}, "speed", 400),
    ({"input": "你好", "speed": 9}, "speed", 400),
    ({"input": "你好", "response_format": "mp3"}, "response_format", 400),
    ({"input": "你好", "voice": ["v-1"]}, "voice", 400),
    ({"input": "你" * 2001}, "input", 413),
    ({"input": "你好", "voice": "nobody"}, "voice", 404),
])
def test_bad_fields_are_named(server, body, field, status):
    r = post(server, body)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field and r.json()["error"]["param"] == field


def test_malformed_json_and_oversized_body(server):
    r = post(server, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["field"] == "body"
    r = post(server, content=b"[1, 2]")
    assert r.status_code == 400 and r.json()["field"] == "body"
    r = post(server, content=b"x" * 70_000)
    assert r.status_code == 413


@pytest.mark.parametrize("params,field,status", [
    ({"text": "你好", "text_lang": "ja"}, "text_lang", 400),
    ({"text_lang": "zh"}, "text", 400),
    ({"text": "你好", "ref_audio_path": "/etc/passwd"}, "ref_audio_path", 404),
    ({"text": "你好", "media_type": "aac"}, "media_type", 400),
    ({"text": "你好", "streaming_mode": "often"}, "streaming_mode", 400),
    ({"text": "你好", "speed_factor": "0"}, "speed_factor", 400),
])
def test_api_v2_fields(server, params, field, status):
    r = httpx.get(f"{server.url}/tts", params=params, headers=server.headers, timeout=60)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field


def test_ref_audio_path_is_never_read(server, tmp_path):
    """A caller's path is a voice id or nothing: even a real reference file is refused."""
    wav = tmp_path / "someone.wav"
    wav.write_bytes(b"RIFF")
    r = httpx.post(f"{server.url}/tts", json={"text": "你好", "text_lang": "zh", "ref_audio_path": str(wav)},
                   headers=server.headers, timeout=60)
    assert r.status_code == 404 and "never read" in r.json()["message"]


def test_token_file_is_the_users_alone(server, service_env):
    env, _, _ = service_env
    path = os.path.join(env["VOICEBANK_CONFIG"], "service-token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(server.token) >= 40


def test_checks_themselves():
    assert token_ok("Bearer abc" + "x" * 40, "abc" + "x" * 40) and not token_ok("Bearer abd", "abc")
    assert host_ok("127.0.0.1:9880") and host_ok("localhost") and host_ok("[::1]:80")
    assert not host_ok("localhost.evil.com") and not host_ok(None) and not host_ok("")
    assert origin_ok(None) and origin_ok("http://127.0.0.1:9880") and not origin_ok("http://127.0.0.2")
    limit = RateLimit(60, 2)
    assert limit.take() == 0 and limit.take() == 0 and limit.take() > 0


def test_nothing_said_is_logged(server):
    post(server, {"input": "秘密的话", "voice": "nobody"})
    r = post(server, {"input": "你好世界。"})
    assert r.status_code == 200
    for _ in range(50):         # the line is written once the answer has gone out
        if any("/v1/audio/speech" in line for line in server.lines):
            break
        time.sleep(0.1)
    assert any("/v1/audio/speech: done" in line for line in server.lines)
    assert not any("秘密" in line or "你好世界" in line for line in server.lines)
