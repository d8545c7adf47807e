"""Pronunciation dictionary: teach the voice how to say names and places.

Word -> pinyin ("张三" -> "zhang1 san1") or ARPAbet ("Alice" -> "AE1 L IH0 S"), validated by
core.text.userdict; every accepted change is saved at once (nothing to lose on Esc), to the file
the speak job hands to the engine (core.speak.dictionary).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from core.speak.dictionary import dictionary_path, load_dictionary, save_dictionary
from core.text.userdict import UserDict, UserDictError
from desktop.widgets import Banner, note

HELP = ("Teach the voice how to say names and places. A Chinese word takes one pinyin syllable "
        "with a tone number per character: 张三 → zhang1 san1. An English word takes ARPAbet sounds "
        "with a stress number (0, 1 or 2) on each vowel: Alice → AE1 L IH0 S. "
        "Changes are saved at once.")
DAMAGED = "pronunciations.damaged.json"


class DictionaryDialog(QDialog):
    changed = Signal()              # the file on disk changed

    def __init__(self, speaker_folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Pronunciations")
        self.setAccessibleName("Pronunciation dictionary")
        self.folder = Path(speaker_folder)
        self.banner = Banner()
        close = getattr(self.banner, "close_button", None)
        if close is not None:       # Enter in a box adds the word; it must not also close the message
            close.setAutoDefault(False)
        self._damaged = False
        try:
            self.userdict = load_dictionary(self.folder)
        except UserDictError as exc:
            self.userdict = UserDict()
            self._damaged = True
            self.banner.show_message(f"The saved dictionary could not be read: {exc} It is kept as "
                                     f"{DAMAGED} beside {dictionary_path(self.folder)} when you add a word.",
                                     "error")
        layout = QVBoxLayout(self)
        layout.addWidget(note(HELP))
        layout.addWidget(self.banner)
        self.list = QListWidget()
        self.list.setAccessibleName("Words and how to say them")
        self.list.setAccessibleDescription("Choosing a word puts it in the boxes below to change it")
        self.list.currentRowChanged.connect(self._chosen)
        list_label = QLabel("&Words:")
        list_label.setBuddy(self.list)
        layout.addWidget(list_label)
        layout.addWidget(self.list, 1)
        form = QFormLayout()
        self.word_edit = QLineEdit()
        self.word_edit.setAccessibleName("Word")
        self.word_edit.setPlaceholderText("张三 or Alice")
        self.pron_edit = QLineEdit()
        self.pron_edit.setAccessibleName("Pronunciation")
        self.pron_edit.setPlaceholderText("zhang1 san1 or AE1 L IH0 S")
        for edit in (self.word_edit, self.pron_edit):
            edit.returnPressed.connect(self.add_entry)
        form.addRow("W&ord:", self.word_edit)
        form.addRow("&Pronunciation:", self.pron_edit)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.add_button = self._button("&Add or change (Enter)", "Add or change the word", self.add_entry)
        self.remove_button = self._button("&Remove word", "Remove the chosen word", self.remove_entry)
        self.close_button = self._button("&Close (Esc)", "Close the pronunciations", self.accept)
        for widget in (self.add_button, self.remove_button, self.close_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.setStyleSheet("QLineEdit:focus, QListWidget:focus { border: 3px solid #0b57d0; }")
        self.resize(720, 560)
        self._fill()
        self.word_edit.setFocus()

    def _button(self, text: str, name: str, slot) -> QPushButton:
        widget = QPushButton(text)
        widget.setAccessibleName(name)
        widget.setAutoDefault(False)        # Enter in a box adds the word, not Close
        widget.clicked.connect(slot)
        return widget

    def _fill(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for word, pron in sorted(self.userdict.entries().items(), key=lambda e: e[0].lower()):
            item = QListWidgetItem(f"{word}  →  {pron}")
            item.setData(Qt.UserRole, word)
            self.list.addItem(item)
            if word == select:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(len(self.userdict) > 0)

    def _chosen(self, row: int) -> None:
        item = self.list.item(row)
        if item is not None:
            word = item.data(Qt.UserRole)
            self.word_edit.setText(word)
            self.pron_edit.setText(self.userdict.entries().get(word, ""))

    def add_entry(self) -> None:
        word, pron = self.word_edit.text().strip(), self.pron_edit.text().strip()
        if not word or not pron:
            self.banner.show_message("Type a word and how to say it, then press Enter.", "warning")
            (self.word_edit if not word else self.pron_edit).setFocus()
            return
        trial = UserDict(self.userdict.entries())
        try:
            trial.add(word, pron)
        except UserDictError as exc:
            self.banner.show_message(f"{exc} Nothing was saved; correct it and press Enter again.", "error")
            self.pron_edit.setFocus()
            return
        if self._save(trial):
            self.banner.show_message(f"Saved: {word} is said “{' '.join(pron.split())}”.", "ok")
            self._fill(select=word)
            self.word_edit.clear()
            self.pron_edit.clear()
            self.word_edit.setFocus()

    def remove_entry(self) -> None:
        item = self.list.currentItem()
        word = item.data(Qt.UserRole) if item is not None else self.word_edit.text().strip()
        if not word or word not in self.userdict:
            self.banner.show_message("Choose a word in the list first.", "warning")
            return
        trial = UserDict(self.userdict.entries())
        trial.remove(word)
        if self._save(trial):
            self.banner.show_message(f"Removed {word}.", "info")
            self._fill()
            self.word_edit.clear()
            self.pron_edit.clear()
            self.list.setFocus()

    def _save(self, userdict: UserDict) -> bool:
        try:
            if self._damaged:           # keep the unreadable file for someone to look at
                path = dictionary_path(self.folder)
                path.replace(path.with_name(DAMAGED))
                self._damaged = False
            save_dictionary(self.folder, userdict)
        except OSError as exc:
            self.banner.show_message(f"The dictionary could not be saved ({exc}). Your change is still "
                                     "in the boxes: free some disk space and press Enter again.", "error")
            return False
        self.userdict = userdict
        self.changed.emit()
        return True
