"""State shared by the pages: the bank, the chosen speaker and microphone, the open session.

It also polls the recorder ~30 times a second and broadcasts its status, so the pages never
touch the audio thread directly.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from core.audio.capture import AudioDeviceError, InputDevice, Recorder, RecorderStatus, list_input_devices
from core.bank.prompts import Prompt
from core.bank.store import Bank, BankError, Session, Speaker

POLL_MS = 33


class AppContext(QObject):
    speaker_changed = Signal(object)        # Speaker | None
    session_started = Signal(object)        # Session
    status = Signal(object)                 # RecorderStatus, while the microphone is open
    open_record_at = Signal(str)            # prompt id: the review page asks for a re-record

    def __init__(self, bank: Bank, recorder: Recorder,
                 list_devices: Callable[[], list[InputDevice]] = list_input_devices,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.bank = bank
        self.recorder = recorder
        self.list_devices = list_devices
        self.speaker: Speaker | None = None
        self.session: Session | None = None
        self.device: int | None = None          # None = the system's default microphone
        self.device_label = "default microphone"
        self.noise_floor_dbfs: float | None = None
        self.room_ok: bool | None = None
        self._prompts: list[Prompt] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    # speaker and prompts ---------------------------------------------------------
    def set_speaker(self, speaker: Speaker | None) -> None:
        if speaker is not None and self.speaker is not None and speaker.id == self.speaker.id:
            self.speaker = speaker
            self._prompts = None
            return
        self.speaker = speaker
        self.session = None             # a session belongs to one speaker
        self._prompts = None
        self.speaker_changed.emit(speaker)

    def prompts(self) -> list[Prompt]:
        """The speaker's prompts (cached: the scripts are hundreds of lines). Raises BankError."""
        if self.speaker is None:
            return []
        if self._prompts is None:
            self._prompts = self.speaker.prompts()
        return self._prompts

    def prompts_changed(self) -> None:
        self._prompts = None

    # microphone ------------------------------------------------------------------
    def set_device(self, device: int | None, label: str) -> None:
        if device != self.device and self.recorder.is_open and not self.recorder.capturing:
            self.recorder.close()
        self.device = device
        self.device_label = label

    def ensure_open(self) -> None:
        """Open the microphone if it is not open, or reopen it after it failed. Raises AudioDeviceError."""
        if self.recorder.is_open and self.recorder.status().error is None:
            return
        self.recorder.open(self.device)

    # session ---------------------------------------------------------------------
    def start_session(self) -> Session:
        if self.speaker is None:
            raise BankError("Choose or create a speaker first (Ctrl+1).")
        self.session = self.speaker.start_session(self.device_label, self.noise_floor_dbfs, self.room_ok)
        self.session_started.emit(self.session)
        return self.session

    def ensure_session(self) -> Session:
        return self.session if self.session is not None else self.start_session()

    def _poll(self) -> None:
        if self.recorder.is_open:
            status: RecorderStatus = self.recorder.status()
            self.status.emit(status)

    def shutdown(self) -> None:
        self._timer.stop()
        try:
            self.recorder.close()
        except AudioDeviceError:
            pass
