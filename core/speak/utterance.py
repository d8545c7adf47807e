"""What saying a text means, decided without Qt: the user's own recording of it, a saved phrase's
cached audio, a new `speak` job for the worker, or a problem to show (with what to do).

The user's own recording is played only when it can be used (core.speak.messages): one graded red
or whose file is gone is passed over, and the text is said in the built voice with a `notice`
that says why and how to record it again; with no voice to say it, that is the problem shown.

The Speak page asks `plan_utterance` and acts on the answer; the order of the checks is the order
a person would want: their own voice first, then audio already made, then synthesis.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from core.speak.dictionary import dictionary_path, dictionary_stamp, load_dictionary, with_readings
from core.speak.history import History
from core.speak.messages import match_recording
from core.speak.phrases import Phrase, PhraseBook, cache_key, phrase_text
from core.speak.voices import SpeakVoice
from core.text.userdict import UserDictError

OWN_RECORDING = "own recording"     # the history's voice for the user's own recorded messages


@dataclass(frozen=True)
class Utterance:
    kind: Literal["own", "cached", "job", "problem"]
    text: str
    audio: Path | None = None       # own recording, cached phrase audio, or where the job writes
    voice_id: str = ""              # as the history records it
    voice_label: str = ""
    params: dict[str, Any] = field(default_factory=dict)    # the `speak` job's params
    key: str | None = None          # phrase cache key to keep the job's audio under
    message: str = ""               # a problem's words for the banner
    severity: str = ""              # a problem's banner level: "warning" or "error"
    notice: str = ""                # said anyway, but the banner should say this (as a warning)
    message_id: str = ""            # the recorded message this text matched, if any

    @property
    def status(self) -> str:
        """The page's status line once this is under way ("" for a problem: the banner says it)."""
        if self.kind == "own":
            return f"● Your own recording: “{self.text}”"
        if self.kind == "cached":
            return f"Saved phrase, in {self.voice_label}: “{self.text}”"
        return "Making the speech…" if self.kind == "job" else ""


def is_saved_phrase(text: str, phrases: list[Phrase]) -> bool:
    text = phrase_text(text)
    return any(p.text == text for p in phrases)


def _problem(text: str, message: str, severity: str) -> Utterance:
    return Utterance("problem", text, message=message, severity=severity)


def plan_utterance(speaker, text: str, voice: SpeakVoice | None, speed: float, is_phrase: bool,
                   phrase_book: PhraseBook, history: History,
                   readings: dict[str, str] | None = None) -> Utterance:
    """Decide how to say `text`. For a job this reserves its output path in `history`.
    `readings`: a saved phrase's own readings, over the pronunciation dictionary."""
    own = match_recording(speaker, text)
    if own is not None and own.usable:
        return Utterance("own", text, audio=own.audio, voice_id=OWN_RECORDING, message_id=own.message.id)
    notice = own.unusable_sentence() if own is not None else ""
    if voice is None:
        if own is not None:
            return replace(_problem(text, f"{notice} There is no built voice yet to say it instead.",
                                    "warning"), message_id=own.message.id)
        return _problem(text, "There is no voice to speak with yet. Build one on the Build page "
                        "(Ctrl+5). Messages you recorded yourself play already.", "warning")
    planned = _plan_voice(speaker, text, voice, speed, is_phrase, phrase_book, history, readings)
    if own is None:
        return planned
    if planned.kind == "problem":
        return replace(planned, message=f"{notice} {planned.message}", message_id=own.message.id)
    return replace(planned, notice=f"{notice} Until then it is said in the voice “{voice.label}”.",
                   message_id=own.message.id)


def _plan_voice(speaker, text: str, voice: SpeakVoice, speed: float, is_phrase: bool,
                phrase_book: PhraseBook, history: History, readings: dict[str, str] | None = None) -> Utterance:
    missing = voice.missing()
    if missing:
        return _problem(text, f"The voice “{voice.label}” is missing {missing[0].name}. Build it "
                        "again (Ctrl+5) or choose another voice.", "error")
    try:
        userdict = with_readings(load_dictionary(speaker.folder), readings)
        stamp = dictionary_stamp(userdict)
    except UserDictError as exc:
        return _problem(text, f"The pronunciation dictionary cannot be used: {exc} Open it with "
                        "Ctrl+D and fix or remove that word.", "error")
    speed = round(speed, 2)
    key = cache_key(voice.cache_key, text, speed, stamp) if is_phrase else None
    cached = phrase_book.cached(key) if key else None
    if cached is not None:
        return Utterance("cached", text, audio=cached, voice_id=voice.id, voice_label=voice.label, key=key)
    out = history.new_audio_path()
    params = {**voice.job_params(), "text": text, "options": {"speed": speed}, "out": str(out)}
    if readings and len(userdict):
        params["userdict"] = userdict.entries()     # the phrase's own readings on top
    elif dictionary_path(speaker.folder).exists():
        params["userdict"] = str(dictionary_path(speaker.folder))
    return Utterance("job", text, audio=out, voice_id=voice.id, voice_label=voice.label, params=params, key=key)


def keep_said(utterance: Utterance, audio: Path, history: History, phrase_book: PhraseBook) -> None:
    """Remember what was said, with its `audio`: the user's own recording by reference, cached
    phrase audio as a copy (a later prune may delete the cache), a job's audio as written and, for
    a saved phrase, in the phrase cache too. Raises OSError when the disk refuses."""
    if utterance.kind != "job":
        history.add(utterance.text, audio, utterance.voice_id, own=utterance.kind == "own",
                    copy=utterance.kind == "cached")
        return
    history.add(utterance.text, audio, utterance.voice_id)
    if utterance.key:
        phrase_book.store(utterance.key, audio)
