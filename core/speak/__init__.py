"""Speaking in the banked voice, without Qt: the voices to choose from, saved phrases and their
audio cache, the history of what was said, the user's own recorded messages, the pronunciation
dictionary's place on disk, and exporting what was said.

Everything lives in the speaker's folder:

    <speaker>/speak/phrases.json        saved phrases, in the user's order
    <speaker>/speak/phrase-cache/*.wav  phrase audio, keyed by voice + text + speed + dictionary
    <speaker>/speak/history.json        what was said (newest last), bounded
    <speaker>/speak/history/*.wav       its audio, so it can be replayed or exported
    <speaker>/speak/settings.json       the page's remembered voice, speed, volume, text size
    <speaker>/pronunciations.json       word -> pinyin / ARPAbet (core.text.userdict format)
"""
from __future__ import annotations

from pathlib import Path

SPEAK_DIR = "speak"


def speak_folder(speaker_folder: Path) -> Path:
    return Path(speaker_folder) / SPEAK_DIR
