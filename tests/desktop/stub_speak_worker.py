"""A stand-in worker for the Speak page tests: speaks protocol v1 and answers `speak` jobs the way
core/worker/speak_jobs.py does, with generated tones instead of a voice.

Each sentence (split at . ! ? 。！？) becomes a short tone, announced by a progress event with
`chunk` = its WAV, then the whole is written to params.out and a result follows.
STUB_SCENARIO: ok (as above), pieces (each sentence in two pieces, numbered), slow (the first sentence, then nothing until cancelled), fail (an
error event with a message for the user), prepare_fail (`prepare_voice` fails; `prepare_voice`
otherwise answers at once; STUB_PREPARE_MESSAGE: its message). Chunks go to STUB_CHUNKS (a folder). Every command received is
appended to STUB_LOG.
"""
import array
import math
import os
import re
import wave
from pathlib import Path

from stub_worker_loop import cancels, emit, serve

SCENARIO = os.environ.get("STUB_SCENARIO", "ok")
CHUNKS = Path(os.environ.get("STUB_CHUNKS", "."))
RATE = 32000


def tone(index: int, seconds: float = 0.2) -> array.array:
    freq = 200.0 + 100.0 * index
    return array.array("h", (int(8000 * math.sin(2 * math.pi * freq * n / RATE)) for n in range(int(seconds * RATE))))


def write_wav(path: Path, samples: array.array) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
    return path


def speak(job, params):
    cancel = cancels[job]
    emit(job, "progress", stage="start", step=0, total=0, message="speak started")
    if SCENARIO == "fail":
        emit(job, "error", code="synthesis_failed",
             message="The reference recording is too short; choose a recording of 3 to 10 seconds.")
        return
    sentences = [s for s in re.split(r"(?<=[.!?。！？])\s*", params["text"]) if s.strip()]
    whole = array.array("h")
    for index, sentence in enumerate(sentences):
        if cancel.is_set():
            emit(job, "cancelled", data={"sentences": index})
            return
        samples = tone(index)
        whole.extend(samples)
        if SCENARIO == "pieces":   # as the engine: sentence n in pieces, numbered across the text
            half = len(samples) // 2
            for part, piece in enumerate([samples[:half], samples[half:]]):
                chunk = write_wav(CHUNKS / job / f"sentence-{index}-{part}.wav", piece)
                emit(job, "progress", stage="speak", step=index + 1, total=len(sentences),
                     message=sentence, chunk=str(chunk), piece=2 * index + part + 1)
            continue
        chunk = write_wav(CHUNKS / job / f"sentence-{index}.wav", samples)
        emit(job, "progress", stage="speak", step=index + 1, total=len(sentences), message=sentence,
             chunk=str(chunk))
        if SCENARIO == "slow":
            cancel.wait()
    write_wav(Path(params["out"]), whole)
    emit(job, "result", data={"out": params["out"], "seconds": len(whole) / RATE, "sentences": len(sentences)})


def prepare_voice(job, params):
    emit(job, "progress", stage="load", step=0, total=1, message="Loading the voice")
    if SCENARIO == "prepare_fail":
        emit(job, "error", code="missing_file",
             message=os.environ.get("STUB_PREPARE_MESSAGE", "The SoVITS voice model (.pth) is missing."))
        return
    emit(job, "result", data={"loaded": True})


if __name__ == "__main__":
    serve(["speak", "prepare_voice"],
          lambda job, kind, params: prepare_voice(job, params) if kind == "prepare_voice" else speak(job, params))
