"""Where the window opens (Qt-free): where the person left off.

- an empty bank: the Speaker page, with the cursor in the name box;
- a voice exists: the Speak page;
- takes recorded: the Record page, at the first prompt with no usable take (none, or one marked
  ✗ Redo) that the person has not skipped (as core.bank.progress.resume_index); every prompt
  done or skipped: the Build page;
- a speaker and nothing recorded yet: the Speaker page.
The speaker is the one chosen last time in this bank (core.settings), else the first.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.bank.progress import next_to_record
from core.bank.store import Bank, BankError
from core.speak.voices import speak_voices


@dataclass(frozen=True)
class StartPoint:
    page: str                       # "speaker", "record", "build" or "speak"
    speaker_id: str | None = None
    prompt_id: str | None = None    # the Record page's prompt
    empty_bank: bool = False        # nobody yet: type a name first


def start_point(bank: Bank, last_speaker: str | None = None) -> StartPoint:
    try:
        speakers = bank.speakers()
    except (OSError, BankError):
        return StartPoint("speaker")            # the Speaker page says what is wrong
    if not speakers:
        return StartPoint("speaker", empty_bank=True)
    speaker = next((s for s in speakers if s.id == last_speaker), speakers[0])
    try:
        if speak_voices(speaker):
            return StartPoint("speak", speaker.id)
        takes = speaker.current_takes()
        if not takes:
            return StartPoint("speaker", speaker.id)
        prompts = speaker.prompts()
        index = next_to_record(prompts, takes.get, speaker.skipped())
        if index is not None:
            return StartPoint("record", speaker.id, prompts[index].id)
    except (OSError, BankError, ValueError):
        return StartPoint("speaker", speaker.id)
    return StartPoint("build", speaker.id)
