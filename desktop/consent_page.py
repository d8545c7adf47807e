"""The consent statement: shown large in the speaker's language with today's date, read aloud
once into the microphone and kept with the bank (core.trust.consent). Opened from the Speaker
page. Keyboard: R or Space records and stops, P plays it back, Esc stops or closes.

A relative who records the prompts for the patient (a voice donor) ticks "A relative gives
their voice" and types their own name: the statement then names both, and it is the donor's
voice the build compares the prompts with.
"""
from __future__ import annotations

import threading
from datetime import date

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from core.audio import playback
from core.audio.capture import AudioDeviceError, RecorderStatus
from core.bank.store import BankError
from core.diskspace import DiskFullError
from core.trust import consent as ct
from desktop.context import AppContext
from desktop.style import PROMPT_PT
from desktop.widgets import Banner, LevelMeter, fit_screen, heading, lines_tall, note

LANGUAGES = {"zh": "中文 (Mandarin)", "en": "English"}
KEY_HELP = ("R or Space: record / stop    P: play it back    D: a relative gives their voice (type their "
            "name, then Enter)    Esc: stop, or close this window")
WHY = ("Before your voice is built, the person whose voice is recorded reads this statement aloud "
       "once. It is kept with the recordings, and the build checks that the prompts were read by "
       "the same voice.")


class _Finished(QObject):
    """Carries "the recording has been checked" from the checking thread to the GUI thread."""
    done = Signal()


def consent_status(speaker) -> str:
    """One line for the Speaker page and this window: is consent recorded?"""
    if speaker is None:
        return ""
    record = ct.current_consent(speaker)
    if record is None:
        return "✗ No consent recorded yet: record it before the first build."
    return "✓ " + record.describe()


class ConsentDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None, today: date | None = None):
        super().__init__(parent)
        self.context = context
        self.speaker = context.speaker
        self.today = today or date.today()
        self.writer: ct.ConsentWriter | None = None
        # Checking that a finished recording holds speech reads it all (a second or two for a
        # long silent one), so it runs off the GUI thread; the result is shown when it is done.
        self._finishing: threading.Thread | None = None
        self._result: ct.ConsentRecord | Exception | None = None
        self._stop_reason: str | None = None
        self._finished = _Finished(self)
        self._finished.done.connect(self._show_result)
        self._text_problem: str | None = None
        self.setWindowTitle("Consent statement")
        self.setAccessibleName("Consent statement")
        outer = QVBoxLayout(self)
        outer.addWidget(heading("Consent statement"))
        self.banner = Banner()
        outer.addWidget(self.banner)
        # the rest scrolls under the message: it fits a 1024x600 screen at the largest text size
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        page = QScrollArea()
        page.setWidget(body)
        page.setWidgetResizable(True)
        page.setFrameShape(QFrame.NoFrame)
        page.setFocusPolicy(Qt.NoFocus)
        outer.addWidget(page, 1)
        layout.addWidget(note(WHY))

        row = QHBoxLayout()
        self.language_combo = QComboBox()
        self.language_combo.setAccessibleName("Language of the statement")
        languages = list(self.speaker.info.languages) if self.speaker else ["en"]
        for code in languages:
            self.language_combo.addItem(LANGUAGES.get(code, code), code)
        label = QLabel("&Language:")
        label.setBuddy(self.language_combo)
        row.addWidget(label)
        row.addWidget(self.language_combo)
        row.addStretch(1)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.donor_check = QCheckBox("A relative gives their voice (voice &donor) (D)")
        self.donor_check.setAccessibleName("A relative gives their voice")
        row.addWidget(self.donor_check)
        self.donor_edit = QLineEdit()
        self.donor_edit.setPlaceholderText("The donor's name")
        self.donor_edit.setAccessibleName("Voice donor's name")
        row.addWidget(self.donor_edit, 1)
        layout.addLayout(row)

        self.statement_label = QLabel()
        self.statement_label.setWordWrap(True)
        self.statement_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.statement_label.setAccessibleName("Statement to read aloud")
        # the app's style sheet sets every font size; this one is long, so a little under the prompt's
        self.statement_label.setStyleSheet(f"font-size: {PROMPT_PT - 8}pt;")
        scroll = QScrollArea()                  # large fonts never cut the statement off
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(self.statement_label)
        lines_tall(scroll, 4)                   # the window scrolls when there is less room
        layout.addWidget(scroll, 1)

        self.meter = LevelMeter()
        layout.addWidget(self.meter)
        buttons = QHBoxLayout()
        self.record_button = QPushButton("&Record (R)")
        self.record_button.setAccessibleName("Record the statement")
        self.record_button.clicked.connect(self.toggle_record)
        self.play_button = QPushButton("&Play it back (P)")
        self.play_button.setAccessibleName("Play the consent recording")
        self.play_button.clicked.connect(self.play)
        self.close_button = QPushButton("Close (Esc)")
        self.close_button.setAccessibleName("Close the consent window")
        self.close_button.clicked.connect(self.close_or_stop)
        for button in (self.record_button, self.play_button, self.close_button):
            button.setAutoDefault(False)
            # wide enough for its longest text (Record/Stop) with the focus ring and padding
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 64)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.status_label = note("")
        self.status_label.setAccessibleName("Consent status")
        layout.addWidget(self.status_label)
        layout.addWidget(note(KEY_HELP))

        self.language_combo.currentIndexChanged.connect(self.refresh)
        self.donor_check.toggled.connect(self._donor_toggled)
        self.donor_edit.returnPressed.connect(self.record_button.setFocus)
        self.donor_edit.textChanged.connect(self.refresh)
        context.status.connect(self._on_status)
        self.resize(fit_screen(self, QSize(920, 780)))
        self.refresh()
        self.record_button.setFocus()

    # state -----------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.writer is not None

    @property
    def checking(self) -> bool:
        """The recording has stopped and is being checked for speech before it is kept."""
        return self._finishing is not None

    @property
    def language(self) -> str:
        return self.language_combo.currentData() or "en"

    def role(self) -> str:
        return "donor" if self.donor_check.isChecked() else "self"

    def statement(self) -> str | None:
        """The text to read, or None while a donor's name is missing or cannot be stored
        (then `_text_problem` says why)."""
        self._text_problem = None
        if self.speaker is None:
            return None
        try:
            if self.role() == "donor":
                donor = self.donor_edit.text().strip()
                if not donor:
                    return None
                return ct.statement(self.language, donor, self.today, role="donor",
                                    patient=self.speaker.name)
            return ct.statement(self.language, self.speaker.name, self.today)
        except ct.ConsentError as exc:      # e.g. a pasted name with a character that cannot be saved
            self._text_problem = str(exc)
            return None

    def refresh(self) -> None:
        self.donor_edit.setEnabled(self.donor_check.isChecked() and not self.recording and not self.checking)
        text = self.statement()
        if self.speaker is None:
            shown = "Choose or create a speaker first (Speaker page)."
        elif self._text_problem:
            shown = self._text_problem
        elif text is None:
            shown = "Type the voice donor's name above (the person who will read the prompts)."
        else:
            shown = text
        self.statement_label.setText(shown)
        self.statement_label.setAccessibleDescription(shown)
        status = consent_status(self.speaker)
        if self.recording:
            status = "● Recording… read the statement, then press R to stop."
        elif self.checking:
            status = "Checking that the recording holds your voice… one moment."
        busy = self.recording or self.checking
        self.status_label.setText(status)
        self.status_label.setAccessibleDescription(status)
        self.record_button.setText("&Stop (R)" if self.recording else "&Record (R)")
        self.record_button.setEnabled(text is not None and not self.checking)
        self.play_button.setEnabled(not busy and ct.current_consent(self.speaker) is not None
                                    if self.speaker else False)
        for widget in (self.language_combo, self.donor_check):
            widget.setEnabled(not busy)

    def _donor_toggled(self, on: bool) -> None:
        self.refresh()
        if on and not self.donor_edit.text().strip():
            self.donor_edit.setFocus()          # the statement needs the donor's name first

    # actions ---------------------------------------------------------------------------
    def toggle_record(self) -> None:
        if self.checking:
            return                  # the last recording is still being checked
        if self.recording:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        text = self.statement()
        if text is None or self.recording or self.checking:
            return
        donor = self.role() == "donor"
        try:
            self.context.ensure_open()
            writer = ct.ConsentWriter(self.speaker, text, self.language, self.context.recorder.sample_rate,
                                      role=self.role(), name=self.donor_edit.text() if donor else "",
                                      patient=self.speaker.name, day=self.today)
        except (AudioDeviceError, BankError, OSError) as exc:
            self.banner.show_message(str(exc), "error")
            return
        try:
            self.context.recorder.start_capture(writer)
        except AudioDeviceError as exc:
            writer.abort()
            self.banner.show_message(str(exc), "error")
            return
        self.writer = writer
        self.banner.clear_message()
        self.refresh()

    def stop(self, reason: str | None = None) -> None:
        """Stop recording; the recording is checked (long enough, holds speech) off the GUI
        thread and the result shown when it is done (`checking` until then). `reason`: why it
        stopped, when it was not the person (the microphone failed, the disk filled)."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        self.context.recorder.stop_capture()
        self._stop_reason, self._result = reason, None
        self._finishing = threading.Thread(target=self._finish, args=(writer,), daemon=True)
        self.banner.clear_message()
        self.refresh()
        self._finishing.start()

    def _finish(self, writer: ct.ConsentWriter) -> None:
        """The checking thread: keep the recording or say why not; never raises."""
        try:
            self._result = writer.finish()
        except Exception as exc:    # ConsentError (no speech, too short), OSError (disk), anything
            self._result = exc
        try:
            self._finished.done.emit()
        except RuntimeError:        # the window is gone; the recording was kept or refused already
            pass

    def wait_checked(self) -> None:
        """Wait for the check of the last recording and show its result (used when closing)."""
        if self._finishing is not None:
            self._finishing.join()
            self._show_result()

    def _show_result(self) -> None:
        thread, self._finishing = self._finishing, None
        if thread is None:
            return                  # already shown (the window was closed while checking)
        thread.join()
        result, reason = self._result, self._stop_reason
        prefix = f"{reason} " if reason else ""
        if isinstance(result, ct.ConsentRecord):
            self.banner.show_message(prefix + "Saved. Thank you. Press P to listen to it, or Esc to close.",
                                     "warning" if reason else "ok")
        elif isinstance(result, ct.NoSpeechError):
            self.banner.show_message(prefix + str(result) + " Press R when you are ready.", "error")
        elif isinstance(result, ct.ConsentError):
            self.banner.show_message(prefix + str(result), "warning")
        elif isinstance(result, DiskFullError):      # its text says what to do
            self.banner.show_message(prefix + str(result), "error")
        elif isinstance(result, OSError):
            self.banner.show_message(prefix + f"The recording could not be saved ({result}). Check the "
                                     "disk has space, then record again.", "error")
        elif isinstance(result, Exception):
            self.banner.show_message(prefix + f"The recording could not be checked ({result}). Press R "
                                     "to record it again.", "error")
        self.refresh()
        # Record was disabled while checking, so Qt moved the focus on (to Close): bring it back,
        # or the next Space would close the window instead of recording again
        self.record_button.setFocus()

    def cancel(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            self.context.recorder.stop_capture()
            writer.abort()
            self.banner.show_message("Recording stopped; nothing was saved. Press R to try again.", "info")
        self.refresh()

    def close_or_stop(self) -> None:
        if self.recording:
            self.cancel()
        else:
            self.wait_checked()     # the Speaker page shows whether the last recording was kept
            self.accept()

    def play(self) -> None:
        record = ct.current_consent(self.speaker) if self.speaker else None
        if record is None or self.recording:
            return
        try:
            playback.play_file(record.wav_path)
        except AudioDeviceError as exc:
            self.banner.show_message(str(exc), "error")

    # keys and the microphone -----------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        typing = isinstance(self.focusWidget(), QLineEdit)
        mods = event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier)
        if event.key() == Qt.Key_Escape:
            self.close_or_stop()
        elif mods or typing or event.isAutoRepeat():
            super().keyPressEvent(event)
        elif event.key() in (Qt.Key_R, Qt.Key_Space):
            self.toggle_record()
        elif event.key() == Qt.Key_P:
            self.play()
        elif event.key() == Qt.Key_D and not self.recording:
            self.donor_check.toggle()
        else:
            super().keyPressEvent(event)

    def reject(self) -> None:       # the window's close button: never leave a recording running
        if self.recording:
            self.cancel()
        self.wait_checked()
        super().reject()

    def _on_status(self, status: RecorderStatus) -> None:
        if not self.isVisible():
            return
        self.meter.set_levels(status.level_dbfs, status.peak_dbfs)
        if (status.write_error or status.error) and self.recording:
            # Cut off (a full disk, a microphone gone): a part of the statement is not consent,
            # so nothing is kept; the message says why and what to do.
            writer, self.writer = self.writer, None
            self.context.recorder.stop_capture()
            writer.abort()
            self.banner.show_message(status.write_error or status.error, "error")
            self.refresh()
        elif self.recording:
            self.status_label.setText(f"● Recording… {status.captured_s:.0f} s. Press R to stop.")


def consent_row(layout, open_dialog) -> tuple[QPushButton, QLabel]:
    """The Speaker page's button and status line (added to `layout`)."""
    button = QPushButton("&Consent statement…")
    button.setAccessibleName("Record the consent statement")
    button.clicked.connect(open_dialog)
    status = note("")
    status.setAccessibleName("Consent status")
    row = QHBoxLayout()
    row.addWidget(button)
    row.addWidget(status, 1)
    layout.addLayout(row)
    return button, status
