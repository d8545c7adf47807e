"""Export voice… / Import voice… / Delete voice…: a small bar any page that lists voices can hold.

    bar = VoiceActionsBar(lambda: context.speaker, lambda: chosen_voice_folder_or_None)
    bar.changed.connect(page.refresh_voices)      # after an import or a delete
    bar.message.connect(banner.show_message)      # (text, "info" | "warning" | "error")

Export and delete run here (plain file work, no torch). Import runs `voicebank voice import` in a
child process (QProcess): checking a package opens its model files with torch, which the GUI
never imports. File dialogs and the confirmation are attributes, so tests can replace them.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QProcess, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QWidget

from core.speak.page_state import app_words
from core.voices.export import export_voice
from core.voices.package import SUFFIX, VoicePackageError
from desktop.widgets import confirm_delete

FILTER = f"Voice files (*{SUFFIX})"


def voice_command(args: list[str]) -> tuple[str, list[str]]:
    """`voicebank ARGS` as a program and arguments: this interpreter, or the frozen app itself."""
    if getattr(sys, "frozen", False):
        return sys.executable, args
    return sys.executable, ["-m", "voicebank", *args]


class VoiceActionsBar(QWidget):
    changed = Signal()              # the speaker's voices changed: refresh the list
    message = Signal(str, str)      # text for the user, level

    def __init__(self, speaker: Callable[[], object | None], voice: Callable[[], Path | None],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._speaker, self._voice = speaker, voice
        self._process: QProcess | None = None
        self.ask_save_path = self._ask_save_path
        self.ask_open_path = self._ask_open_path
        self.confirm = lambda title, text: confirm_delete(self, title, text)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.export_button = self._button("Ex&port voice…", "Save the chosen voice as one file, "
                                          "to move it to another computer or keep it safe", self.export)
        self.import_button = self._button("&Import voice…", "Add a voice from a .voicebank file",
                                          self.import_voice)
        self.delete_button = self._button("&Delete voice…", "Delete the chosen voice and everything "
                                          "made with it, for good", self.delete)
        for button in (self.export_button, self.import_button, self.delete_button):
            layout.addWidget(button)
        layout.addStretch(1)

    @property
    def importing(self) -> QProcess | None:
        """The import under way (its button stays disabled until it ends), or None."""
        return self._process

    def _button(self, text: str, description: str, slot) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.clicked.connect(slot)
        return button

    # dialogs (replaced in tests) -------------------------------------------------------------
    def _ask_save_path(self, suggested: str) -> str:
        return QFileDialog.getSaveFileName(self, "Export voice", suggested, FILTER)[0]

    def _ask_open_path(self) -> str:
        return QFileDialog.getOpenFileName(self, "Import voice", str(Path.home()), FILTER)[0]

    # actions ---------------------------------------------------------------------------------
    def _chosen(self) -> Path | None:
        folder = self._voice()
        if folder is None:
            self.message.emit("Choose a voice first.", "warning")
        return folder

    def export(self) -> Path | None:
        folder = self._chosen()
        if folder is None:
            return None
        speaker = self._speaker()
        suggested = str(Path.home() / f"{folder.name}{SUFFIX}")
        target = self.ask_save_path(suggested)
        if not target:
            return None
        try:
            path = export_voice(folder, Path(target), speaker_name=getattr(speaker, "name", None))
        except VoicePackageError as exc:
            self.message.emit(app_words(str(exc)), "error")
            return None
        self.message.emit(f"The voice was saved as {path}. Copy this one file to move the voice; "
                          "on the other computer choose “Import voice…”.", "info")
        return path

    def import_voice(self) -> None:
        speaker = self._speaker()
        if speaker is None:
            self.message.emit("Choose a speaker first: the voice is added to their voices.", "warning")
            return
        if self._process is not None:
            self.message.emit("A voice is being imported already; wait for it to finish.", "warning")
            return
        source = self.ask_open_path()
        if not source:
            return
        program, args = voice_command(["--bank", str(Path(speaker.folder).parent), "voice", "import",
                                       source, "--speaker", speaker.id])
        self._process = process = QProcess(self)
        process.finished.connect(lambda code, _status: self._imported(process, code))
        self.import_button.setEnabled(False)
        self.message.emit("Checking and importing the voice…", "info")
        process.start(program, args)

    def _imported(self, process: QProcess, code: int) -> None:
        err = bytes(process.readAllStandardError()).decode("utf-8", "replace").strip()
        self._process = None
        self.import_button.setEnabled(True)
        process.deleteLater()
        if code == 0:
            self.message.emit("The voice was imported. Choose it in the Voice list (Alt+V).", "ok")
            self.changed.emit()
        else:
            last = err.splitlines()[-1] if err else "the import stopped unexpectedly"
            self.message.emit(app_words(last.removeprefix("voicebank voice: ")), "error")

    def delete(self) -> bool:
        from core.voices.erase import delete_voice

        folder = self._chosen()
        if folder is None:
            return False
        if not self.confirm("Delete voice", f"Delete the voice {folder.name} for good? Its model "
                            "files, reference recording, samples, consent copy, cached phrases and "
                            "what was said in it are deleted. Your recordings stay."):
            return False
        try:
            report = delete_voice(folder)
        except VoicePackageError as exc:
            self.message.emit(app_words(str(exc)), "error")
            return False
        self.message.emit(f"The voice {folder.name} was deleted ({report.files} files).", "info")
        self.changed.emit()
        return True
