"""A real `voicebank serve` on tiny models: a bank with one speaker and one voice (the tiny
reference GPT and SoVITS), the tiny feature models, a private config folder (the token) and
jobs folder; the server runs as its own process and is driven over HTTP with httpx."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from tests.core.engine.conftest import gpt_ckpt, sovits_pth, tiny_bert, tiny_hubert  # noqa: F401
from tests.core.speak import make_voice
from tests.testsignals import speech_like

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 120.0


def make_bank(root: Path, gpt: Path, sovits: Path, ref: Path):
    """(bank folder, speaker, voice id) with the tiny models as the voice's files."""
    from core.bank.store import Bank

    speaker = Bank(root).create_speaker("Ada", ["zh", "en"])
    folder = make_voice(speaker, "v-1", files=())
    shutil.copy(gpt, folder / "gpt.ckpt")
    shutil.copy(sovits, folder / "sovits.pth")
    shutil.copy(ref, folder / "reference.wav")
    return root, speaker, "v-1"


TEST_ARGS = ("--plain", "--max-new-tokens", "30")      # the exact path, short sentences


class Server:
    """`python -m voicebank.cli serve` in its own process; `url`, `token`, `lines` (stderr).
    `base`: the arguments before `extra` (the tests' own, unless told)."""

    def __init__(self, env: dict, *extra: str, port: int = 0, base: tuple[str, ...] = TEST_ARGS,
                 start_timeout: float = START_TIMEOUT):
        self.env, self.start_timeout = env, start_timeout
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "voicebank.cli", "serve", "--port", str(port), *base, *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        first = self.proc.stdout.readline()
        assert "listening on" in first, f"{first!r} {self.proc.poll()} {self.lines[-5:]}"
        self.url = first.split("listening on ")[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.token = (Path(env["VOICEBANK_CONFIG"]) / "service-token").read_text().strip()
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.wait_ready()

    def _pump(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def health(self) -> dict:
        import httpx
        return httpx.get(f"{self.url}/health", headers=self.headers, timeout=10).json()

    def wait_ready(self, starts: int = 1) -> dict:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            state = self.health()
            if state["engine"] == "ready" and state["engine_starts"] >= starts:
                return state
            time.sleep(0.2)
        raise AssertionError(f"the engine did not start: {self.lines[-10:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="package")
def service_env(tmp_path_factory, gpt_ckpt, sovits_pth, tiny_hubert, tiny_bert):  # noqa: F811
    root = tmp_path_factory.mktemp("service")
    ref = root / "ref.wav"
    sf.write(ref, speech_like(5.0, 48000, seed=3), 48000, subtype="PCM_16")
    bank, speaker, voice = make_bank(root / "bank", gpt_ckpt, sovits_pth, ref)
    models = root / "models"
    models.mkdir()
    (models / "chinese-hubert-base").symlink_to(tiny_hubert)
    (models / "chinese-roberta-wwm-ext-large").symlink_to(tiny_bert)
    env = {**os.environ, "VOICEBANK_HOME": str(bank), "VOICEBANK_CONFIG": str(root / "config"),
           "VOICEBANK_MODELS": str(models), "VOICEBANK_JOBS": str(root / "jobs"),
           "VOICEBANK_CACHE": str(root / "cache"), "PYTHONPATH": str(ROOT)}
    env.pop("QT_QPA_PLATFORM", None)
    return env, speaker, voice


@pytest.fixture(scope="package")
def server(service_env):
    env, _, _ = service_env
    s = Server(env, "--max-queue", "20")
    yield s
    s.stop()
