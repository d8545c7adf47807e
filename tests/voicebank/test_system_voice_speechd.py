"""The system voice on Linux, end to end with the real speech-dispatcher: `voicebank system-voice
install` writes the module into a private config, a private speech-dispatcher runs it, `spd-say -o
voicebank` speaks, and the words reach a fake service over real HTTP through the real client."""
from __future__ import annotations

import array
import os
import re
import time
import struct
from pathlib import Path

import pytest

from tests.voicebank.speechd_fixtures import AMPLITUDE, TOKEN, FakeService, Speechd, have_speechd
from voicebank import system_voice

pytestmark = pytest.mark.skipif(have_speechd() is not None, reason=have_speechd() or "")


@pytest.fixture
def service():
    fake = FakeService()
    yield fake
    fake.close()


@pytest.fixture
def speechd(tmp_path, service, monkeypatch):
    sd = Speechd(tmp_path / "sd")
    token_dir = tmp_path / "voicebank-config"
    token_dir.mkdir()
    (token_dir / "service-token").write_text(TOKEN + "\n")
    monkeypatch.setenv("HOME", str(sd.home))
    system_voice.install(token_dir, port=service.port, user_dir=sd.user_dir)
    with open(sd.user_dir / "speechd.conf", "a") as f:          # the person's own setting, kept
        f.write('AudioOutputMethod "alsa"\n')
    sd.start()
    yield sd
    sd.stop()


def _wait(condition, seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _clients(sd: Speechd) -> list[int]:
    """Our client processes still alive (found by their --config, which is this test's own)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
                state = (proc / "stat").read_text().split(") ", 1)[1][0]
            except OSError:
                continue
            if b"say_client.py" in cmd and str(sd.root.parent).encode() in cmd and state != "Z":
                pids.append(int(proc.name))
    return pids


def test_spd_say_speaks_through_the_service(speechd, service):
    listed = speechd.spd_say("-O")
    assert "voicebank" in listed.stdout.split(), listed.stdout
    if any("sd_espeak-ng" in p.name for p in Path("/usr/lib/speech-dispatcher-modules").glob("sd_*")):
        assert "espeak-ng" in listed.stdout.split()          # the modules it found itself stay

    said = speechd.spd_say("-w", "-o", "voicebank", "-r", "50", "-i", "-20", "-l", "zh",
                           "你好, it's me. 我的声音 $HOME")
    assert said.returncode == 0, said.stderr
    assert _wait(lambda: list(speechd.played.glob("*.wav"))), speechd.log()
    (request,) = service.requests
    assert request["path"] == "/v1/audio/speech"
    assert request["auth"] == f"Bearer {TOKEN}"
    body = request["body"]
    assert body["input"] == "你好, it's me. 我的声音 $HOME"          # one message, one request
    assert body["speed"] == pytest.approx(3 ** 0.5, abs=0.01)
    assert body["language"] == "zh"
    assert body["response_format"] == "wav"
    assert "voice" not in body                                     # the service's default voice
    (played,) = speechd.played.glob("*.wav")
    data = played.read_bytes()          # a streamed WAV: its header says "until the end"
    assert data[:4] == b"RIFF" and data[36:40] == b"data"
    assert struct.unpack("<HI", data[22:28]) == (1, 24000)
    samples = array.array("h", data[44:])
    assert len(samples) == int(0.2 * 24000)
    assert max(samples) == pytest.approx(AMPLITUDE * 0.4, rel=0.02)  # volume -20: gain 0.4


def test_english_and_default_rate(speechd, service):
    said = speechd.spd_say("-w", "-o", "voicebank", "-l", "en-US", "Hello there.")
    assert said.returncode == 0
    assert _wait(lambda: service.requests), speechd.log()
    body = service.requests[0]["body"]
    assert (body["input"], body["language"], body["speed"]) == ("Hello there.", "en", 1.0)


def test_stop_kills_the_client_and_the_connection_closes(speechd, service):
    service.slow = True
    speechd.spd_say("-o", "voicebank", "A long text that takes ten seconds to say.")
    assert service.got.wait(15), speechd.log()
    assert _wait(lambda: _clients(speechd), 5)
    time.sleep(0.3)
    started = time.monotonic()
    speechd.spd_say("-C")                                          # cancel: what Orca does on a key
    assert service.gone.wait(5), "the service never saw the connection close"
    assert time.monotonic() - started < 3
    assert _wait(lambda: not _clients(speechd), 5), "the client outlived stop"


def test_pause_and_resume(speechd, service):
    """Generic modules pause after the message being spoken; resume says it again from the start
    (speech-dispatcher 0.11 resends it as SSML with its punctuation lost: the client cleans it)."""
    service.slow, service.slow_s = True, 1.5
    replies = speechd.ssip("SET SELF CLIENT_NAME test:voicebank:main", "SET SELF OUTPUT_MODULE voicebank",
                           "SPEAK", "First sentence. Second one.\n.", "sleep 0.7", "PAUSE ALL",
                           "sleep 2.5", "RESUME ALL", "sleep 4", "QUIT")
    assert replies[4].startswith("211") and replies[5].startswith("212"), replies
    assert _wait(lambda: len(service.requests) >= 2, 10), speechd.log()
    words = [re.sub(r"[^\w ]", "", r["body"]["input"]).split() for r in service.requests]
    assert words[0] == words[1] == ["First", "sentence", "Second", "one"]


def test_remove_takes_out_only_what_install_put_in(speechd, tmp_path):
    conf = speechd.user_dir / "speechd.conf"
    assert system_voice.installed(speechd.user_dir)
    system_voice.remove(speechd.user_dir)
    text = conf.read_text()
    assert "voicebank" not in text and 'AudioOutputMethod "alsa"' in text
    assert not (speechd.user_dir / "modules" / "voicebank.conf").exists()
    assert os.environ.get("HOME") == str(speechd.home)
