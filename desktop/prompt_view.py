"""The sentence to read on the Record page, with where it is in the script (12 of 505, its id,
its language), the Find a sentence button beside that, and a note when it is one of the
person's own messages or a sentence they skipped."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.bank.prompts import Prompt
from desktop.widgets import note

LANGUAGE_NAMES = {"zh": "Mandarin", "en": "English", "mixed": "Mixed"}
SKIPPED_NOTE = "You skipped this sentence: it is not asked for or counted. Press S to say it after all."
MESSAGE_NOTE = "Your own message: it is kept exactly as you record it."


class PromptView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.position = QLabel("")
        self.position.setAccessibleName("Prompt position")
        self.position.setWordWrap(True)         # at the largest text it wraps beside the button
        top.addWidget(self.position, 1)
        self.find_button = QPushButton("Find a sentence (F)")
        self.find_button.setAccessibleName("Find a sentence and go to it")
        top.addWidget(self.find_button)
        layout.addLayout(top)
        self.kind_note = note("")
        layout.addWidget(self.kind_note)
        self.prompt_label = QLabel("")
        self.prompt_label.setObjectName("prompt")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        self.prompt_label.setAccessibleName("Sentence to read")
        layout.addWidget(self.prompt_label)

    def show_prompt(self, prompt: Prompt | None, index: int, total: int, skipped: bool) -> None:
        if prompt is None:
            self.position.setText("")
            self.kind_note.setText("")
            self.prompt_label.setText("No prompts yet: choose a speaker (Ctrl+1).")
            return
        language = LANGUAGE_NAMES.get(prompt.language, prompt.language)
        self.position.setText(f"{index + 1} of {total}    ·    {prompt.id}    ·    {language}")
        self.kind_note.setText(SKIPPED_NOTE if skipped else MESSAGE_NOTE if prompt.is_message else "")
        self.prompt_label.setText(prompt.text)
        # two lines' room at its own (styled) size: the buttons below stay put from one sentence
        # to the next, and a short sentence leaves no empty band above them
        self.prompt_label.setMinimumHeight(2 * self.prompt_label.fontMetrics().lineSpacing() + 8)
        self.prompt_label.setAccessibleDescription(prompt.text)
