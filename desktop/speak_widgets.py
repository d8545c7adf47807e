"""Boxes of the Speak page: the saved phrases and what was said. Each shows a list and its
buttons and says what the user asked for through a signal; the page does the speaking."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QGroupBox, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget)

from core.diskspace import DiskFullError
from core.runtime.gates import describe_status
from core.speak.history import History, Said
from core.speak.phrases import Phrase, PhraseBook, PhraseError
from core.speak.prefs import SpeakPrefs
from desktop.flow_layout import FlowLayout, together
from desktop.widgets import lines_tall, set_available

MAX_SHOWN_HISTORY = 200
LIST_LINES = 3.5            # a list shows at least three of its lines at any text size (and a bit)


def button(text: str, name: str, slot) -> QPushButton:
    widget = QPushButton(text)
    widget.setAccessibleName(name)
    widget.setAutoDefault(True)         # Enter presses the focused button
    widget.clicked.connect(slot)
    return widget


def set_list_text_size(view: QListWidget, points: int) -> None:
    """The list's text at `points`; lines_tall keeps room for LIST_LINES lines of it, so at 30 pt
    the phrases do not shrink to one line on a small screen (the page scrolls instead)."""
    view.setStyleSheet(f"font-size: {points}pt;")


def labelled_list(text: str, name: str, description: str) -> tuple[QLabel, QListWidget]:
    view = QListWidget()
    view.setWordWrap(True)              # long sentences wrap instead of hiding behind a scroll bar
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    view.setAccessibleName(name)
    view.setAccessibleDescription(description)
    lines_tall(view, LIST_LINES)
    label = QLabel(text)
    label.setWordWrap(True)
    label.setBuddy(view)
    return label, view


def buddy(text: str, widget: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def _explain(widget: QWidget, why: str) -> None:
    set_available(widget, not why, why)


class SpeakSettings(QWidget):
    """Voice, speed, volume and text size, each with a label and an Alt key."""
    changed = Signal()      # the user changed one of them (not emitted by set_prefs)

    def __init__(self, min_pt: int, max_pt: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.voice_combo = QComboBox()
        self.voice_combo.setAccessibleName("Voice")
        self.voice_combo.setMinimumContentsLength(30)
        self.voice_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.voice_combo.setPlaceholderText("No voice yet")      # until one is built (Ctrl+5)
        self.speed_spin = QDoubleSpinBox()
        self.speed_spin.setAccessibleName("Speed")
        self.speed_spin.setRange(0.5, 2.0)
        self.speed_spin.setSingleStep(0.1)
        self.speed_spin.setDecimals(1)
        self.speed_spin.setValue(1.0)
        self.speed_spin.setSuffix(" × normal")
        self.volume_slider = QSlider(Qt.Horizontal)
        self.volume_slider.setAccessibleName("Volume")
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setSingleStep(10)
        self.volume_slider.setPageStep(20)
        self.volume_slider.setValue(100)
        self.volume_slider.setMinimumWidth(160)
        self.volume_label = QLabel("100%")     # the value in words, not only the slider's position
        self.size_spin = QSpinBox()
        self.size_spin.setAccessibleName("Size of typed text")
        self.size_spin.setAccessibleDescription("The size of the text you type, the phrases and what was said")
        self.size_spin.setRange(min_pt, max_pt)
        self.size_spin.setSuffix(" pt")
        self.enter_check = QCheckBox("Spea&k with Enter alone (Shift+Enter: new line)")
        self.enter_check.setAccessibleName("Speak with Enter alone")
        self.enter_check.setAccessibleDescription("When on, Enter says the text and Shift+Enter starts "
                                                  "a new line; when off, Ctrl+Enter says it")
        self.enter_check.setToolTip(self.enter_check.accessibleDescription())
        for spin in (self.speed_spin, self.size_spin):      # screen readers land on the inner box too
            spin.lineEdit().setAccessibleName(spin.accessibleName())
        flow = FlowLayout(self, spacing=12)        # wraps rather than widening the page
        flow.addWidget(together(buddy("&Voice:", self.voice_combo), self.voice_combo))
        flow.addWidget(self.enter_check)
        flow.addWidget(together(buddy("Sp&eed:", self.speed_spin), self.speed_spin))
        flow.addWidget(together(buddy("V&olume:", self.volume_slider), self.volume_slider, self.volume_label))
        flow.addWidget(together(buddy("Si&ze of typed text:", self.size_spin), self.size_spin))
        self._quiet = False
        self.voice_combo.currentIndexChanged.connect(self._changed)
        self.speed_spin.valueChanged.connect(self._changed)
        self.volume_slider.valueChanged.connect(self._changed)
        self.size_spin.valueChanged.connect(self._changed)
        self.enter_check.toggled.connect(self._changed)

    def _changed(self, *_args) -> None:
        if not self._quiet:
            self.changed.emit()

    def set_prefs(self, prefs: SpeakPrefs, voice_ids: list[str]) -> None:
        """Show remembered choices (the voice list must be filled first); emits no `changed`."""
        self._quiet = True
        try:
            if prefs.voice_id in voice_ids:
                self.voice_combo.setCurrentIndex(voice_ids.index(prefs.voice_id))
            self.speed_spin.setValue(prefs.speed)
            self.volume_slider.setValue(prefs.volume)
            self.size_spin.setValue(prefs.text_pt)
            self.enter_check.setChecked(prefs.enter_speaks)
        finally:
            self._quiet = False

    def prefs(self, voice_id: str | None) -> SpeakPrefs:
        return SpeakPrefs(voice_id, round(self.speed_spin.value(), 2), self.volume_slider.value(),
                          self.size_spin.value(), self.enter_check.isChecked())


class SpeedChecks:
    """The voice's details: which fast paths run on this computer and each one's check against
    the exact path (the worker's `fast_paths` status), shown on demand. A button for the actions
    row and a text for under the status line; the text can be selected and copied into a report."""

    def __init__(self) -> None:
        self.button = button("Speed &checks…", "Speed checks", self.toggle)
        self.button.setAccessibleDescription("How this voice runs on this computer: each fast path "
                                             "and its check against the exact path")
        self.button.setCheckable(True)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text.setAccessibleName("Speed checks")
        self.text.setVisible(False)
        self.status: dict | None = None
        self.set_status(None)

    def set_status(self, status: dict | None) -> None:
        self.status = status if isinstance(status, dict) else None
        lines = describe_status(self.status) if self.status else [
            "Not known yet: the checks run when the voice is loaded."]
        self.text.setText("\n".join(lines))
        self.text.setAccessibleDescription(" ".join(lines))

    def toggle(self) -> None:
        self.text.setVisible(self.button.isChecked())


class PhrasesBox(QGroupBox):
    say = Signal(object)            # Phrase
    add_clicked = Signal()
    message = Signal(str, str)      # text, banner kind

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Saved phrases", parent)
        self.book: PhraseBook | None = None
        self.phrases: list[Phrase] = []
        layout = QVBoxLayout(self)
        label, self.list = labelled_list("P&hrases (Alt+1 to Alt+9 say one):", "Saved phrases",
                                         "Enter says the chosen phrase; Delete removes it; "
                                         "Alt+Up and Alt+Down move it")
        self.list.itemActivated.connect(lambda _item: self.say_current())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        layout.addWidget(label)
        layout.addWidget(self.list, 1)
        self.say_button = button("Say phrase (Enter)", "Say the chosen phrase", self.say_current)
        self.add_button = button("&Add text as phrase", "Add the typed text as a saved phrase",
                                 self.add_clicked.emit)
        self.remove_button = button("&Remove (Delete)", "Remove the chosen phrase", self.remove_current)
        self.up_button = button("Up (Alt+Up)", "Move the chosen phrase up", lambda: self.move_current(-1))
        self.down_button = button("Down (Alt+Down)", "Move the chosen phrase down", lambda: self.move_current(1))
        row = FlowLayout()
        for widget in (self.say_button, self.add_button, self.remove_button, self.up_button, self.down_button):
            row.addWidget(widget)
        layout.addLayout(row)
        self._update_buttons()

    def set_book(self, book: PhraseBook | None) -> None:
        self.book = book
        self.refresh()

    def refresh(self, select: int | None = None) -> None:
        row = self.list.currentRow() if select is None else select
        self.phrases = self.book.phrases() if self.book is not None else []
        self.list.clear()
        for number, phrase in enumerate(self.phrases, start=1):
            key = f"Alt+{number}: " if number <= 9 else ""
            item = QListWidgetItem(f"{key}{phrase.text}")
            item.setData(Qt.AccessibleTextRole, f"Phrase {number}: {phrase.text}")
            self.list.addItem(item)
        if self.phrases:
            self.list.setCurrentRow(max(0, min(row, len(self.phrases) - 1)))
        self._update_buttons()

    def _update_buttons(self) -> None:
        row, count = self.list.currentRow(), len(self.phrases)
        none = ("Choose a speaker first (Ctrl+1)." if self.book is None else
                "There are no saved phrases yet: type one, then press “Add text as phrase” (Alt+A)."
                if not count else "" if row >= 0 else "Choose a phrase in the list first.")
        why_add = "Choose a speaker first (Ctrl+1)." if self.book is None else ""
        set_available(self.add_button, not why_add, why_add)
        _explain(self.say_button, none)
        _explain(self.remove_button, none)
        _explain(self.up_button, none or ("It is the first phrase already." if row == 0 else ""))
        _explain(self.down_button, none or ("It is the last phrase already." if row == count - 1 else ""))

    def phrase_at(self, index: int) -> Phrase | None:
        return self.phrases[index] if 0 <= index < len(self.phrases) else None

    def say_current(self) -> None:
        phrase = self.phrase_at(self.list.currentRow())
        if phrase is not None:
            self.say.emit(phrase)

    def add(self, text: str, readings: dict[str, str] | None = None) -> Phrase | None:
        if self.book is None:
            self.message.emit("Choose a speaker first (Ctrl+1).", "warning")
            return None
        try:
            phrase = self.book.add(text, readings)
        except (PhraseError, OSError) as exc:
            self.message.emit(str(exc), "warning")
            return None
        self.refresh(select=len(self.phrases))
        number = len(self.phrases)
        keys = f" Press Alt+{number} to say it." if number <= 9 else ""
        self.message.emit(f"Saved “{phrase.text}” as phrase {number}.{keys}", "ok")
        return phrase

    def remove_current(self) -> None:
        phrase = self.phrase_at(self.list.currentRow())
        if phrase is None or self.book is None:
            return
        try:
            self.book.remove(phrase.id)
        except DiskFullError as exc:      # says what failed and how much space is needed
            self.message.emit(str(exc), "error")
            return
        except OSError as exc:
            self.message.emit(f"The phrase could not be removed ({exc}).", "error")
            return
        self.refresh()
        self.message.emit(f"Removed the phrase “{phrase.text}”.", "info")
        self.list.setFocus()

    def move_current(self, offset: int) -> None:
        phrase = self.phrase_at(self.list.currentRow())
        if phrase is None or self.book is None:
            return
        try:
            index = self.book.move(phrase.id, offset)
        except (PhraseError, OSError) as exc:
            self.message.emit(str(exc), "warning")
            return
        self.refresh(select=index)

    def handle_list_key(self, event: QKeyEvent) -> bool:
        """Keys of the focused phrase list: Delete, Alt+Up/Down (Enter is the list's own)."""
        if event.key() == Qt.Key_Delete and not event.modifiers():
            self.remove_current()
            return True
        if event.modifiers() == Qt.AltModifier and event.key() in (Qt.Key_Up, Qt.Key_Down):
            self.move_current(-1 if event.key() == Qt.Key_Up else 1)
            return True
        return False


class HistoryBox(QGroupBox):
    replay = Signal(object)         # Said
    export_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("What was said", parent)
        self.history: History | None = None
        self.entries: list[Said] = []           # newest first, as shown
        layout = QVBoxLayout(self)
        label, self.list = labelled_list("What was &said (newest first):", "What was said",
                                         "Enter plays the chosen one again")
        self.list.itemActivated.connect(lambda _item: self.replay_current())
        layout.addWidget(label)
        layout.addWidget(self.list, 1)
        self.replay_button = button("Rep&lay (Enter)", "Play the chosen one again", self.replay_current)
        self.export_button = button("Save as &file… (Ctrl+S)", "Save what was said as a sound file",
                                    self.export_clicked.emit)
        row = FlowLayout()
        row.addWidget(self.replay_button)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        self._update_buttons()

    def set_history(self, history: History | None) -> None:
        self.history = history
        self.refresh()

    def refresh(self) -> None:
        self.entries = list(reversed(self.history.entries()))[:MAX_SHOWN_HISTORY] if self.history else []
        self.list.clear()
        for said in self.entries:
            when = said.said_at[11:16] if len(said.said_at) >= 16 else said.said_at
            how = "  (your own recording)" if said.own else ""
            self.list.addItem(QListWidgetItem(f"{when}  {said.text}{how}"))
        if self.entries:
            self.list.setCurrentRow(0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        why = "" if self.entries else "Nothing has been said yet."
        _explain(self.replay_button, why)
        _explain(self.export_button, why)

    def current(self) -> Said | None:
        row = self.list.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def latest(self) -> Said | None:
        return self.entries[0] if self.entries else None

    def replay_current(self) -> None:
        said = self.current()
        if said is not None:
            self.replay.emit(said)
