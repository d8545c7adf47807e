"""A speaker's take by the id a person or a program gives (`voicebank build --take`, the worker's
zero-shot job): a take id, or a prompt id meaning that prompt's current take.

Here, below both the trainer's command line and the worker, so that neither reaches into the other.
"""
from __future__ import annotations

from pathlib import Path

from core.bank.store import BankError, Speaker, Take


class UnknownTakeError(BankError):
    """No take of this speaker has that id; the message says what to do."""


def find_take(speaker: Speaker, take_id: str) -> Take:
    """The speaker's take with this id (or the current take of the prompt with this id)."""
    for take in speaker.current_takes().values():
        if take_id in (take.id, take.prompt_id):
            return take
    for folder in sorted((Path(speaker.folder) / "takes").glob("*")):
        for take in speaker.takes(folder.name):
            if take.id == take_id:
                return take
    raise UnknownTakeError(f"There is no take {take_id!r} for {speaker.name}. Choose another take.")
