"""Message banking: when the typed text is one of the user's recorded messages, their own
recording is played instead of synthesis, but only a usable one. A take graded red (no speech, far
too quiet, clipped...) or whose file is gone is never played as the person's own words: the
Speak page then says the text in the built voice, and says why and how to record it again.
An unchecked take (the check runs seconds after recording, and again at start-up after a crash)
is played: nothing says yet that it cannot be used.

Texts match after normalising what a person does not mean to distinguish: letter case, runs of
spaces, full-width against half-width characters (，vs ,), Chinese against Western punctuation
(。vs .) and punctuation at the end ("Yes" matches "Yes." and "yes!").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.audio.advice import grade_words, is_unusable, problem_names
from core.bank.prompts import Prompt
from core.bank.store import BankError, Take

# NFKC already folds full-width forms (，！？：；（）) to ASCII; these it leaves alone.
_CJK_PUNCT = str.maketrans({"。": ".", "、": ",", "“": '"', "”": '"', "‘": "'", "’": "'",
                            "《": '"', "》": '"', "「": '"', "」": '"', "『": '"', "』": '"',
                            "【": "(", "】": ")", "～": "~", "—": "-", "–": "-", "…": "..."})
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:)\]\"'])")


def _is_punct(char: str) -> bool:
    return unicodedata.category(char).startswith("P") or char in "~"


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).translate(_CJK_PUNCT).casefold()
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    end = len(text)
    while end and (_is_punct(text[end - 1]) or text[end - 1].isspace()):
        end -= 1
    start = 0
    while start < end and (_is_punct(text[start]) or text[start].isspace()):
        start += 1
    return text[start:end]


@dataclass(frozen=True)
class MessageRecording:
    """One of the user's own messages and the state of its current take."""
    message: Prompt
    take: Take | None
    state: str              # "usable", "unusable", "missing" (file gone) or "none" (not recorded)
    reason: str = ""        # why it cannot be used, a few words ("No speech heard")

    @property
    def usable(self) -> bool:
        return self.state == "usable"

    @property
    def audio(self) -> Path | None:
        """What plays on the Speak page, only when usable."""
        return self.take.best_audio_path() if self.usable and self.take is not None else None

    @property
    def words(self) -> str:
        """The state for a list, in words: "✓ Good", "! Fair (A bit quiet)", "✗ Redo (No speech
        heard)", "Not recorded yet"."""
        if self.state == "none":
            return "○ Not recorded yet"
        if self.state == "missing":
            return "✗ Recording missing"
        grade = self.take.grade if self.take is not None else None
        words = grade_words(grade)
        if grade in ("amber", "red"):
            names = problem_names(self.take.quality, self.take.interrupted)
            if names:
                words += f" ({names[0]})"
        return words

    def unusable_sentence(self) -> str:
        """Why the Speak page did not play it, and how to record it again."""
        why = "its file is no longer on the disk" if self.state == "missing" else \
            f"{self.reason[:1].lower()}{self.reason[1:]}" if self.reason else "it did not pass the check"
        return (f"Your own recording of “{self.message.text}” cannot be used ({why}). To record it "
                "again: Speaker page (Ctrl+1), choose the message, then press “Record again”.")


def recording_of(speaker, message: Prompt) -> MessageRecording:
    try:
        take = speaker.current_take(message.id)
    except (BankError, OSError, ValueError, KeyError):
        take = None
    if take is None:
        return MessageRecording(message, None, "none")
    if not take.best_audio_path().is_file():
        return MessageRecording(message, take, "missing", "The recording is missing")
    if is_unusable(take.grade):
        names = problem_names(take.quality, take.interrupted)
        return MessageRecording(message, take, "unusable", names[0] if names else "")
    return MessageRecording(message, take, "usable")


def message_recordings(speaker) -> list[MessageRecording]:
    """Every message of `speaker`, in order, with the state of its recording."""
    try:
        messages = speaker.messages()
    except (BankError, OSError, ValueError, KeyError):
        return []
    return [recording_of(speaker, m) for m in messages]


def match_recording(speaker, text: str) -> MessageRecording | None:
    """The recorded message matching `text` (usable or not), or None when no message matches or
    the matching message was never recorded."""
    wanted = normalize(text)
    if not wanted:
        return None
    try:
        messages = speaker.messages()
    except (BankError, OSError, ValueError, KeyError):
        return None
    found = None
    for message in messages:
        if normalize(message.text) != wanted:
            continue
        recording = recording_of(speaker, message)
        if recording.usable:
            return recording            # a usable one wins over an earlier unusable twin
        if recording.state != "none" and found is None:
            found = recording
    return found


def find_recording(speaker, text: str) -> Path | None:
    """The audio of the user's usable current take of a recorded message matching `text`, or None."""
    recording = match_recording(speaker, text)
    return recording.audio if recording is not None else None
