"""`python -m core.service.bench`: how a running `voicebank serve` holds up under concurrent callers.

    python -m core.service.bench [--port 9880] [--callers 1,2,4,8] [--requests 4] [--check]

For each number of callers, that many threads each send `--requests` requests one after another
(POST /v1/audio/speech, streamed WAV) and the figures are printed: aggregate audio seconds made
per wall-clock second, and the time to the first audio byte (p50, p95). `--check` also tells
every answer's watermark (core.watermark.detect) and counts the answers without one. The token is
read from the config folder, as any local program would. Only the standard library speaks HTTP
here, so the bench needs nothing the app does not have.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

TEXT = "你好世界，今天天气很好。Hello world, this is a test!"
HEADER = 44


@dataclass
class Figures:
    callers: int
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    unmarked: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    first_audio_s: list[float] = field(default_factory=list)

    def row(self) -> dict:
        firsts = sorted(self.first_audio_s) or [float("nan")]
        p95 = firsts[min(len(firsts) - 1, int(round(0.95 * (len(firsts) - 1))))]
        return {"callers": self.callers, "requests": self.requests, "errors": len(self.errors),
                "unmarked": self.unmarked, "audio_s_per_s": round(self.audio_s / self.wall_s, 3) if self.wall_s else 0,
                "first_audio_p50_s": round(statistics.median(firsts), 3), "first_audio_p95_s": round(p95, 3)}


def one_request(port: int, token: str, text: str, check: bool, timeout: float = 300) -> tuple[float, np.ndarray]:
    """(seconds to the first audio byte, the audio); raises RuntimeError for an answer not 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        t0 = time.perf_counter()
        conn.request("POST", "/v1/audio/speech", json.dumps({"input": text, "response_format": "wav"}),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {response.read()[:200]!r}")
        data, first = b"", None
        while chunk := response.read1(65536):
            data += chunk
            if first is None and len(data) > HEADER:
                first = time.perf_counter() - t0
        audio = np.frombuffer(data[HEADER:len(data) - (len(data) - HEADER) % 2], "<i2").astype(np.float32) / 32767
        return (first if first is not None else time.perf_counter() - t0), audio
    finally:
        conn.close()


def measure(port: int, token: str, callers: int, requests: int, text: str = TEXT, check: bool = False) -> Figures:
    figures = Figures(callers)
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(requests):
            try:
                first, audio = one_request(port, token, text, check)
            except (OSError, RuntimeError, http.client.HTTPException) as exc:
                with lock:
                    figures.requests += 1
                    figures.errors.append(str(exc))
                continue
            marked = True
            if check:
                from core.watermark import detect
                marked = detect(audio, 32000).found
            with lock:
                figures.requests += 1
                figures.audio_s += len(audio) / 32000
                figures.first_audio_s.append(first)
                figures.unmarked += not marked

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figures.wall_s = time.perf_counter() - t0
    return figures


def main(argv: list[str] | None = None) -> int:
    from core.service.cli import DEFAULT_PORT
    from core.service.security import token_path

    p = argparse.ArgumentParser(prog="python -m core.service.bench", description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--callers", default="1,2,4,8", help="numbers of concurrent callers, comma-separated")
    p.add_argument("--requests", type=int, default=4, help="requests per caller")
    p.add_argument("--text", default=TEXT)
    p.add_argument("--check", action="store_true", help="check every answer's watermark")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        token = token_path().read_text(encoding="ascii").strip()
    except OSError:
        print(f"No token at {token_path()}: start `voicebank serve` first.", file=sys.stderr)
        return 1
    rows = []
    for n in (int(x) for x in args.callers.split(",")):
        row = measure(args.port, token, n, args.requests, args.text, args.check).row()
        rows.append(row)
        if not args.json:
            print(f"{row['callers']:>2} callers: {row['requests']} requests, {row['errors']} errors, "
                  f"{row['unmarked']} unmarked; {row['audio_s_per_s']:.2f} audio s/s; first audio "
                  f"p50 {row['first_audio_p50_s']:.2f} s, p95 {row['first_audio_p95_s']:.2f} s", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 1 if any(r["errors"] or r["unmarked"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
