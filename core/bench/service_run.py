"""The speech service under concurrent callers, on the bench's random models (GPU bench key `service`).

A throw-away bank (one speaker, one voice whose files are the saved random full-size models) and
private config, cache and jobs folders; then `voicebank serve --port 0 --device D` in its own
process, and `core.service.bench.measure` with 1 and 4 concurrent callers (`callers`), each
sending `requests` requests one after another (POST /v1/audio/speech, two sentences, streamed WAV).
The random GPT has no EOS hold-off here (the server is the app's own), so each sentence is capped
at `max_new_tokens` (hidden test flag of `serve`) and may end earlier at a sampled EOS: the figures
are audio seconds made per wall second, not a fixed workload.

Result: {rows: [core.service.bench.Figures.row(): callers, requests, errors, unmarked,
audio_s_per_s, first_audio_p50_s, first_audio_p95_s], start_s (server start to engine ready, the
voice preloaded), max_new_tokens, device, text}.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

__all__ = ["service_bench"]

TEXT = "今天早上的天气非常晴朗。我们打算下午去公园散步。"
ROOT = Path(__file__).resolve().parents[2]


def _bank(root: Path, models: Path) -> Path:
    """A bank whose only speaker has one voice made of the saved random models."""
    from core.bank.store import Bank
    from core.voices.card import VoiceCard

    speaker = Bank(root).create_speaker("Bench", ["zh"])
    folder = Path(speaker.folder) / "voices" / "v-bench"
    folder.mkdir(parents=True)
    for name, source in (("gpt.ckpt", "gpt.ckpt"), ("sovits.pth", "sovits.pth"), ("reference.wav", "ref.wav")):
        try:
            os.link(models / source, folder / name)     # no copy of hundreds of MB where it can be helped
        except OSError:
            shutil.copy(models / source, folder / name)
    card = VoiceCard(id="v-bench", name="Bench", kind="fine-tuned", base_model="v2 (random weights)",
                     data_minutes=1.0, takes=15, sovits_steps=0, gpt_steps=0, created="2026-01-01T00:00:00",
                     reference_take="t0", reference_text="参考音频里说的话。", device="bench", precision="fp32")
    (folder / "voice.json").write_text(json.dumps(asdict(card)), encoding="utf-8")
    return root


def _health(port: int, token: str) -> dict[str, Any]:
    """GET /health; {} while the server is not accepting connections yet."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/health", headers={"Authorization": f"Bearer {token}"})
        return json.loads(conn.getresponse().read())
    except (ConnectionError, http.client.HTTPException, ValueError):
        return {}
    finally:
        conn.close()


def service_bench(models: Path, device: str = "cuda", smoke: bool = False, callers: tuple[int, ...] = (1, 4),
                  requests: int | None = None, start_timeout: float = 240.0,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    from core.engine.features import BERT_NAME, HUBERT_NAME
    from core.service.bench import measure

    say = log or (lambda s: None)
    requests = requests or (1 if smoke else 3)
    max_new = 8 if smoke else 100
    with tempfile.TemporaryDirectory(prefix="voicebank-service-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "VOICEBANK_HOME": str(work / "bank"), "VOICEBANK_CONFIG": str(work / "config"),
               "VOICEBANK_MODELS": str(work / "models"), "VOICEBANK_JOBS": str(work / "jobs"),
               "VOICEBANK_CACHE": str(work / "cache"), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        env.pop("QT_QPA_PLATFORM", None)
        _bank(work / "bank", models)          # where serve reads it: VOICEBANK_HOME above
        cmd = [sys.executable, "-u", "-m", "voicebank.cli", "serve", "--port", "0", "--device", device,
               "--max-new-tokens", str(max_new), "--max-queue", "64", "--rate", "100000",
               "--hubert", str(models / HUBERT_NAME), "--bert", str(models / BERT_NAME)]
        if smoke:
            cmd.append("--plain")       # the CPU levers' load-time gates are not what this measures
        if device == "cpu":             # --plain leaves torch's thread default: use the app's pick
            from core.runtime.threads import pick_threads

            env["OMP_NUM_THREADS"] = str(pick_threads().threads)
        say("starting voicebank serve")
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(line.rstrip() for line in proc.stderr), daemon=True).start()
        try:
            first = proc.stdout.readline()
            if "listening on " not in first:
                raise RuntimeError(f"serve did not start: {first!r} {' | '.join(lines[-8:])}")
            port = int(first.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
            threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()   # never a full pipe
            token = (work / "config" / "service-token").read_text().strip()
            deadline = time.monotonic() + start_timeout
            while _health(port, token).get("engine") != "ready":
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the service's engine did not get ready: " + " | ".join(lines[-8:]))
                time.sleep(0.2)
            res: dict[str, Any] = {"start_s": round(time.perf_counter() - t0, 2), "max_new_tokens": max_new,
                                   "device": device, "text": TEXT, "rows": []}
            for n in callers:
                say(f"service: {n} callers x {requests} requests")
                figures = measure(port, token, n, requests, TEXT)
                if figures.errors and len(figures.errors) == figures.requests:
                    raise RuntimeError(f"every request failed, e.g. {figures.errors[0]} | " + " | ".join(lines[-5:]))
                res["rows"].append({**figures.row(), "error_examples": figures.errors[:3]})
            return res
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
