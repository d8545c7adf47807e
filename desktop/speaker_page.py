"""Page 1: who is recording, their own messages, and which microphone to use."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from core.audio.advice import what_to_fix
from core.audio.capture import NO_MICROPHONE, AudioDeviceError
from core.bank.store import BankError
from core.diskspace import DiskFullError
from core.speak.messages import MessageRecording, message_recordings
from core.voices.erase import delete_speaker, speaker_files
from desktop.consent_page import ConsentDialog, consent_row, consent_status
from desktop.context import AppContext
from desktop.flow_layout import FlowLayout
from desktop.style import GRADES, UNCHECKED
from desktop.widgets import Banner, confirm_delete, heading, lines_tall, note, set_available

NO_SPEAKER_YET = "Create or choose a speaker first: type a name above and press Enter."
LANGUAGE_CHOICES = [("Mandarin and English", ["zh", "en"]), ("Mandarin only", ["zh"]),
                    ("English only", ["en"])]
MESSAGE_NOTE = ("Your own messages come first when you record. They are kept exactly as you "
                "record them — say them the way you want them heard, for example \"I love you\" "
                "or the names of the people close to you.")


RECORD_AGAIN = "●  Record again"
RECORD_FIRST = "●  Record it"
EXPORT_ABOUT = ("Saves your recorded messages into a new folder, one sound file each, named by its "
                "words, for the message banking of AAC software (Grid 3, TD Snap…)")
NOTHING_TO_EXPORT = ("Record at least one of your messages first: only recordings marked ✓ Good or "
                     "! Fair are exported.")


class SpeakerPage(QWidget):
    go_next = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.banner = Banner()
        outer = QVBoxLayout(self)
        outer.addWidget(heading("Speaker and microphone"))
        outer.addWidget(self.banner)

        who = QGroupBox("Who is recording")
        who_layout = QVBoxLayout(who)
        row = QHBoxLayout()
        self.speaker_combo = QComboBox()
        self.speaker_combo.setAccessibleName("Speaker")
        self.speaker_combo.currentIndexChanged.connect(self._speaker_chosen)
        speaker_label = QLabel("&Speaker:")
        speaker_label.setBuddy(self.speaker_combo)
        row.addWidget(speaker_label)
        row.addWidget(self.speaker_combo, 1)
        who_layout.addLayout(row)
        row = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("New speaker's name")
        self.name_edit.setAccessibleName("New speaker name")
        self.name_edit.returnPressed.connect(self.create_speaker)
        self.language_combo = QComboBox()
        self.language_combo.setAccessibleName("Languages to record")
        for text, _ in LANGUAGE_CHOICES:
            self.language_combo.addItem(text)
        self.create_button = QPushButton("Create speaker")
        self.create_button.setAccessibleName("Create speaker")
        self.create_button.clicked.connect(self.create_speaker)
        row.addWidget(self.name_edit, 2)
        row.addWidget(self.language_combo, 1)
        row.addWidget(self.create_button)
        who_layout.addLayout(row)
        self.consent_button, self.consent_note = consent_row(who_layout, self.open_consent)
        self.consent_dialog: ConsentDialog | None = None
        outer.addWidget(who)

        messages = QGroupBox("Your own messages")
        msg_layout = QVBoxLayout(messages)
        msg_layout.addWidget(note(MESSAGE_NOTE))
        self.message_list = QListWidget()
        self.message_list.setAccessibleName("Your messages")
        lines_tall(self.message_list, 4)        # four messages, at any text size
        msg_layout.addWidget(self.message_list)
        row = QHBoxLayout()
        self.message_edit = QLineEdit()
        self.message_edit.setPlaceholderText("Type a message, then press Enter")
        self.message_edit.setAccessibleName("New message text")
        self.message_edit.returnPressed.connect(self.add_message)
        self.add_button = QPushButton("Add message")
        self.add_button.setAccessibleName("Add message")
        self.add_button.clicked.connect(self.add_message)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setAccessibleName("Remove selected message")
        self.remove_button.setToolTip("Removes it from the list; anything already recorded stays on disk.")
        self.remove_button.clicked.connect(self.remove_message)
        self.record_again_button = QPushButton(RECORD_AGAIN)
        self.record_again_button.setAccessibleName("Record the selected message again")
        self.record_again_button.setAccessibleDescription("Goes to the Record page at this message; "
                                                          "the old take is kept")
        self.record_again_button.clicked.connect(self.record_message_again)
        self.message_state = note("")
        self.message_state.setAccessibleName("The selected message")
        self.message_list.currentRowChanged.connect(lambda _row: self.show_message_state())
        row.addWidget(self.message_edit, 1)
        row.addWidget(self.add_button)
        msg_layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.record_again_button)
        row.addWidget(self.remove_button)
        row.addWidget(self.message_state, 1)
        msg_layout.addLayout(row)
        row = FlowLayout()
        self.export_button = QPushButton("&Export my messages for AAC…")
        self.export_button.setAccessibleName("Export my messages for AAC software")
        self.export_button.setAccessibleDescription(EXPORT_ABOUT)
        self.export_button.setToolTip(EXPORT_ABOUT)
        self.export_button.clicked.connect(self.export_messages)
        # tests replace the folder chooser
        self.ask_export_folder = lambda: QFileDialog.getExistingDirectory(
            self, "Choose where to save your messages", str(Path.home()))
        row.addWidget(self.export_button)
        msg_layout.addLayout(row)
        outer.addWidget(messages)

        mic = QGroupBox("Microphone")
        mic_layout = QVBoxLayout(mic)
        row = QHBoxLayout()
        self.device_combo = QComboBox()
        self.device_combo.setAccessibleName("Microphone")
        self.device_combo.currentIndexChanged.connect(self._device_chosen)
        self.refresh_button = QPushButton("Refresh list")
        self.refresh_button.setAccessibleName("Refresh microphone list")
        self.refresh_button.clicked.connect(self.refresh_devices)
        row.addWidget(self.device_combo, 1)
        row.addWidget(self.refresh_button)
        mic_layout.addLayout(row)
        self.device_note = note("")
        self.device_note.setAccessibleName("Microphone status")
        mic_layout.addWidget(self.device_note)
        outer.addWidget(mic)
        row = FlowLayout()          # wraps at the largest text size on a small screen
        self.delete_button = QPushButton("Delete this speaker…")
        self.delete_button.setAccessibleName("Delete this speaker")
        self.delete_button.setAccessibleDescription("Delete every recording, voice and file of the "
                                                    "chosen speaker, for good, after asking")
        self.delete_button.clicked.connect(self.delete_speaker)
        # tests replace the question
        self.confirm = lambda title, text: confirm_delete(self, title, text, "Keep everything")
        row.addWidget(self.delete_button)
        self.next_button = QPushButton("Next: room check (Ctrl+2) →")
        self.next_button.setAccessibleName("Next: room check")
        self.next_button.clicked.connect(self.go_next)
        row.addWidget(self.next_button)
        outer.addLayout(row)
        outer.addStretch(1)

        self.refresh_speakers()
        self.refresh_devices()

    # speakers --------------------------------------------------------------------------
    def refresh_speakers(self, select_id: str | None = None) -> None:
        try:
            speakers = self.context.bank.speakers()
        except (OSError, BankError) as exc:
            self.banner.show_message(f"The voice bank folder could not be read ({exc}).", "error")
            speakers = []
        self.speaker_combo.blockSignals(True)
        self.speaker_combo.clear()
        for speaker in speakers:
            self.speaker_combo.addItem(speaker.name, speaker.id)
        if not speakers:
            self.speaker_combo.addItem("(none yet: type a name below and press Enter)", None)
        wanted = select_id or (self.context.speaker.id if self.context.speaker else None)
        index = self.speaker_combo.findData(wanted) if wanted else 0
        self.speaker_combo.setCurrentIndex(max(index, 0))
        self.speaker_combo.blockSignals(False)
        self._speaker_chosen()

    def _speaker_chosen(self) -> None:
        speaker_id = self.speaker_combo.currentData()
        speaker = None
        if speaker_id:
            try:
                speaker = self.context.bank.speaker(speaker_id)
            except BankError as exc:
                self.banner.show_message(str(exc), "error")
        self.context.set_speaker(speaker)
        self.refresh_messages()
        self.show_consent()

    def show_consent(self) -> None:
        for button in (self.consent_button, self.delete_button, self.next_button):
            set_available(button, self.context.speaker is not None, NO_SPEAKER_YET)
        self.consent_note.setText(consent_status(self.context.speaker))
        self.consent_note.setAccessibleDescription(self.consent_note.text())

    def open_consent(self) -> None:
        if self.context.speaker is None:
            self.banner.show_message("Choose or create a speaker first.", "warning")
            return
        self.consent_dialog = ConsentDialog(self.context, self)
        self.consent_dialog.finished.connect(lambda _result: self.show_consent())
        self.consent_dialog.open()

    def delete_speaker(self) -> None:
        """The right to erase: every take, voice, consent record and cache of this speaker."""
        speaker = self.context.speaker
        if speaker is None:
            self.banner.show_message("Choose a speaker first.", "warning")
            return
        try:
            takes = len(speaker.current_takes())
        except OSError:
            takes = 0
        question = (f"Delete {speaker.name} for good?\n\nThis removes their {takes} recorded "
                    "prompt(s) with every take, "
                    "their consent recording, every voice built from them and everything said in "
                    "those voices. It cannot be undone. Make a backup first if you may want them "
                    "again (voicebank backup).")
        if not self.confirm("Delete this speaker", question):
            self.banner.show_message(f"Nothing was deleted; {speaker.name} is kept.", "info")
            return
        self.context.set_speaker(None)      # closes the session before its folder goes
        try:
            report = delete_speaker(self.context.bank, speaker.id)
        except OSError as exc:
            left = [p for p in speaker_files(self.context.bank, speaker.id, scratch=False) if p.exists()]
            self.banner.show_message(f"Some files of {speaker.name} could not be deleted ({exc}). "
                                     f"Close other programs using them and try again; {len(left)} "
                                     "item(s) are left.", "error")
            self.refresh_speakers()
            return
        self.refresh_speakers()
        self.banner.show_message(f"{speaker.name} was deleted: {report.files} file(s) removed.", "ok")

    def create_speaker(self) -> None:
        languages = LANGUAGE_CHOICES[self.language_combo.currentIndex()][1]
        try:
            speaker = self.context.bank.create_speaker(self.name_edit.text(), languages)
        except (BankError, DiskFullError) as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.name_edit.clear()
        self.refresh_speakers(select_id=speaker.id)
        self.banner.show_message(f"Created {speaker.name}. Next: the room check (Ctrl+2).", "ok")

    # messages --------------------------------------------------------------------------
    def page_shown(self) -> None:
        self.refresh_messages()         # a message recorded since shows its new grade
        if self.context.speaker is None:
            self.name_edit.setFocus()   # nobody yet: the name comes first

    def refresh_messages(self) -> None:
        """Each message with its grade in words; the chosen one stays chosen."""
        current = self.message_list.currentItem()
        keep = current.data(Qt.UserRole) if current is not None else None
        self.message_list.clear()
        speaker = self.context.speaker
        self.message_edit.setEnabled(speaker is not None)
        self.add_button.setEnabled(speaker is not None)
        self.recordings: dict[str, MessageRecording] = {}
        for recording in message_recordings(speaker) if speaker is not None else []:
            self.recordings[recording.message.id] = recording
            item = QListWidgetItem(f"{recording.words}   —   {recording.message.text}")
            item.setData(Qt.UserRole, recording.message.id)
            grade = recording.take.grade if recording.take is not None else None
            colour = GRADES.get("red" if recording.state == "missing" else grade or "", UNCHECKED)[1]
            item.setForeground(QColor(colour if recording.take is not None else "#111111"))
            self.message_list.addItem(item)
            if recording.message.id == keep:
                self.message_list.setCurrentItem(item)
        exportable = any(r.usable and r.take.grade in ("green", "amber") for r in self.recordings.values())
        set_available(self.export_button, exportable,
                      NO_SPEAKER_YET if speaker is None else NOTHING_TO_EXPORT)
        self.show_message_state()

    def show_message_state(self) -> None:
        """What the chosen message's recording means on the Speak page, and the button's words."""
        item = self.message_list.currentItem()
        recording = getattr(self, "recordings", {}).get(item.data(Qt.UserRole)) if item is not None else None
        for button in (self.record_again_button, self.remove_button):
            button.setEnabled(self.context.speaker is not None)     # without a choice they say what to do
        if recording is None:
            text = "Select a message to record it again or remove it." if self.message_list.count() else ""
        elif recording.state == "none":
            text = "Not recorded yet. Press “Record it” to record it now."
        elif recording.usable:
            text = "Plays on the Speak page when you type these words."
        else:
            fix = what_to_fix(recording.take.quality, recording.take.interrupted) \
                if recording.state == "unusable" else "The recording file is missing"
            text = f"Cannot be played as your own voice ({fix}). Press “Record again”."
        self.record_again_button.setText(RECORD_FIRST if recording is not None and recording.state == "none"
                                         else RECORD_AGAIN)
        self.message_state.setText(text)
        self.message_state.setAccessibleDescription(text)

    def record_message_again(self) -> None:
        item = self.message_list.currentItem()
        if self.context.speaker is None or item is None:
            self.banner.show_message("Select a message in the list first: click it, or use the arrow keys.",
                                     "warning")
            return
        self.context.open_record_at.emit(item.data(Qt.UserRole))

    def add_message(self) -> None:
        if self.context.speaker is None:
            self.banner.show_message("Choose or create a speaker first.", "warning")
            return
        try:
            prompt = self.context.speaker.add_message(self.message_edit.text())
        except (BankError, DiskFullError) as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.message_edit.clear()
        self.context.prompts_changed()
        self.refresh_messages()
        for row in range(self.message_list.count()):      # chosen, so "Record it" records this one
            if self.message_list.item(row).data(Qt.UserRole) == prompt.id:
                self.message_list.setCurrentRow(row)
        self.banner.show_message(f"Added: “{prompt.text}” Press “Record it” to record it now, or add "
                                 "another. Your messages come first on the Record page.", "ok")

    def remove_message(self) -> None:
        item = self.message_list.currentItem()
        if self.context.speaker is None or item is None:
            self.banner.show_message("Select a message in the list first (use the arrow keys).", "warning")
            return
        try:
            self.context.speaker.remove_message(item.data(Qt.UserRole))
        except DiskFullError as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.context.prompts_changed()
        self.refresh_messages()
        self.banner.show_message("Removed from the list. Anything you recorded for it is still kept.", "ok")

    def export_messages(self) -> Path | None:
        """The person's own usable messages into a new folder inside the one they choose."""
        speaker = self.context.speaker
        if speaker is None:
            self.banner.show_message(NO_SPEAKER_YET, "warning")
            return None
        chosen = self.ask_export_folder()
        if not chosen:
            return None         # the chooser was closed: nothing to say
        from core.speak.aac_export import export_folder_in, export_messages  # scipy: only now
        try:
            result = export_messages(speaker, export_folder_in(Path(chosen), speaker.name))
        except (BankError, DiskFullError) as exc:
            self.banner.show_message(str(exc), "error")
            return None
        except OSError as exc:
            self.banner.show_message(f"Your messages could not be exported ({exc.strerror or exc}). "
                                     "Nothing was exported. Choose another folder and try again.", "error")
            return None
        self.banner.show_message(result.describe(), "warning" if result.left_out else "ok")
        return result.folder

    # microphone ------------------------------------------------------------------------
    def refresh_devices(self) -> None:
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("System default microphone", None)
        try:
            devices = self.context.list_devices()
        except AudioDeviceError as exc:
            devices = []
            self.device_note.setText(f"✗ {exc}")
        else:
            self.device_note.setText(f"✗ {NO_MICROPHONE}" if not devices
                                     else f"✓ {len(devices)} microphone(s) found.")
        for device in devices:
            self.device_combo.addItem(device.label, device.index)
        index = self.device_combo.findData(self.context.device) if self.context.device is not None else 0
        self.device_combo.setCurrentIndex(max(index, 0))
        self.device_combo.blockSignals(False)
        self.device_note.setAccessibleDescription(self.device_note.text())
        self._device_chosen()

    def _device_chosen(self) -> None:
        self.context.set_device(self.device_combo.currentData(), self.device_combo.currentText())
