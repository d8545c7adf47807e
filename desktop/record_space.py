"""Disk space on the Record page: before a take, whether it can be saved (and, once, a warning
when the rest of the script will not fit); after a disk filled up mid-take, what to say. The
figures count the sentences still to record (a ✗ Redo one is still to record; a skipped one not)."""
from __future__ import annotations

from core.diskspace import recording_space_check, recording_stopped_message


class SpaceWatch:
    """Works on a RecordPage: its speaker (through its context) and banner."""

    def __init__(self, page):
        self.page = page
        self.warned = False         # the low-space warning is shown once per speaker/session

    def still_to_record(self) -> tuple[int, float | None]:
        """(sentences still to record, average take length so far) for the space figures."""
        speaker = self.page.context.speaker
        if speaker is None:
            return 0, None
        progress = speaker.progress()
        # a few takes (one of them cut short) say little about the rest: a typical length until then
        avg = progress.seconds_recorded / progress.prompts_done if progress.prompts_done >= 5 else None
        return progress.prompts_left, avg

    def check(self) -> bool:
        """Before a take: False (and the reason shown) when the disk is too full to record; a
        warning, once, when the rest of the script will not fit."""
        speaker = self.page.context.speaker
        if speaker is None:
            return True
        found = recording_space_check(speaker.folder, *self.still_to_record())
        if found is None:
            return True
        kind, text = found
        if kind == "error":
            self.page.banner.show_message(text, "error")
            return False
        if not self.warned:
            self.warned = True
            self.page.banner.show_message(text, "warning")
        return True

    def stopped_message(self, kept_s: float | None, errno: int | None) -> str:
        """The disk filled up during a take: what was kept and how much space the rest needs."""
        return recording_stopped_message(kept_s, *self.still_to_record(), errno)
