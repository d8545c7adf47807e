"""Two boxes of the Build page (torch-free):

- ModelsBox: which base files are installed, what to do about missing ones, and "Import a
  folder…" (core.models.importer, off the GUI thread);
- SampleBox: one sentence the user recorded, said in the new voice: "Play my recording" beside
  "Play my new voice".
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from core.audio import playback
from core.audio.capture import AudioDeviceError
from core.bank.store import BankError, Speaker, Take
from desktop import build_support as support
from desktop.flow_layout import FlowLayout
from desktop.widgets import note, set_available

MODELS_HELP = ("To get the missing files: press “Import a folder…” and choose a GPT-SoVITS "
               "pretrained_models folder (or a copy of it on a USB stick), or, with internet, run "
               "`voicebank models download` in a terminal.")
NO_SAMPLE = "When a voice is ready, a sentence you recorded is said in it here."
NOTHING_TO_COMPARE = "Nothing to compare yet: make a first version (F) or build your voice (B)."


class ModelsBox(QGroupBox):
    checked = Signal()                  # train_ready / speak_ready are up to date
    message = Signal(str, str)          # text, banner kind

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Base models", parent)
        self.train_ready = False
        self.speak_ready = False
        self.background = support.BackgroundCall(self)
        self.background.done.connect(self._done)
        layout = QVBoxLayout(self)
        self.label = note("Checking the base models…")
        self.label.setAccessibleName("Base models")
        self.help = note(MODELS_HELP)
        self.help.setAccessibleName("How to get the base models")
        self.import_button = QPushButton("&Import a folder… (I)")
        self.import_button.setAccessibleName("Import base model files from a folder")
        self.import_button.clicked.connect(self.import_models)
        row = QHBoxLayout()
        row.addWidget(self.help, 1)
        row.addStretch(0)
        row.addWidget(self.import_button, 0, Qt.AlignTop)
        layout.addWidget(self.label)
        layout.addLayout(row)

    @property
    def importing(self) -> bool:
        return self.background.busy("import")

    @property
    def checking(self) -> bool:
        return self.background.busy("models")

    def refresh(self) -> None:
        """Check the store in the background (the first check may hash a gigabyte)."""
        self.background.start("models", lambda: (support.model_status("train"), support.model_status("speak"),
                                                 support.optional_model_status()))

    def choose_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, "Choose the folder with the model files")

    def import_models(self) -> None:
        folder = self.choose_folder()
        if not folder or self.importing:
            return
        from core.models.importer import import_from
        self.message.emit(f"Importing model files from {folder}… (large files take a minute)", "info")
        self.background.start("import", lambda: import_from(Path(folder)))
        set_available(self.import_button, False, "Model files are being imported; a moment.")

    def _done(self, tag: str, result: Any, error: Exception | None) -> None:
        if tag == "import":
            set_available(self.import_button, True)
            if error is not None:
                self.message.emit(f"Nothing was imported: {error} Choose the folder that holds the "
                                  "model files and try again.", "error")
            else:
                found = "" if result.items else " None of the base model files were in that folder."
                self.message.emit(result.summary() + found,
                                  "warning" if (result.rejected or not result.items) else "ok")
            self.refresh()
            return
        if error is not None:
            self.train_ready = self.speak_ready = False
            self.label.setText(f"✗ The base models could not be checked ({error}).")
        else:
            train, speak, optional = result
            self.train_ready, text = support.models_text(train)
            self.speak_ready = support.models_text(speak)[0]
            if not self.train_ready:
                text += "\nBuilding needs every file above." + (
                    " The files for a first version (F) are installed." if self.speak_ready else "")
            text += support.optional_text(optional)
            self.label.setText(text)
        self.label.setAccessibleDescription(self.label.text())
        self.help.setVisible(not self.train_ready)
        self.checked.emit()

    def wait(self, timeout_s: float = 5.0) -> None:
        self.background.wait(timeout_s)


class SampleBox(QGroupBox):
    error = Signal(str)                 # playback failed: words for the banner

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Compare: your recording and your new voice", parent)
        self.take: Take | None = None
        self.out: Path | None = None    # the sentence in the new voice, once made
        layout = QVBoxLayout(self)
        self.label = note(NO_SAMPLE)
        self.label.setAccessibleName("Sample sentence")
        self.play_mine_button = QPushButton("Play my &recording (R)")
        self.play_mine_button.setAccessibleName("Play my recording of the sentence")
        self.play_mine_button.clicked.connect(self.play_mine)
        self.play_voice_button = QPushButton("Play my new &voice (V)")
        self.play_voice_button.setAccessibleName("Play the sentence in my new voice")
        self.play_voice_button.clicked.connect(self.play_voice)
        layout.addWidget(self.label)
        buttons = FlowLayout()
        buttons.addWidget(self.play_mine_button)
        buttons.addWidget(self.play_voice_button)
        layout.addLayout(buttons)
        self.update_buttons()

    def _show(self, text: str) -> None:
        self.label.setText(text)
        self.label.setAccessibleDescription(text)
        self.update_buttons()

    def clear(self) -> None:
        self.take = self.out = None
        self._show(NO_SAMPLE)

    def saying(self, take: Take) -> None:
        """The new voice is about to say this take's sentence."""
        self.take, self.out = take, None
        self._show(f"“{take.text}”")

    def said(self, out: Path) -> None:
        self.out = Path(out)
        if self.take is not None and self.out.exists():
            try:
                support.remember_sample(self.out.parent, self.take)
            except OSError:
                pass                    # only the comparison after a restart is lost
        self.update_buttons()

    def restore(self, speaker: Speaker) -> None:
        """After a restart: the newest voice's sample, to compare again."""
        try:
            found = support.latest_sample(speaker)
        except (BankError, OSError, ValueError):
            found = None
        if found is not None:
            voice, self.take, self.out = found
            self._show(f"“{self.take.text}”  (your voice from {voice.name})")

    def update_buttons(self) -> None:
        set_available(self.play_mine_button, self.take is not None, NOTHING_TO_COMPARE)
        set_available(self.play_voice_button, self.out is not None and self.out.exists(),
                      NOTHING_TO_COMPARE if self.take is None else "Your new voice is saying it; a moment.")

    def play_mine(self) -> None:
        if self.take is not None:
            self._play(self.take.raw_path)

    def play_voice(self) -> None:
        if self.out is not None:
            self._play(self.out)

    def _play(self, path: Path) -> None:
        try:
            playback.play_file(path)
        except AudioDeviceError as exc:
            self.error.emit(str(exc))
