"""The Record page's buttons and switches, one for every key (a pointer alone does everything):
record, stop and next, record again, play, previous, next, cancel, find a sentence, I can't say
this one, undo the skip; continuous mode and the grade tone (`switches`, which the page shows
under the grade); the keys in words."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QPushButton, QVBoxLayout, QWidget

from desktop.flow_layout import FlowLayout
from desktop.widgets import explained, note

KEY_HELP = ("Space: record / stop    Enter: stop and go to the next    ← →: previous / next    "
            "R: record again    P: play    Esc: cancel the take    C: continuous mode    "
            "F: find a sentence    S: I can't say this one    U: undo the skip    T: sound the grade")
# attribute, text, what a screen reader says
BUTTONS = (
    ("record_button", "● Record (Space)", "Record or stop"),
    ("next_take_button", "Stop and next (Enter)", "Stop and go to the next prompt"),
    ("again_button", "Record again (R)", "Record this prompt again"),
    ("play_button", "Play (P)", "Play the take"),
    ("prev_button", "← Previous", "Previous prompt"),
    ("next_button", "Next →", "Next prompt"),
    ("cancel_button", "Cancel take (Esc)", "Cancel the take in progress"),
    ("skip_button", "I can't say this one (S)", "Skip this sentence"),
    ("undo_skip_button", "Undo the skip (U)", "Bring back the sentence just skipped"),
)


class RecordControls(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        grid = FlowLayout(self, uniform=True)   # lined up, as many to a row as fit: never wider than the page
        for attr, text, name in BUTTONS:
            button = QPushButton(text)
            button.setAccessibleName(name)
            setattr(self, attr, button)
            grid.addWidget(button)
        self.undo_skip_button.hide()
        self.switches = QWidget(self)       # the page puts these lower down, under the grade
        column = QVBoxLayout(self.switches)
        column.setContentsMargins(0, 0, 0, 0)
        self.continuous_box = QCheckBox("Continuous mode (C)")
        self.continuous_box.setAccessibleName("Continuous mode")
        column.addWidget(explained(self.continuous_box, "Each take stops after a second of silence, "
                                                        "and the next starts if the take is usable."))
        self.tone_box = QCheckBox("Sound the grade (T)")
        self.tone_box.setAccessibleName("Sound the grade with a tone")
        column.addWidget(explained(self.tone_box, "A short tone after each take, rising when it is good, "
                                                  "falling when it needs redoing."))

    def buttons(self) -> dict[str, QPushButton]:
        return {attr: getattr(self, attr) for attr, _text, _name in BUTTONS}


def key_help() -> QWidget:
    label = note(KEY_HELP)
    label.setAccessibleName("Keyboard keys")
    return label
