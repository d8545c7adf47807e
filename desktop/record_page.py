"""Page 3: read each prompt aloud. Everything works from the keyboard (record_controls.KEY_HELP)
and from a pointer alone (every key has its button). Each take is graded as soon as it is checked; in
continuous mode the page waits for that grade, goes on after a usable take and, after a ✗ Redo
one, stays and asks to record it again. Find a sentence (F) goes to any prompt; "I can't say
this one" (S) skips one for good, undoably (U)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.audio import playback
from core.audio.capture import AudioDeviceError, AutoStop, RecorderStatus
from core.bank.prompts import Prompt
from core.bank.store import BankError, Take, TakeWriter
from core.diskspace import DiskFullError
from desktop import grade_tone
from desktop.checker import TakeChecker
from desktop.context import AppContext
from desktop.goal_meter import GoalMeter
from desktop.record_controls import RecordControls, key_help
from desktop.prompt_view import PromptView
from desktop.record_skip import SkipAndFind
from desktop.record_space import SpaceWatch
from desktop.take_view import CHECKING, TakeView
from desktop.widgets import Banner, LevelMeter, heading

REDO_ASK = "✗ This take needs redoing. Record it again? Press R or Space.  (→ goes on without it.)"


class RecordPage(QWidget):
    take_saved = Signal(object)       # Take, once it is on disk
    continuous_changed = Signal(bool)  # for the window to remember it

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.index = 0
        self.writer: TakeWriter | None = None
        self.continuous_pause_ms = 1200      # breathing space before the next take starts
        self._speaker_id: str | None = None
        self._checking: set[str] = set()     # take ids being checked
        self._awaiting: str | None = None    # continuous mode: the take whose grade decides what next
        self.waiting_to_redo = False         # continuous mode stopped on a ✗ Redo take
        self._error_shown = False
        self.space = SpaceWatch(self)
        self.checker = TakeChecker(self)
        self.checker.done.connect(self._on_checked)
        self.pending_start = QTimer(self)
        self.pending_start.setSingleShot(True)
        self.pending_start.timeout.connect(self.start_take)

        layout = QVBoxLayout(self)      # the window scrolls all of it under the heading and message
        layout.addWidget(heading("Record"))
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.skips = SkipAndFind(self)
        self.prompt_view = PromptView()
        self.position, self.kind_note = self.prompt_view.position, self.prompt_view.kind_note
        self.prompt_label, self.find_button = self.prompt_view.prompt_label, self.prompt_view.find_button
        self.find_button.clicked.connect(self.skips.open_jump)
        layout.addWidget(self.prompt_view)
        self.meter = LevelMeter()
        layout.addWidget(self.meter)
        self.state_label = QLabel("")
        self.state_label.setObjectName("heading")
        self.state_label.setWordWrap(True)
        self.state_label.setAccessibleName("Recording state")
        layout.addWidget(self.state_label)
        self.take_view = TakeView()
        self.grade_label, self.problems_label = self.take_view.grade, self.take_view.problems
        self.controls = RecordControls()
        slots = {"record_button": self.toggle_record, "next_take_button": self.stop_or_start_and_next,
                 "again_button": self.record_again, "play_button": self.play,
                 "prev_button": lambda: self.move(-1), "next_button": lambda: self.move(1),
                 "cancel_button": self.cancel, "skip_button": self.skips.toggle_skip,
                 "undo_skip_button": self.skips.undo_skip}
        for attr, button in self.controls.buttons().items():
            setattr(self, attr, button)
            button.clicked.connect(slots[attr])
        self.continuous_box, self.tone_box = self.controls.continuous_box, self.controls.tone_box
        self.continuous_box.toggled.connect(self._continuous_toggled)
        layout.addWidget(self.take_view.summary)    # the grade, then the buttons high up (no
        layout.addWidget(self.controls)             # scrolling at 1024x600), the advice under them
        layout.addWidget(self.take_view)
        layout.addWidget(self.controls.switches)
        self.progress_label = QLabel("", wordWrap=True)
        self.progress_label.setAccessibleName("Progress")
        layout.addWidget(self.progress_label)
        self.goal = GoalMeter()
        layout.addWidget(self.goal)
        layout.addWidget(key_help())
        layout.addStretch(1)
        context.status.connect(self._on_status)
        context.speaker_changed.connect(lambda _s: self._forget_speaker())

    # state ---------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.writer is not None

    @property
    def continuous(self) -> bool:
        """Continuous mode (the window remembers it across launches: continuous_changed)."""
        return self.continuous_box.isChecked()

    @continuous.setter
    def continuous(self, on: bool) -> None:
        self.continuous_box.setChecked(bool(on))

    @property
    def grade_tone(self) -> bool:
        """Whether each grade is also sounded by a short tone."""
        return self.tone_box.isChecked()

    @grade_tone.setter
    def grade_tone(self, on: bool) -> None:
        self.tone_box.setChecked(bool(on))

    def _continuous_toggled(self, on: bool) -> None:
        if not on:      # off: nothing starts or moves on by itself any more
            self.pending_start.stop()
            self._awaiting, self.waiting_to_redo = None, False
            self._show_state()
        self.continuous_changed.emit(on)

    def prompts(self) -> list[Prompt]:
        try:
            return self.context.prompts()
        except BankError as exc:
            self.banner.show_message(str(exc), "error")
            return []

    def prompt(self) -> Prompt | None:
        prompts = self.prompts()
        return prompts[self.index] if 0 <= self.index < len(prompts) else None

    def current_take(self) -> Take | None:
        prompt, speaker = self.prompt(), self.context.speaker
        return speaker.current_take(prompt.id) if prompt and speaker else None

    def skipped(self) -> set[str]:
        speaker = self.context.speaker
        return speaker.skipped() if speaker is not None else set()

    def _forget_speaker(self) -> None:
        self._speaker_id = None
        self.space.warned = False
        self.skips.forget_undo()
        self.take_view.show_last(0, None)

    def check_space(self) -> bool:
        return self.space.check()

    def page_shown(self) -> None:
        speaker = self.context.speaker
        if speaker is None:
            self.banner.show_message("Choose or create a speaker first: press Ctrl+1.", "warning")
            self.refresh()
            return
        if speaker.id != self._speaker_id:        # resume where this speaker left off
            self._speaker_id = speaker.id
            self.index = speaker.first_unrecorded_index()
            self.banner.clear_message()
            leftovers = speaker.leftover_parts()
            if leftovers:
                self.banner.show_message(
                    f"{len(leftovers)} take(s) were cut off when the app stopped unexpectedly. Their "
                    f"sound is kept in {speaker.folder / 'takes'} (files ending .wav.part). "
                    "Record those sentences again when you are ready.", "warning")
            else:
                self.check_space()      # a low disk is said when the session starts, not mid-take
        try:
            self.context.ensure_open()
        except AudioDeviceError as exc:
            self.banner.show_message(str(exc), "error")
        self.refresh()
        self.record_button.setFocus()

    def refresh(self) -> None:
        prompt = self.prompt()
        skipped = prompt is not None and prompt.id in self.skipped()
        self.prompt_view.show_prompt(prompt, self.index, len(self.prompts()), skipped)
        if prompt is None:
            self.state_label.setText("")
            return
        self.skip_button.setText("Say it after all (S)" if skipped else "I can't say this one (S)")
        self.skip_button.setAccessibleName("Bring this sentence back" if skipped else "Skip this sentence")
        self._show_state()
        self._show_take(self.current_take())
        last = self.take_view.last_take
        if last is not None and last.prompt_id == prompt.id:
            self.take_view.show_last(0, None)       # it is the one on screen now
        self._show_progress()

    def _show_state(self, captured_s: float = 0.0) -> None:
        if self.recording:
            text = f"● Recording… {captured_s:.1f} s  (Space to stop)"
        elif self._awaiting is not None:
            text = f"{CHECKING}: the next one starts when it is done…  (Esc to pause)"
        elif self.waiting_to_redo:
            text = REDO_ASK
        elif self.pending_start.isActive():
            text = "Next take starts in a moment…  (Esc to pause)"
        else:
            text = "Ready: press Space to record"
        self.state_label.setText(text)
        red = self.recording or self.waiting_to_redo
        self.state_label.setStyleSheet("color: #b3261e;" if red else "")
        self.state_label.setAccessibleDescription(text)
        self.record_button.setText("■ Stop (Space)" if self.recording else "● Record (Space)")

    def _show_take(self, take: Take | None) -> None:
        if take is None:
            self.take_view.show_none()
        elif take.id in self._checking:
            self.take_view.show_checking()
        else:
            self.take_view.show_take(take)

    def _show_progress(self) -> None:
        speaker = self.context.speaker
        if speaker is None:
            return
        p = speaker.progress()
        parts = [f"Done: {p.prompts_done} of {p.prompts_total} sentences"]
        if p.red_takes:
            parts.append(f"{p.red_takes} to redo")
        if p.skipped:
            parts.append(f"{p.skipped} skipped")
        self.progress_label.setText("    ·    ".join(parts))
        self.progress_label.setAccessibleDescription(self.progress_label.text())
        self.goal.show_progress(p)

    # actions -------------------------------------------------------------------------
    def start_take(self) -> None:
        self.pending_start.stop()
        prompt, speaker = self.prompt(), self.context.speaker
        if self.recording or prompt is None or speaker is None:
            return
        if not self.check_space():
            return
        try:
            self.context.ensure_open()
            session = self.context.ensure_session()
            writer = speaker.begin_take(prompt, session, self.context.recorder.sample_rate)
        except (AudioDeviceError, BankError, OSError) as exc:
            self.banner.show_message(str(exc), "error")
            return
        auto = AutoStop(silence_s=1.0) if self.continuous else None
        try:
            self.context.recorder.start_capture(writer, auto_stop=auto,
                                                noise_floor_dbfs=self.context.noise_floor_dbfs)
        except AudioDeviceError as exc:
            writer.abort()
            self.banner.show_message(str(exc), "error")
            return
        self.writer = writer
        self._awaiting, self.waiting_to_redo = None, False
        self._error_shown = False
        if self.banner.kind in ("error", "ok", "info"):     # "Take cancelled" is stale once a take starts
            self.banner.clear_message()
        self._show_state()

    def stop_take(self, advance: bool = False, interrupted: bool = False) -> Take | None:
        """Finish the take (kept on disk) and start its check. `advance`: go to the next prompt,
        at once; in continuous mode only once the check says the take is usable."""
        writer, self.writer = self.writer, None
        if writer is None:
            return None
        self.context.recorder.stop_capture()
        try:
            take = writer.finish(interrupted=interrupted)
        except DiskFullError as exc:
            self.banner.show_message(str(exc), "error")
            self._show_state()
            return None
        except OSError as exc:
            self.banner.show_message(f"The take could not be saved ({exc.strerror or exc}). Check the "
                                     f"disk, then record again. Partial sound is in {writer.part_path}.",
                                     "error")
            self._show_state()
            return None
        if take is None:
            self.banner.show_message("Nothing was recorded. Check the microphone and press Space.", "warning")
        else:
            self._checking.add(take.id)
            self.skips.unskip_quietly(take.prompt_id)   # it was said after all
            self.checker.check(self.context.speaker, take)
            self.take_saved.emit(take)
        if advance and take is not None and self.continuous and not interrupted:
            self._awaiting = take.id
        elif advance:
            self._advance()
        self.refresh()
        return take

    def next_index(self) -> int | None:
        """The next prompt after this one that is not skipped."""
        prompts, skipped = self.prompts(), self.skipped()
        return next((i for i in range(self.index + 1, len(prompts)) if prompts[i].id not in skipped), None)

    def _advance(self) -> None:
        nxt = self.next_index()
        if nxt is None:
            return
        self.index = nxt
        if self.continuous:
            self.pending_start.start(self.continuous_pause_ms)

    def toggle_record(self) -> None:
        if self.recording:
            self.stop_take()
        else:
            self.start_take()

    def stop_or_start_and_next(self) -> None:
        if self.recording:
            self.stop_take(advance=True)
        else:
            self.start_take()

    def stop_waiting(self) -> bool:
        """The person takes over: nothing starts or moves on by itself. False while recording."""
        if self.recording:
            self.banner.show_message("Stop the take first: press Space (or Esc to cancel it).", "warning")
            return False
        self.pending_start.stop()
        self._awaiting, self.waiting_to_redo = None, False
        return True

    def move(self, delta: int) -> None:
        if self.stop_waiting():
            self.go_to_index(self.index + delta)

    def go_to_index(self, index: int) -> None:
        self.index = max(0, min(index, len(self.prompts()) - 1))
        self.refresh()

    def go_to_prompt(self, prompt_id: str) -> None:
        for i, prompt in enumerate(self.prompts()):
            if prompt.id == prompt_id:
                self.index = i
        self.take_view.show_last(0, None)   # come from another page: "just recorded" is old news
        self.refresh()

    def record_again(self) -> None:
        """A fresh take of this prompt; every earlier take stays on disk."""
        if self.recording:
            self.stop_take()
        self.start_take()

    def cancel(self) -> None:
        if self.pending_start.isActive() or self._awaiting is not None:
            self.pending_start.stop()
            self._awaiting = None
            self.banner.show_message("Continuous mode paused. Press Space to record.", "info")
        if self.writer is not None:
            writer, self.writer = self.writer, None
            self.context.recorder.stop_capture()
            writer.abort()
            self.banner.show_message("Take cancelled; nothing was saved. Press Space to try again.", "info")
        self._show_state()

    def play(self) -> None:
        take = self.current_take()
        if self.recording or take is None:
            return
        try:
            playback.play_file(take.raw_path)
        except AudioDeviceError as exc:
            self.banner.show_message(str(exc), "error")

    def handle_key(self, event: QKeyEvent) -> bool:
        """Called for every key press while this page is showing; True = used."""
        if event.key() == Qt.Key_F and event.modifiers() == Qt.ControlModifier:
            self.skips.open_jump()      # Ctrl+F too, as everywhere else
            return True
        if event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier):
            return False
        if event.isAutoRepeat():        # a held key must not start and stop takes
            return event.key() in (Qt.Key_Space, Qt.Key_Return, Qt.Key_Enter)
        actions = {
            Qt.Key_Space: self.toggle_record, Qt.Key_Return: self.stop_or_start_and_next,
            Qt.Key_Enter: self.stop_or_start_and_next, Qt.Key_Left: lambda: self.move(-1),
            Qt.Key_Right: lambda: self.move(1), Qt.Key_R: self.record_again, Qt.Key_P: self.play,
            Qt.Key_Escape: self.cancel, Qt.Key_C: self.continuous_box.toggle, Qt.Key_F: self.skips.open_jump,
            Qt.Key_S: self.skips.toggle_skip, Qt.Key_U: self.skips.undo_skip, Qt.Key_T: self.tone_box.toggle,
        }
        action = actions.get(event.key())
        if action is None:
            return False
        action()
        return True

    # audio status (30 Hz) -------------------------------------------------------------
    def _on_status(self, status: RecorderStatus) -> None:
        if not self.isVisible() and not self.recording:
            return
        self.meter.set_levels(status.level_dbfs, status.peak_dbfs)
        if status.write_error and self.recording:
            self._stop_on_write_error(status.write_error)
            return
        if status.error:
            if self.recording:
                self.pending_start.stop()
                take = self.stop_take(interrupted=True)
                kept = f" The first {take.duration_s:.1f} s are kept." if take else ""
                self.banner.show_message(status.error + kept, "error")
                self._error_shown = True
            elif not self._error_shown:
                self.banner.show_message(status.error, "error")
                self._error_shown = True
            return
        if self.recording:
            self._show_state(status.captured_s)
            if status.auto_stop:
                self.stop_take(advance=True)

    def _stop_on_write_error(self, text: str) -> None:
        """The disk filled up (or failed) mid-take: keep what was written, say what to do."""
        self.pending_start.stop()
        failed = self.writer.failed if self.writer is not None else None
        take = self.stop_take(interrupted=True)
        if self.banner.kind == "error" and take is None:
            return          # stop_take already said why the take could not be kept
        if isinstance(failed, DiskFullError):
            text = self.space.stopped_message(take.duration_s if take else None, failed.errno)
        self.banner.show_message(text, "error")
        self._error_shown = True

    def _on_checked(self, take: Take, error: str | None) -> None:
        """A take's grade is in: show it (or, when the page has moved on, say it under the new
        sentence), sound it if asked, and in continuous mode go on, or wait after a ✗ Redo."""
        self._checking.discard(take.id)
        if error and self.banner.kind != "error":     # a note on the check never hides an error
            self.banner.show_message(error, "warning")
        if self.grade_tone and take.grade:
            problem = grade_tone.play_grade(take.grade)
            if problem and self.banner.kind != "error":
                self.banner.show_message(problem, "warning")
        current = self.current_take()
        if current is not None and current.id == take.id:
            self._show_take(take)
        else:
            self.take_view.show_last(self._number_of(take), take)
        if take.id == self._awaiting:
            self._awaiting = None
            if take.grade == "red":
                self.waiting_to_redo = True             # waits: "record again?"
            elif self.banner.kind != "error":
                self._advance()
                self.refresh()
                self.take_view.show_last(self._number_of(take), take)
        self._show_state()
        self._show_progress()

    def _number_of(self, take: Take) -> int:
        return next((i + 1 for i, p in enumerate(self.prompts()) if p.id == take.prompt_id), 0)
