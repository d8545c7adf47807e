"""The Record page's way around the script: find a sentence and go to it (F, desktop.jump_dialog),
and "I can't say this one" (S), which skips a sentence for good (core: Speaker.set_skipped,
remembered per speaker, not counted as still to record) until it is brought back: at once with
Undo the skip (U), or later by going to it (it says it was skipped) and pressing S again."""
from __future__ import annotations

from core.bank.progress import needs_recording
from core.diskspace import DiskFullError
from desktop.jump_dialog import JumpDialog


def short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


class SkipAndFind:
    """Works on a RecordPage: its prompts, index, banner and buttons."""

    def __init__(self, page):
        self.page = page
        self.last_skipped: str | None = None       # what Undo the skip brings back
        self.dialog: JumpDialog | None = None

    def statuses(self) -> dict[str, str]:
        """Each prompt's state for the find dialog: todo, red, done or skipped."""
        page = self.page
        speaker, skipped = page.context.speaker, page.skipped()
        out = {}
        for prompt in page.prompts():
            take = speaker.current_take(prompt.id) if speaker is not None else None
            out[prompt.id] = ("skipped" if prompt.id in skipped else "todo" if take is None
                              else "red" if needs_recording(take) else "done")
        return out

    def open_jump(self) -> JumpDialog | None:
        page = self.page
        if not page.prompts() or not page.stop_waiting():
            return None
        self.dialog = JumpDialog(page.prompts(), self.statuses(), page.index, page)
        self.dialog.chosen.connect(page.go_to_index)
        self.dialog.finished.connect(lambda _result: page.record_button.setFocus())
        self.dialog.resize(min(900, max(page.width(), 600)), 520)
        self.dialog.open()
        return self.dialog

    def toggle_skip(self) -> None:
        """Skip the sentence on screen and go on to the next; on a skipped one, bring it back."""
        page = self.page
        prompt, speaker = page.prompt(), page.context.speaker
        if prompt is None or speaker is None or not page.stop_waiting():
            return
        skipping = prompt.id not in page.skipped()
        if not self._set(prompt.id, skipping):
            return
        if skipping:
            self.last_skipped = prompt.id
            page.undo_skip_button.show()
            page.banner.show_message(f"Skipped “{short(prompt.text)}”: it will not be asked for again. "
                                     "Press U (Undo the skip) to bring it back.", "info")
            nxt = page.next_index()
            page.index = nxt if nxt is not None else page.index
        else:
            self.forget_undo(prompt.id)
            page.banner.show_message(f"“{short(prompt.text)}” is back on the list. Press Space to record it.",
                                     "ok")
        page.refresh()

    def undo_skip(self) -> None:
        page, prompt_id = self.page, self.last_skipped
        if prompt_id is None or not page.stop_waiting() or not self._set(prompt_id, False):
            return
        self.forget_undo()
        page.go_to_prompt(prompt_id)
        page.banner.show_message(f"“{short(page.prompt().text)}” is back on the list. Press Space to "
                                 "record it.", "ok")

    def unskip_quietly(self, prompt_id: str) -> None:
        """A take was recorded of a skipped sentence: it could be said after all."""
        if prompt_id in self.page.skipped() and self._set(prompt_id, False, quiet=True):
            self.forget_undo(prompt_id)

    def forget_undo(self, prompt_id: str | None = None) -> None:
        if prompt_id is None or self.last_skipped == prompt_id:
            self.last_skipped = None
            self.page.undo_skip_button.hide()

    def _set(self, prompt_id: str, skipped: bool, quiet: bool = False) -> bool:
        speaker = self.page.context.speaker
        if speaker is None:
            return False
        try:
            speaker.set_skipped(prompt_id, skipped)
        except (DiskFullError, OSError) as exc:
            if not quiet:
                self.page.banner.show_message(str(exc), "error")
            return False
        return True
