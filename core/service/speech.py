"""What a service request says, decided exactly as on the Speak page, and the audio formats.

`decide` asks `core.speak.utterance.plan_utterance` (the person's own recorded message first,
then a saved phrase's cached audio, then synthesis with the pronunciation dictionary and the
phrase's own readings); nothing of that decision is repeated here. The service keeps no history
of what other programs said: the job's output path only names the phrase cache's copy.
"""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.audio import wavstream
from core.speak.phrases import PhraseBook
from core.speak.utterance import Utterance, is_saved_phrase, plan_utterance
from core.speak.voices import SpeakVoice, speak_voices

RATE = 32_000           # the engine's rate; other rates are resampled from it


class RequestError(Exception):
    """An answer other than audio: HTTP status, words, and the request field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers or {}


class _NoHistory:
    """plan_utterance reserves an output path in the Speak page's history; the service keeps none."""

    def __init__(self, folder: Path):
        self.folder = folder

    def new_audio_path(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{uuid.uuid4().hex}.wav"


def voice_list(speaker) -> list[SpeakVoice]:
    return speak_voices(speaker)


NO_VOICE = ("There is no voice to speak with yet: build one in the app (Build page). Messages "
            "the person recorded themselves can be said already.")


def find_voice(speaker, voice_id: str | None, default_id: str | None, field: str = "voice") -> SpeakVoice | None:
    """The voice a request names by id (never a file path); none named: the default or newest,
    or None when there is no voice yet (the person's own recorded messages still play)."""
    voices = voice_list(speaker)
    wanted = voice_id or default_id
    if not wanted:
        return voices[0] if voices else None
    for voice in voices:
        if voice.id == wanted:
            return voice
    raise RequestError(404, f"There is no voice {str(wanted)[:80]!r}. Voices are named by their id "
                       "(GET /voices lists them); files are never read from a request.", field)


def decide(speaker, text: str, voice: SpeakVoice | None, speed: float, scratch: Path,
           voice_field: str = "voice", cache: bool = True) -> Utterance:
    """`cache`: a saved phrase may come from (and go to) the phrase cache; False when the request
    sets its own sampling, so its audio is made anew (the person's own recordings still play)."""
    book = PhraseBook(Path(speaker.folder))
    phrase = book.find(text)
    plan = plan_utterance(speaker, text, voice, speed, cache and is_saved_phrase(text, book.phrases()), book,
                          _NoHistory(scratch), phrase.readings if phrase else None)
    if plan.kind == "problem" and voice is None:       # as on the Speak page: own messages only
        raise RequestError(404, NO_VOICE, voice_field)
    if plan.kind == "problem":
        raise RequestError(409, plan.message)
    return plan


def engine_spec(plan: Utterance) -> dict:
    p = plan.params
    return {"text": plan.text, "gpt": p["gpt"], "sovits": p["sovits"], "reference": p["reference"],
            "reference_text": p.get("reference_text"), "userdict": p.get("userdict"),
            "speed": p.get("options", {}).get("speed", 1.0)}


def read_file_audio(path: Path) -> np.ndarray:
    """An own recording or a cached phrase, as float32 at RATE."""
    from core.audio.io import read_audio, resample
    clip = read_audio(path)
    return np.asarray(resample(clip.samples, clip.sample_rate, RATE), np.float32)


def keep_phrase(plan: Utterance, audio: np.ndarray, book_folder: Path) -> None:
    """A saved phrase made by the engine goes into the phrase cache, as the Speak page keeps it."""
    if not plan.key or plan.audio is None:
        return
    from core.audio.io import write_wav
    try:
        write_wav(plan.audio, audio, RATE)
        PhraseBook(book_folder).store(plan.key, plan.audio)
    except OSError:
        pass                        # it is simply made again next time
    finally:
        plan.audio.unlink(missing_ok=True)


# formats -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    rate: int
    streams: bool           # can be sent sentence by sentence


FORMATS = {
    "wav": Format("wav", "audio/wav", RATE, True),
    "pcm": Format("pcm", "audio/pcm", 24_000, True),       # OpenAI's: 24 kHz 16-bit mono
    "raw": Format("raw", "audio/pcm", RATE, True),         # api_v2's: 32 kHz 16-bit mono
    "flac": Format("flac", "audio/flac", RATE, False),
    "opus": Format("opus", "audio/ogg", 48_000, False),    # Ogg Opus (48 kHz)
    "ogg": Format("ogg", "audio/ogg", RATE, False),        # Ogg Vorbis, as api_v2
}


def _pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def wav_header(rate: int, data_bytes: int = 0xFFFFFFFF - 36) -> bytes:
    """A 16-bit mono WAV header; the default length means "until the stream ends"."""
    return wavstream.wav_header(rate, 0, data_bytes=data_bytes)


class Encoder:
    """Audio at RATE in, the format's bytes out: `start()`, `chunk()` per sentence, `end()`."""

    def __init__(self, fmt: Format, streaming: bool):
        self.fmt, self.streaming = fmt, streaming and fmt.streams
        self._parts: list[np.ndarray] = []

    def _at_rate(self, audio: np.ndarray) -> np.ndarray:
        if self.fmt.rate == RATE:
            return audio
        from core.audio.io import resample
        return np.asarray(resample(audio, RATE, self.fmt.rate), np.float32)

    def start(self) -> bytes:
        return wav_header(self.fmt.rate) if self.streaming and self.fmt.name == "wav" else b""

    def chunk(self, audio: np.ndarray) -> bytes:
        if self.streaming:
            return _pcm16(self._at_rate(audio))
        self._parts.append(audio)
        return b""

    def end(self) -> bytes:
        if self.streaming:
            return b""
        audio = self._at_rate(np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32))
        if self.fmt.name in ("pcm", "raw"):
            return _pcm16(audio)
        if self.fmt.name == "wav":
            return wav_header(self.fmt.rate, 2 * len(audio)) + _pcm16(audio)
        import soundfile as sf
        out = io.BytesIO()
        kind = {"flac": ("FLAC", "PCM_16"), "opus": ("OGG", "OPUS"), "ogg": ("OGG", "VORBIS")}[self.fmt.name]
        sf.write(out, audio, self.fmt.rate, format=kind[0], subtype=kind[1])
        return out.getvalue()
