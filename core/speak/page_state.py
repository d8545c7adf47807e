"""The Speak page's state in one place: what its status line says, which message it shows, and
why a control cannot act. Decided without Qt; desktop/speak_status.py shows it.

One state, so that the two lines of the page never disagree: the status line is computed from
the state each time something happens, never set on its own. A message about loading the voice
goes when the voice loads after all; what just happened ("Said: …", "Not said.") gives way to
the next message about something else, so "Not said." never stands under "Saved …".

The messages reaching the page from the worker and the engine are also read by the command
line, so some name a terminal command; `app_words` puts the step in the app in its place.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

NO_SPEAKER = "Choose a speaker first (Ctrl+1)."
NO_VOICE = ("There is no voice yet: build one on the Build page (Ctrl+5). Messages you recorded "
            "yourself can be played already.")
LOADING = "Getting your voice ready… You can type meanwhile."
NOT_LOADED = ("This voice could not be loaded, so only messages you recorded yourself can be said. "
              "Choose another voice (Alt+V), or build it again on the Build page (Ctrl+5).")
READY = "Ready. Type, then press {key}."
NOT_SAID = "Not said."
BUILD_A_VOICE = "There is no voice yet: build one on the Build page (Ctrl+5)."

# (words for the terminal or the app at large, the step on this page); see app_words
_APP_STEPS: tuple[tuple[str, str], ...] = (
    ("Install the base models from the app's build page or with `voicebank models`.",
     "Install the base models on the Build page (Ctrl+5)."),
    ("Install them from the build page, or with `voicebank models download` (or `voicebank models "
     "import FOLDER` for files you already have).", "Install them on the Build page (Ctrl+5)."),
    ("Fix or remove the entry in the dictionary (Speak page), then speak again.",
     "Fix or remove that word in Pronunciations (Ctrl+D), then speak again."),
    ("Download the models again, or choose the file where it is now.",
     "Build the voice again on the Build page (Ctrl+5), or choose another voice (Alt+V)."),
)
_TERMINAL = re.compile(r"\s*,?\s*\(?\bor (?:with |run )?`voicebank [^`]*`\)?")
_COMMAND = re.compile(r"`voicebank [^`]*`")


def app_words(message: str) -> str:
    """`message` with each fix in terms of the app: known terminal hints become the step on a
    page; any other "or with `voicebank …`" is left out (the app's way is already named)."""
    for other, here in _APP_STEPS:
        message = message.replace(other, here)
    message = _TERMINAL.sub("", message)
    return _COMMAND.sub("the app", message)


@dataclass(frozen=True)
class Message:
    text: str
    kind: str               # the banner's level: "info", "ok", "warning", "error"
    about: str = "other"    # "voice": loading the chosen voice; "said": what was just said


@dataclass
class SpeakState:
    speaker: bool = False
    voices: int = 0
    own_messages: bool = False      # recorded messages of their own that can be played
    voice: str = "unknown"          # the chosen voice in the worker: "loading", "ready", "failed"
    busy: str = ""                  # what is under way, in words ("" when nothing is)
    done: str = ""                  # what just happened, until a message about something else
    message: Message | None = None
    enter_speaks: bool = False

    @property
    def speak_key(self) -> str:
        return "Enter" if self.enter_speaks else "Ctrl+Enter"

    def status(self) -> str:
        """The status line: what is going on, else what just happened, else what can be done."""
        if not self.speaker:
            return NO_SPEAKER
        if self.busy or self.done:
            return self.busy or self.done
        if not self.voices:
            return NO_VOICE
        if self.voice == "failed":
            return NOT_LOADED
        if self.voice == "loading":
            return LOADING
        return READY.format(key=self.speak_key)

    # what happened --------------------------------------------------------------------------
    def show(self, text: str, kind: str, about: str = "other") -> None:
        self.message = Message(text, kind, about)
        if about != "said":
            self.done = ""

    def clear_message(self) -> None:
        self.message = None

    def scene(self, speaker: bool, voices: int, own_messages: bool) -> None:
        """Another speaker, or their voices changed."""
        self.speaker, self.voices, self.own_messages = speaker, voices, own_messages
        if not voices:
            self.voice = "unknown"
            self._drop("voice")

    def voice_loading(self) -> None:
        self.voice = "loading"
        self._drop("voice")         # tried again: the old failure no longer says how things are

    def voice_ready(self) -> None:
        self.voice = "ready"
        self._drop("voice")

    def voice_unknown(self) -> None:
        """No voice chosen, or its files are missing (saying it will tell which)."""
        self.voice = "unknown"
        self._drop("voice")

    def voice_failed(self, message: str) -> None:
        self.voice = "failed"
        self.show(f"Your voice could not be loaded: {app_words(message)}", "warning", "voice")

    def started(self, words: str) -> None:
        self.busy, self.done = words, ""

    def finished(self, words: str) -> None:
        self.busy, self.done = "", words

    def not_said(self, message: str) -> None:
        self.busy = ""
        self.show(f"It could not be said: {app_words(message)}", "error", "said")
        self.done = NOT_SAID

    def _drop(self, about: str) -> None:
        if self.message is not None and self.message.about == about:
            self.message = None

    # what cannot act, and why ----------------------------------------------------------------
    def why_not(self, playing: bool, has_voice: bool) -> dict[str, str]:
        """Each control that cannot act now -> why, in words for its tooltip ("" = it can act).
        `playing`: something is being said; `has_voice`: a voice is chosen."""
        no_voice = BUILD_A_VOICE if self.speaker else NO_SPEAKER
        return {
            "speak": NO_SPEAKER if not self.speaker else
            "" if self.voices or self.own_messages else
            "There is no voice to speak with yet: build one on the Build page (Ctrl+5), or record "
            "your own messages on the Speaker page (Ctrl+1).",
            "stop": "" if playing else "Nothing is being said now.",
            "voice": "" if self.voices else no_voice,
            "dictionary": "" if self.speaker else NO_SPEAKER,
            "export": "" if has_voice else no_voice,
            "delete": "" if has_voice else no_voice,
            "import": "" if self.speaker else NO_SPEAKER,
        }
