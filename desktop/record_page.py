"""Page 3: read each prompt aloud. Everything works from the keyboard (see KEY_HELP)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QCheckBox, QFrame, QGridLayout, QLabel, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

from core.audio import playback
from core.audio.capture import AudioDeviceError, AutoStop, RecorderStatus
from core.bank.prompts import Prompt
from core.bank.store import BankError, Take, TakeWriter
from core.diskspace import DiskFullError, recording_space_check, recording_stopped_message
from desktop.checker import TakeChecker
from desktop.context import AppContext
from desktop.style import grade_label
from desktop.widgets import Banner, LevelMeter, heading, note

KEY_HELP = ("Space: record / stop    Enter: stop and go to the next    ← →: previous / next    "
            "R: record again    P: play    Esc: cancel the take    C: continuous mode")
LANGUAGE_NAMES = {"zh": "Mandarin", "en": "English", "mixed": "Mixed"}


class RecordPage(QWidget):
    take_saved = Signal(object)       # Take, once it is on disk

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.index = 0
        self.writer: TakeWriter | None = None
        self.continuous_pause_ms = 1200      # breathing space before the next take starts
        self._speaker_id: str | None = None
        self._checking: set[str] = set()     # take ids being checked
        self._error_shown = False
        self._space_warned = False           # the low-space warning is shown once per speaker/session
        self.checker = TakeChecker(self)
        self.checker.done.connect(self._on_checked)
        self.pending_start = QTimer(self)
        self.pending_start.setSingleShot(True)
        self.pending_start.timeout.connect(self.start_take)

        outer = QVBoxLayout(self)
        outer.addWidget(heading("Record"))
        self.banner = Banner()
        outer.addWidget(self.banner)
        # The rest scrolls under the message: on a small screen (1024x600) a long message, such
        # as the disk being full, is never squeezed or pushed off the page.
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setFocusPolicy(Qt.NoFocus)
        outer.addWidget(scroll, 1)
        self.position = QLabel("")
        self.position.setAccessibleName("Prompt position")
        layout.addWidget(self.position)
        self.kind_note = note("")
        layout.addWidget(self.kind_note)
        self.prompt_label = QLabel("")
        self.prompt_label.setObjectName("prompt")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setMinimumHeight(150)
        self.prompt_label.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        self.prompt_label.setAccessibleName("Sentence to read")
        layout.addWidget(self.prompt_label)
        self.meter = LevelMeter()
        layout.addWidget(self.meter)
        self.state_label = QLabel("")
        self.state_label.setObjectName("heading")
        self.state_label.setAccessibleName("Recording state")
        layout.addWidget(self.state_label)
        self.grade_label = QLabel("")
        self.grade_label.setObjectName("heading")
        self.grade_label.setAccessibleName("Take quality")
        self.problems_label = note("")
        self.problems_label.setAccessibleName("Take problems")
        # room for four lines of advice, so the buttons below never jump around
        self.problems_label.setMinimumHeight(4 * self.problems_label.fontMetrics().lineSpacing())
        self.problems_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        layout.addWidget(self.grade_label)
        layout.addWidget(self.problems_label)

        buttons = QGridLayout()
        self.record_button = self._button("Record (Space)", "Record or stop", self.toggle_record)
        self.next_take_button = self._button("Stop and next (Enter)", "Stop and go to the next prompt",
                                             self.stop_or_start_and_next)
        self.prev_button = self._button("← Previous", "Previous prompt", lambda: self.move(-1))
        self.next_button = self._button("Next →", "Next prompt", lambda: self.move(1))
        self.again_button = self._button("Record again (R)", "Record this prompt again", self.record_again)
        self.play_button = self._button("Play (P)", "Play the take", self.play)
        self.cancel_button = self._button("Cancel take (Esc)", "Cancel the take in progress", self.cancel)
        for i, button in enumerate((self.record_button, self.next_take_button, self.again_button,
                                    self.play_button, self.prev_button, self.next_button,
                                    self.cancel_button)):
            buttons.addWidget(button, i // 4, i % 4)
        self.continuous = QCheckBox("Continuous mode (C): stop after 1 second of silence and go on")
        self.continuous.setAccessibleName("Continuous mode")
        buttons.addWidget(self.continuous, 2, 0, 1, 4)
        layout.addLayout(buttons)
        self.progress_label = QLabel("")
        self.progress_label.setAccessibleName("Progress")
        layout.addWidget(self.progress_label)
        help_label = note(KEY_HELP)
        help_label.setAccessibleName("Keyboard keys")
        layout.addWidget(help_label)
        layout.addStretch(1)
        context.status.connect(self._on_status)
        context.speaker_changed.connect(lambda _s: self._forget_speaker())

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.clicked.connect(slot)
        return button

    # state ---------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.writer is not None

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

    def _forget_speaker(self) -> None:
        self._speaker_id = None
        self._space_warned = False

    # disk space ----------------------------------------------------------------------
    def _still_to_record(self) -> tuple[int, float | None]:
        """(prompts with no take yet, average take length so far) for the space figures."""
        speaker = self.context.speaker
        if speaker is None:
            return 0, None
        progress = speaker.progress()
        # a few takes (one of them cut short) say little about the rest: a typical length until then
        avg = progress.seconds_recorded / progress.prompts_done if progress.prompts_done >= 5 else None
        return progress.prompts_total - progress.prompts_done, avg

    def check_space(self) -> bool:
        """Before a take: False (and the reason shown) when the disk is too full to record; a
        warning, once, when the rest of the script will not fit."""
        speaker = self.context.speaker
        if speaker is None:
            return True
        found = recording_space_check(speaker.folder, *self._still_to_record())
        if found is None:
            return True
        kind, text = found
        if kind == "error":
            self.banner.show_message(text, "error")
            return False
        if not self._space_warned:
            self._space_warned = True
            self.banner.show_message(text, "warning")
        return True

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
        prompts = self.prompts()
        prompt = self.prompt()
        if prompt is None:
            self.position.setText("")
            self.prompt_label.setText("No prompts yet: choose a speaker (Ctrl+1).")
            self.state_label.setText("")
            return
        language = LANGUAGE_NAMES.get(prompt.language, prompt.language)
        self.position.setText(f"{self.index + 1} of {len(prompts)}    ·    {prompt.id}    ·    {language}")
        self.kind_note.setText("Your own message: it is kept exactly as you record it." if prompt.is_message
                               else "")
        self.prompt_label.setText(prompt.text)
        self.prompt_label.setAccessibleDescription(prompt.text)
        self._show_state()
        self._show_take(self.current_take())
        self._show_progress()

    def _show_state(self, captured_s: float = 0.0) -> None:
        if self.recording:
            text = f"● Recording… {captured_s:.1f} s  (Space to stop)"
        elif self.pending_start.isActive():
            text = "Next take starts in a moment… (Esc to pause)"
        else:
            text = "Ready: press Space to record"
        self.state_label.setText(text)
        self.state_label.setStyleSheet("color: #b3261e;" if self.recording else "")
        self.state_label.setAccessibleDescription(text)
        self.record_button.setText("■ Stop (Space)" if self.recording else "● Record (Space)")

    def _show_take(self, take: Take | None) -> None:
        if take is None:
            self.grade_label.setText("No take yet")
            self.grade_label.setStyleSheet("")
            self.problems_label.setText("")
            return
        if take.id in self._checking:
            self.grade_label.setText("… Checking the take")
            self.grade_label.setStyleSheet("")
            self.problems_label.setText("")
            return
        text, colour = grade_label(take.grade)
        extra = "  (cut off: recording stopped early)" if take.interrupted else ""
        self.grade_label.setText(f"{text}{extra}    {take.duration_s:.1f} s")
        self.grade_label.setStyleSheet(f"color: {colour};")
        problems = (take.quality or {}).get("problems") or []
        self.problems_label.setText("\n".join(f"• {p.get('message', '')}" for p in problems)
                                    or ("Nothing to fix." if take.quality else ""))
        self.grade_label.setAccessibleDescription(self.grade_label.text())
        self.problems_label.setAccessibleDescription(self.problems_label.text())

    def _show_progress(self) -> None:
        speaker = self.context.speaker
        if speaker is None:
            return
        progress = speaker.progress()
        self.progress_label.setText(
            f"Done: {progress.prompts_done} of {progress.prompts_total} prompts    ·    "
            f"{progress.minutes_recorded:.1f} minutes recorded    ·    {progress.red_takes} to redo")

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
        auto = AutoStop(silence_s=1.0) if self.continuous.isChecked() else None
        try:
            self.context.recorder.start_capture(writer, auto_stop=auto,
                                                noise_floor_dbfs=self.context.noise_floor_dbfs)
        except AudioDeviceError as exc:
            writer.abort()
            self.banner.show_message(str(exc), "error")
            return
        self.writer = writer
        self._error_shown = False
        if self.banner.kind in ("error", "ok"):
            self.banner.clear_message()
        self._show_state()

    def stop_take(self, advance: bool = False, interrupted: bool = False) -> Take | None:
        """Finish the take (kept on disk), start its check, and optionally move on."""
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
            self.checker.check(self.context.speaker, take)
            self.take_saved.emit(take)
        if advance and self.index < len(self.prompts()) - 1:
            self.index += 1
            if self.continuous.isChecked():
                self.pending_start.start(self.continuous_pause_ms)
        self.refresh()
        return take

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

    def move(self, delta: int) -> None:
        if self.recording:
            self.banner.show_message("Stop the take first: press Space (or Esc to cancel it).", "warning")
            return
        self.pending_start.stop()
        self.index = max(0, min(self.index + delta, len(self.prompts()) - 1))
        self.refresh()

    def go_to_prompt(self, prompt_id: str) -> None:
        for i, prompt in enumerate(self.prompts()):
            if prompt.id == prompt_id:
                self.index = i
        self.refresh()

    def record_again(self) -> None:
        """A fresh take of this prompt; every earlier take stays on disk."""
        if self.recording:
            self.stop_take()
        self.start_take()

    def cancel(self) -> None:
        if self.pending_start.isActive():
            self.pending_start.stop()
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
        if event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier):
            return False
        if event.isAutoRepeat():        # a held key must not start and stop takes
            return event.key() in (Qt.Key_Space, Qt.Key_Return, Qt.Key_Enter)
        actions = {
            Qt.Key_Space: self.toggle_record, Qt.Key_Return: self.stop_or_start_and_next,
            Qt.Key_Enter: self.stop_or_start_and_next, Qt.Key_Left: lambda: self.move(-1),
            Qt.Key_Right: lambda: self.move(1), Qt.Key_R: self.record_again, Qt.Key_P: self.play,
            Qt.Key_Escape: self.cancel, Qt.Key_C: self.continuous.toggle,
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
            text = recording_stopped_message(take.duration_s if take else None, *self._still_to_record(),
                                             failed.errno)
        self.banner.show_message(text, "error")
        self._error_shown = True

    def _on_checked(self, take: Take, error: str | None) -> None:
        self._checking.discard(take.id)
        if error and self.banner.kind != "error":     # a note on the check never hides an error
            self.banner.show_message(error, "warning")
        current = self.current_take()
        if current is not None and current.id == take.id:
            self._show_take(take)
        self._show_progress()
