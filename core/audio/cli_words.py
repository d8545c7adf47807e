"""Audio messages in command-line words.

The quality checks, the microphone and a full disk during a recording are worded for the app
("press R to record again", "choose it under Microphone"), where most people meet them. The same
messages reach `voicebank check`, `voicebank devices` and `voicebank consent --record`, where
there is no R key and no Microphone list: `in_cli_words` says the same thing in terminal terms.
A message with no app step in it comes back unchanged.
"""
from __future__ import annotations

from core.audio import quality
from core.audio.capture import NO_MICROPHONE
from core.diskspace import RECORDING_ADVICE

CLI_NO_MICROPHONE = ("No microphone was found. Plug one in (a USB headset works well), check that "
                     "`voicebank devices` lists it, then run the command again.")

# (the app's words, the same in command-line words); longer phrases first
_PHRASES: tuple[tuple[str, str], ...] = (
    (NO_MICROPHONE, CLI_NO_MICROPHONE),
    ("Plug it back in or choose another one under Microphone.",
     "Plug it back in, then run the command again (`voicebank devices` lists the microphones)."),
    (RECORDING_ADVICE, RECORDING_ADVICE.replace("Then press Space to go on.", "Then run the command again.")),
    ("Then press Space to go on.", "Then run the command again."),
    (getattr(quality, "AGAIN", "then press R to record again."), "then record it again."),
    ("press R to record it again", "record it again"),
    ("Press R to record it again", "Record it again"),
    ("press R to record again", "record it again"),
    ("Wait for the red light, read", "Read"),
    ("half a second after the light before speaking", "half a second after the recording starts before speaking"),
)


def in_cli_words(message: str) -> str:
    """`message` with each step in the app replaced by what to do from a terminal."""
    for app_words, cli_words in _PHRASES:
        message = message.replace(app_words, cli_words)
    return message
