"""A speaker by what a person types after `--speaker`: the id (`anna-zhang`) or the name the app
shows (`Anna Zhang`).

The exact id wins; otherwise a name that matches one speaker, ignoring case and extra spaces.
Two speakers with the same name are never guessed between: the message lists their ids. Only
speakers in the bank are matched, so a value such as `../x` never reaches a path.
"""
from __future__ import annotations

from core.bank.store import Bank, BankError, Speaker

SPEAKER_HELP = "the speaker: the name the app shows (\"Anna Zhang\") or the id `voicebank speakers` lists"


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def find_speaker(bank: Bank, given: str) -> Speaker:
    """The speaker `given` names (an id, or a unique name); BankError says what to type instead."""
    speakers = bank.speakers()
    for speaker in speakers:
        if speaker.id == given:
            return speaker
    named = [s for s in speakers if _folded(s.name) == _folded(given)]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(f"--speaker {s.id}" for s in named)
        raise BankError(f"{len(named)} speakers are called “{named[0].name}”. Give the id of the one "
                        f"you mean: {ids} (`voicebank speakers` lists them with their progress).")
    if not speakers:
        raise BankError(f"There are no speakers in {bank.root} yet. Create one in the app "
                        "(`voicebank gui`, Speaker page), or give another bank with --bank FOLDER.")
    known = ", ".join(f"{s.name} ({s.id})" for s in speakers)
    raise BankError(f"There is no speaker “{given}” in {bank.root}. Speakers there: {known}. "
                    "Give a name or an id from that list, or another bank with --bank FOLDER.")
