"""A stand-in worker for the Build page tests: speaks protocol v1 and plays a script.

STUB_SCENARIO chooses what a `build` (or `zero_shot`) job does:
  ok    features -> sovits -> gpt -> export progress, then a voice folder and a result
  fail  one progress step, then an error event with a message for the user
  slow  sovits steps every 50 ms (loss, eta) until cancelled, then `cancelled`
  die   one progress step, a line on stderr, then exit 3
A `speak` job writes a short WAV to params.out. Every command received is appended to STUB_LOG.
"""
import json
import os
import sys
import time
import wave
from pathlib import Path

from stub_worker_loop import cancels, emit, serve

SCENARIO = os.environ.get("STUB_SCENARIO", "ok")


def progress(job, stage, step, total, message="", **extra):
    emit(job, "progress", stage=stage, step=step, total=total, message=message, **extra)


def write_wav(path: Path, seconds: float = 0.5, rate: int = 32000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))


def make_voice(params, kind):
    voice = Path(params["bank_root"]) / params["speaker_id"] / "voices" / f"{kind}-stub"
    voice.mkdir(parents=True, exist_ok=True)
    (voice / "voice.ckpt").write_bytes(b"gpt")
    (voice / "voice.pth").write_bytes(b"sovits")
    write_wav(voice / "reference.wav")
    card = {"id": voice.name, "name": "Ada", "kind": kind, "reference_take": None, "reference_text": "你好",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (voice / "voice.json").write_text(json.dumps(card), encoding="utf-8")
    files = {"gpt": str(voice / "voice.ckpt"), "sovits": str(voice / "voice.pth"),
             "reference": str(voice / "reference.wav")}
    return {"voice_dir": str(voice), "card": card, "files": files}


def run(job, kind, params):
    cancel = cancels[job]
    progress(job, "start", 0, 0, f"{kind} started")
    if kind == "speak":
        write_wav(Path(params["out"]))
        progress(job, "speak", 1, 1, params.get("text", ""))
        emit(job, "result", data={"out": params["out"], "seconds": 0.5, "sentences": 1})
        return
    if kind == "likeness":      # the sample vs the speaker's recordings (core.trust.likeness)
        emit(job, "result", data={"similarity": 0.83, "percent": 83, "words": "like you",
                                  "sample": params["sample"], "mine": params.get("mine"), "takes": 4})
        return
    if SCENARIO == "fail":
        progress(job, "features", 1, 4, "reading takes")
        emit(job, "error", code="build_failed",
             message="The graphics card ran out of memory. Close other programs and build again.")
        return
    if SCENARIO == "die":
        progress(job, "features", 1, 4, "reading takes")
        time.sleep(0.1)
        sys.stderr.write("stub: crashing on purpose\n")
        sys.stderr.flush()
        os._exit(3)
    if SCENARIO == "slow":
        progress(job, "features", 4, 4, "features done")
        step = 0
        while not cancel.wait(0.05):
            step += 1
            progress(job, "sovits", min(step, 399), 400, "", epoch=1, loss=round(3.0 - step / 200, 3),
                     eta_s=754.0)
        emit(job, "cancelled", data={"job_dir": "x", "resumable": True})
        return
    if kind == "build":
        plan = [("features", 2), ("sovits", 3), ("gpt", 3), ("export", 1)]
        for stage, total in plan:
            for step in range(1, total + 1):
                progress(job, stage, step, total, f"{stage} {step}", epoch=1, loss=1.0 / step,
                         eta_s=90.0)
                time.sleep(0.01)
    else:
        progress(job, "zero_shot", 1, 1, "first version")
    emit(job, "result", data=make_voice(params, "trained" if kind == "build" else "zero_shot"))


if __name__ == "__main__":
    serve(["build", "speak", "zero_shot"], run)
