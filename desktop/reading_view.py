"""The Speak page's "How it will be read": the typed text word by word with the reading it will
get (pinyin with tone marks, or an English respelling such as "reed"), updated as the person
types. A word that can be read another way is a large button; choosing it offers the other
readings as large buttons (pointer alone, or Tab and Enter), and a box to type how it sounds.
Picking one saves it in the pronunciation dictionary (core.speak.readings) and shows the new
reading at once. What is shown comes from core.text.reading: exactly what will be said.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QGroupBox, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from core.speak.phrases import Phrase, PhraseBook
from core.speak.readings import fix_reading, reading_of, typed_choice
from core.text.reading import Choice, ReadingToken
from core.text.userdict import UserDictError
from desktop.flow_layout import FlowLayout

DEBOUNCE_MS = 400
HINT = ("Words in a box can be read another way: choose one to change how it is said. "
        "Your change is saved in Pronunciations (Ctrl+D).")
SOURCE_WORDS = {"user": "your pronunciation", "context": "guessed from the words around it",
                "dictionary": "from the dictionary", "spelled": "spelled letter by letter",
                "guess": "guessed from its letters", "number": "said in words"}
# (speaker folder, typed text, the saved phrase it is, the phrase book)
Source = Callable[[], tuple[Path | None, str, Phrase | None, PhraseBook | None]]


def _big(text: str, name: str, slot) -> QPushButton:
    widget = QPushButton(text)
    widget.setAccessibleName(name)
    widget.setAutoDefault(True)          # Enter presses the focused button
    widget.setMinimumHeight(48)          # a large target for a head mouse or eye gaze
    widget.clicked.connect(slot)
    return widget


def _clear(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget()
        if widget is not None:
            widget.hide()
            widget.deleteLater()


def describe(token: ReadingToken) -> str:
    """The word and its reading in words a screen reader says."""
    how = f"read {token.reading}" if token.reading else "said as written"
    return f"{token.text}: {how}, {SOURCE_WORDS.get(token.source, token.source)}"


class ReadingView(QGroupBox):
    message = Signal(str, str)      # banner text, kind
    dictionary_changed = Signal()

    def __init__(self, source: Source, parent: QWidget | None = None):
        super().__init__("How it will be read", parent)
        self.setAccessibleName("How it will be read")
        self.source = source
        self.tokens: list[ReadingToken] = []
        self.word_buttons: dict[int, QPushButton] = {}      # token start -> its button
        self.choosing: ReadingToken | None = None
        self.choice_buttons: list[QPushButton] = []
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.update_reading)
        layout = QVBoxLayout(self)
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.words = QWidget()
        self.words.setAccessibleName("The words and how each is read")
        self.words_flow = FlowLayout(self.words, spacing=8)
        layout.addWidget(self.words)
        self.panel = QWidget()
        self.panel.setAccessibleName("Choose how the word is read")
        panel = QVBoxLayout(self.panel)
        panel.setContentsMargins(0, 0, 0, 0)
        self.question = QLabel("")
        self.question.setWordWrap(True)
        panel.addWidget(self.question)
        choices = QWidget()
        self.choices_flow = FlowLayout(choices, spacing=8)
        panel.addWidget(choices)
        self.typed_label = QLabel("")
        self.typed_label.setWordWrap(True)
        self.typed_edit = QLineEdit()
        self.typed_edit.setAccessibleName("How it sounds")
        self.typed_edit.returnPressed.connect(self.use_typed)
        self.typed_label.setBuddy(self.typed_edit)
        panel.addWidget(self.typed_label)
        row = FlowLayout(spacing=8)
        row.addWidget(self.typed_edit)
        self.use_button = _big("Use what I typed", "Use what I typed", self.use_typed)
        self.cancel_button = _big("Keep it as it is (Esc)", "Keep the reading as it is", self.cancel)
        row.addWidget(self.use_button)
        row.addWidget(self.cancel_button)
        panel.addLayout(row)
        layout.addWidget(self.panel)
        self.panel.setVisible(False)

    # the reading ----------------------------------------------------------------------------
    def schedule(self) -> None:
        """The text changed: show the new reading after a short pause in typing."""
        if self.isVisible():
            self.timer.start()

    def update_reading(self) -> None:
        self.timer.stop()
        folder, text, phrase, _book = self.source()
        tokens: list[ReadingToken] = []
        if folder is not None and text.strip():
            try:
                tokens = reading_of(folder, text, phrase)
            except UserDictError as exc:
                self.message.emit(f"The pronunciation dictionary cannot be used: {exc} Open it "
                                  "with Ctrl+D and fix or remove that word.", "error")
        self.show_tokens(tokens)

    def show_tokens(self, tokens: list[ReadingToken]) -> None:
        self.tokens = tokens
        self.word_buttons = {}
        _clear(self.words_flow)
        if not tokens:
            empty = QLabel("Type something above to see how it will be read.")
            empty.setWordWrap(True)
            self.words_flow.addWidget(empty)
        for token in tokens:
            text = f"{token.text}\n{token.reading}" if token.reading and token.reading != token.text else token.text
            if token.can_fix:
                widget = _big(text, describe(token), lambda _c=False, t=token: self.choose(t))
                widget.setAccessibleDescription("Press to choose another reading")
                self.word_buttons[token.start] = widget
            else:
                widget = QLabel(text)
                widget.setAccessibleName(describe(token))
                widget.setAlignment(Qt.AlignCenter)
            self.words_flow.addWidget(widget)
            widget.show()               # now, so that it can take the focus at once
        if self.choosing is not None and not any(t.start == self.choosing.start for t in tokens):
            self.cancel()

    def first_word(self) -> QPushButton | None:
        return next(iter(self.word_buttons.values()), None)

    # choosing another reading ---------------------------------------------------------------
    def choose(self, token: ReadingToken) -> None:
        self.choosing = token
        now = token.reading or "as written"
        self.question.setText(f"How should “{token.text}” be read? Now: {now}. Choose one:"
                              if token.choices else f"How should “{token.text}” be read? Now: {now}.")
        _clear(self.choices_flow)
        self.choice_buttons = []
        for choice in token.choices:
            widget = _big(choice.shown, f"Read it {choice.shown}", lambda _c=False, c=choice: self.pick(c))
            self.choices_flow.addWidget(widget)
            widget.show()
            self.choice_buttons.append(widget)
        if token.language == "zh":
            self.typed_label.setText("Or type pinyin with tone numbers, one per character "
                                     f"(for example {token.pron}):")
        else:
            self.typed_label.setText("Or type how it sounds, with the loud part in capitals "
                                     "(for example reed, red, or rih-KAWRD):")
        self.typed_edit.clear()
        self.panel.setVisible(True)
        (self.choice_buttons[0] if self.choice_buttons else self.typed_edit).setFocus()

    def use_typed(self) -> None:
        if self.choosing is None:
            return
        try:
            choice = typed_choice(self.choosing, self.typed_edit.text())
        except UserDictError as exc:
            self.message.emit(f"{exc} Nothing was saved.", "warning")
            self.typed_edit.setFocus()
            return
        self.pick(choice)

    def pick(self, choice: Choice) -> None:
        folder, _text, phrase, book = self.source()
        if folder is None:
            return
        start = self.choosing.start if self.choosing is not None else None
        try:
            fixed = fix_reading(folder, choice, book, phrase)
        except UserDictError as exc:
            self.message.emit(f"{exc} Nothing was saved.", "error")
            return
        except OSError as exc:
            self.message.emit(f"The pronunciation could not be saved ({exc}). Nothing was changed.", "error")
            return
        self.cancel(refocus=False)
        self.dictionary_changed.emit()
        self.message.emit(fixed.message(), "ok")
        self.update_reading()
        target = self.word_buttons.get(start) if start is not None else None
        (target or self.first_word() or self).setFocus()

    def cancel(self, refocus: bool = True) -> None:
        token, self.choosing = self.choosing, None
        self.panel.setVisible(False)
        _clear(self.choices_flow)
        self.choice_buttons = []
        if refocus and token is not None and token.start in self.word_buttons:
            self.word_buttons[token.start].setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:   # noqa: N802 (Qt's name)
        if event.key() == Qt.Key_Escape and self.choosing is not None:
            self.cancel()
            return
        super().keyPressEvent(event)
