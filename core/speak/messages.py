"""Message banking: when the typed text is one of the user's recorded messages, their own
recording is played instead of synthesis.

Texts match after normalising what a person does not mean to distinguish: letter case, runs of
spaces, full-width against half-width characters (，vs ,), Chinese against Western punctuation
(。vs .) and punctuation at the end ("Yes" matches "Yes." and "yes!").
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from core.bank.store import BankError

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


def find_recording(speaker, text: str) -> Path | None:
    """The audio of the user's current take of a recorded message matching `text`, or None."""
    wanted = normalize(text)
    if not wanted:
        return None
    try:
        messages = speaker.messages()
    except (BankError, OSError, ValueError, KeyError):
        return None
    for message in messages:
        if normalize(message.text) != wanted:
            continue
        take = speaker.current_take(message.id)
        if take is not None and take.best_audio_path().is_file():
            return take.best_audio_path()
    return None
