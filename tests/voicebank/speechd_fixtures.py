"""A fake speech service (real HTTP on 127.0.0.1) and a private speech-dispatcher, for the
system voice's tests."""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOKEN = "t" * 43
RATE = 24000
AMPLITUDE = 10000


def tone(seconds: float) -> bytes:
    n = int(RATE * seconds)
    return struct.pack(f"<{n}h", *(int(AMPLITUDE * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(n)))


def wav(pcm: bytes, length: int | None = None) -> bytes:
    size = len(pcm) if length is None else length
    return (b"RIFF" + struct.pack("<I", min(36 + size, 0xFFFFFFFF)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16) + b"data" + struct.pack("<I", size))


class FakeService:
    """Records each request; answers a short WAV, or (slow=True) streams a tone for `slow_s`
    seconds in small chunked pieces and notes when the client goes away."""

    def __init__(self):
        self.requests: list[dict] = []
        self.disconnects = 0
        self.slow = False
        self.slow_s = 10.0
        self.got = threading.Event()
        self.gone = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                      "body": body})
                fake.got.set()
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    data = json.dumps({"message": "wrong token"}).encode()
                    self.send_response(401)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if not fake.slow:
                    pcm = tone(0.2)
                    data = wav(pcm) + pcm
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/wav")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                piece = tone(0.05)
                try:
                    self._chunk(wav(b"", 0xFFFFFFFF - 36))
                    end = time.monotonic() + fake.slow_s
                    while time.monotonic() < end:
                        self._chunk(piece)
                        time.sleep(0.05)
                    self._chunk(b"")
                except OSError:
                    fake.disconnects += 1
                    fake.gone.set()

            def _chunk(self, data: bytes):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def have_speechd() -> str | None:
    """None when speech-dispatcher and spd-say are installed, else why the test is skipped."""
    missing = [p for p in ("speech-dispatcher", "spd-say") if shutil.which(p) is None]
    if missing:
        return (f"{' and '.join(missing)} not installed (apt-get install speech-dispatcher; "
                "installers/setup.sh --test does)")
    return None


class Speechd:
    """speech-dispatcher for this test alone: its own config, runtime folder and socket; ALSA's
    null device for its audio; a fake `aplay` (its $PLAY_COMMAND) that keeps what it is given."""

    def __init__(self, root: Path):
        self.root = root
        self.home, self.config, self.run = root / "home", root / "config", root / "run"
        self.bin, self.played, self.logs = root / "bin", root / "played", root / "logs"
        for d in (self.home, self.config, self.run, self.bin, self.played, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run, 0o700)
        (self.home / ".asoundrc").write_text("pcm.!default { type null }\n")
        for name in ("aplay", "paplay", "play"):
            player = self.bin / name
            player.write_text(f'#!/bin/sh\ncat > "{self.played}/$$.part" && mv "{self.played}/$$.part" '
                              f'"{self.played}/$$.wav"\n')
            player.chmod(0o755)
        self.socket = root / "run" / "speechd.sock"
        self.proc: subprocess.Popen | None = None

    @property
    def user_dir(self) -> Path:
        return self.config / "speech-dispatcher"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.config), XDG_RUNTIME_DIR=str(self.run),
                   PATH=f"{self.bin}:{env.get('PATH', '/usr/bin:/bin')}",
                   SPEECHD_ADDRESS=f"unix_socket:{self.socket}", LANG="C.UTF-8")
        env.pop("VOICEBANK_CONFIG", None)      # the module file names the folder itself
        return env

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["speech-dispatcher", "-s", "-t", "0", "-c", "unix_socket", "-S", str(self.socket),
             "-L", str(self.logs), "-P", str(self.root / "speechd.pid"), "-l", "4"],
            env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.socket.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(str(self.socket))
                    return
                except OSError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"speech-dispatcher did not start; its log:\n{self.log()}")

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=3)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)
        self.proc = None

    def spd_say(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["spd-say", *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout)

    def ssip(self, *commands: str, pause_s: float = 0.0) -> list[str]:
        """Speak SSIP (speech-dispatcher's client protocol) directly; returns each reply line."""
        replies = []
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket))
            f = s.makefile("rwb", buffering=0)
            for command in commands:
                if command.startswith("sleep "):
                    time.sleep(float(command.split()[1]))
                    continue
                f.write(command.replace("\n", "\r\n").encode("utf-8") + b"\r\n")
                while True:
                    line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
                    if not line:
                        raise RuntimeError(f"speech-dispatcher closed the connection after {command!r}")
                    if line[3:4] == " ":
                        replies.append(line)
                        break
        return replies
