"""Helpers for smoke_test.sh, run with the development venv's python (never inside the bundle).

    python installers/smoke_driver.py prepare DIR      test input WAV, tiny models, a voice package
    python installers/smoke_driver.py worker BUNDLE DIR  drive `BUNDLE --worker` over its protocol
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TINY = Path(os.environ.get("VOICEBANK_TINY_MODELS", ROOT.parent / "shared/reference/gpt-sovits-v2"))
TEXT = "你好世界，今天天气很好。"
REF_TEXT = "参考音频里说的话"


def prepare(work: Path) -> None:
    import soundfile as sf

    from tests.core.engine.conftest import TEST_CHARS
    from tests.testsignals import speech_like
    from tests.tinymodels import make_tiny_bert, make_tiny_hubert

    for name in ("s1_tiny.ckpt", "s2G_tiny.pth"):
        if not (TINY / name).is_file():
            raise SystemExit(f"tiny model {TINY / name} not found; set VOICEBANK_TINY_MODELS")
        shutil.copy(TINY / name, work / name)
    sf.write(work / "mic.wav", speech_like(3.0, 48000, seed=1), 48000, subtype="PCM_16")
    sf.write(work / "ref.wav", speech_like(5.0, 48000, seed=3), 48000, subtype="PCM_16")
    make_tiny_hubert(work / "chinese-hubert-base")
    make_tiny_bert(work / "chinese-roberta-wwm-ext-large", TEST_CHARS)

    # A voice exported by the development tree, for the bundle to import.
    from core.bank.store import Bank
    from core.voices.export import export_voice
    from tests.core.voices.conftest import make_voice

    speaker = Bank(work / "source-bank").create_speaker("Smoke", ["zh"])
    voice = make_voice(speaker, "v-smoke")
    shutil.copy(work / "s1_tiny.ckpt", voice / "gpt.ckpt")
    shutil.copy(work / "s2G_tiny.pth", voice / "sovits.pth")
    export_voice(voice, work / "smoke.voicebank")
    print(f"prepared {work}")


def worker(bundle: str, work: Path) -> None:
    """ping, a selftest job and a speak job with the tiny models, then shutdown."""
    proc = subprocess.Popen([bundle, "--worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1)

    def send(msg: dict) -> None:
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()

    def until(kind: str, job: str | None = None, timeout: float = 300) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"the worker exited (status {proc.wait()}) before {kind}")
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("type") == "error" or event.get("type") == "cancelled":
                raise SystemExit(f"worker: {event}")
            if event.get("type") == kind and (job is None or event.get("job") == job):
                return event
        raise SystemExit(f"no {kind} from the worker within {timeout} s")

    ready = until("ready", timeout=120)
    print(f"worker ready: pid {ready.get('pid')}, kinds {ready.get('kinds')}")
    send({"v": 1, "cmd": "ping"})
    until("pong")
    send({"v": 1, "cmd": "run", "job": "smoke-selftest", "kind": "selftest", "params": {"steps": 3}})
    print("worker selftest:", until("result", "smoke-selftest")["data"])
    out = work / "worker-speech.wav"
    send({"v": 1, "cmd": "run", "job": "smoke-speak", "kind": "speak", "params": {
        "text": TEXT, "reference": str(work / "ref.wav"), "reference_text": REF_TEXT,
        "gpt": str(work / "s1_tiny.ckpt"), "sovits": str(work / "s2G_tiny.pth"),
        "hubert": str(work / "chinese-hubert-base"), "bert": str(work / "chinese-roberta-wwm-ext-large"),
        "options": {"max_new_tokens": 12, "seed": 1}, "out": str(out)}})
    data = until("result", "smoke-speak")["data"]
    print("worker speak:", data)
    send({"v": 1, "cmd": "shutdown"})
    proc.wait(timeout=60)
    if not out.is_file() or data.get("seconds", 0) <= 0:
        raise SystemExit("the worker's speech file is missing or empty")


if __name__ == "__main__":
    if sys.argv[1:2] == ["prepare"]:
        prepare(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["worker"]:
        worker(sys.argv[2], Path(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
