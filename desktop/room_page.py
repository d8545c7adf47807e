"""Page 2: measure the room's background noise before a session (3 s of silence). Speech or a
sudden sound during the check is told apart from steady noise (core.audio.quality.check_room):
the page says so and offers to measure again; a session started anyway is marked, so that its
takes are checked against their own pauses rather than a spoiled figure."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from core.audio.capture import AudioDeviceError, BufferSink, RecorderStatus
from core.bank.store import BankError
from core.diskspace import DiskFullError
from desktop.context import AppContext
from desktop.widgets import Banner, LevelMeter, heading, note

ROOM_SECONDS = 3.0
INTRO = ("Sit where you will record, with the microphone in place. Press Enter, then stay quiet "
         "for 3 seconds while the app listens to the room.")


class RoomPage(QWidget):
    go_record = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self._sink: BufferSink | None = None
        self.verdict = None          # core.audio.quality.RoomVerdict after a check
        context.session_started.connect(self._mark_session)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Room check"))
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.intro = note(INTRO)
        layout.addWidget(self.intro)
        self.meter = LevelMeter()
        layout.addWidget(self.meter)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFormat("Listening… stay quiet")
        self.progress.setAccessibleName("Room check progress")
        self.progress.hide()
        layout.addWidget(self.progress)
        self.result = QLabel("")
        self.result.setObjectName("heading")
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Room check result")
        layout.addWidget(self.result)
        self.advice = note("")
        self.advice.setAccessibleName("Room check advice")
        layout.addWidget(self.advice)

        row = QHBoxLayout()
        self.check_button = QPushButton("Start room check")
        self.check_button.setAccessibleName("Start room check")
        self.check_button.clicked.connect(self.start_check)
        self.record_button = QPushButton("Start recording")
        self.record_button.setAccessibleName("Start recording session")
        self.record_button.clicked.connect(self.begin_session)
        self.anyway_button = QPushButton("Continue anyway")
        self.anyway_button.setAccessibleName("Continue anyway in a noisy room")
        self.anyway_button.clicked.connect(self.begin_session)
        for button in (self.check_button, self.record_button, self.anyway_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)
        self.record_button.hide()
        self.anyway_button.hide()
        context.status.connect(self._on_status)

    @property
    def measuring(self) -> bool:
        return self._sink is not None

    def page_shown(self) -> None:
        try:
            self.context.ensure_open()
        except AudioDeviceError as exc:
            self.banner.show_message(str(exc), "error")
            return
        if self.banner.kind == "error":
            self.banner.clear_message()
        self.check_button.setFocus()

    def start_check(self) -> None:
        if self.measuring:
            return
        try:
            self.context.ensure_open()
            sink = BufferSink(int(ROOM_SECONDS * self.context.recorder.sample_rate))
            self.context.recorder.start_capture(sink)
        except AudioDeviceError as exc:
            self.banner.show_message(str(exc), "error")
            return
        self._sink = sink
        self.banner.clear_message()
        self.result.setText("Be quiet for 3 seconds…")
        self.advice.setText("")
        self.progress.setValue(0)
        self.progress.show()
        self.record_button.hide()
        self.anyway_button.hide()
        self.check_button.setEnabled(False)

    def _on_status(self, status: RecorderStatus) -> None:
        if not self.isVisible() and not self.measuring:
            return
        self.meter.set_levels(status.level_dbfs, status.peak_dbfs)
        if not self.measuring:
            if status.error and self.banner.kind != "error":
                self.banner.show_message(status.error, "error")
            return
        self.progress.setValue(int(100 * min(status.captured_s / ROOM_SECONDS, 1.0)))
        if status.error:
            self.context.recorder.stop_capture()
            self._sink = None
            self._reset_buttons()
            self.progress.hide()
            self.result.setText("")
            self.banner.show_message(status.error + " Then press Enter to check the room again.", "error")
        elif status.sink_full:
            self._finish_check()

    def _finish_check(self) -> None:
        sink = self.context.recorder.stop_capture()
        self._sink = None
        self.progress.hide()
        self._reset_buttons()
        try:
            # imported here: scipy/pyloudnorm/RNNoise are slow to load and only needed now
            from core.audio.quality import QualityThresholds, check_room
        except ImportError as exc:
            self.banner.show_message(f"The room check is not installed ({exc}). "
                                     "You can still record: choose Continue anyway.", "error")
            self.anyway_button.show()
            self.anyway_button.setFocus()
            return
        samples = sink.samples()
        try:
            verdict = check_room(samples, self.context.recorder.sample_rate)
        except ValueError:
            self.banner.show_message("No sound came from the microphone. Check it is plugged in and "
                                     "chosen on the Speaker page (Ctrl+1), then press Enter.", "error")
            return
        self.verdict = verdict
        # When speech or a sound spoiled the check, this is the level between the sounds: the best
        # guess there is (continuous mode's silence detection uses it); takes trust their own pauses.
        # Someone who talked all through it leaves no quiet between the sounds: the figure is then
        # the voice's, and continuous mode would never hear the speech stop. So it is kept no higher
        # than a quiet enough room's.
        floor = float(verdict.noise_floor_dbfs)
        if verdict.disturbed:
            floor = min(floor, QualityThresholds().room_noise_floor_max_dbfs)
        self.context.noise_floor_dbfs = floor
        self.context.room_ok = bool(verdict.ok)
        self._reset_buttons()
        self.result.setText(verdict.headline)
        if verdict.ok:
            self.advice.setText(verdict.message + "\nPress Enter to start recording.")
            self.record_button.show()
            self.record_button.setFocus()
        else:
            self.advice.setText(verdict.message + "\nPress Enter to check again, or Tab to "
                                "\"Continue anyway\" and Enter.")
            self.anyway_button.show()
            self.check_button.setFocus()
        self.result.setAccessibleDescription(self.result.text())
        self.advice.setAccessibleDescription(self.advice.text())

    def _reset_buttons(self) -> None:
        self.check_button.setEnabled(True)
        self.check_button.setText("Check again" if self.verdict is not None else "Start room check")

    def _mark_session(self, session) -> None:
        """A session started after a disturbed room check: say so in it, so that its takes are
        checked against their own pauses (core.bank.process)."""
        speaker = self.context.speaker
        if self.verdict is None or not self.verdict.disturbed or speaker is None:
            return
        session.room_disturbed = True
        try:
            speaker.save_session(session)
        except (BankError, DiskFullError, OSError):
            pass        # the takes still compare their own pauses with the room check's figure

    def begin_session(self) -> None:
        try:
            self.context.start_session()
        except (BankError, DiskFullError) as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.go_record.emit()

    def cancel(self) -> None:
        """Leaving the page mid-check: drop the measurement."""
        if self.measuring:
            self.context.recorder.stop_capture()
            self._sink = None
            self._reset_buttons()
            self.progress.hide()
            self.result.setText("")
