"""What the Record page says about takes: the grade of the sentence on screen (in words and
colour), what to do about it, a note on how it was checked (the room check was disturbed...),
and, once the page has moved on, the grade of the take just made."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.bank.store import Take
from desktop.style import grade_label
from desktop.widgets import note

CHECKING = "… Checking the take"


class TakeView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.grade = QLabel("")
        self.grade.setObjectName("heading")
        self.grade.setAccessibleName("Take quality")
        self.problems = note("")
        self.problems.setAccessibleName("Take problems")
        # room for four lines of advice, so the buttons below never jump around
        self.problems.setMinimumHeight(4 * self.problems.fontMetrics().lineSpacing())
        self.problems.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.last = note("")
        self.last.setAccessibleName("The take just made")
        keep = self.last.sizePolicy()
        keep.setRetainSizeWhenHidden(True)      # shown or not, the buttons below stay put
        self.last.setSizePolicy(keep)
        self.last.hide()
        self.last_take: Take | None = None
        # The grades go above the buttons (seen at once, at 1024x600 too, without scrolling); the
        # advice under them, so its changing length never moves them. The page places `summary`.
        self.summary = QWidget()
        row = QHBoxLayout(self.summary)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.grade, 0, Qt.AlignTop)
        row.addWidget(self.last, 1, Qt.AlignTop)
        layout.addWidget(self.problems)

    def show_none(self) -> None:
        self._set("No take yet", "", "")

    def show_checking(self) -> None:
        self._set(CHECKING, "", "")

    def show_take(self, take: Take) -> None:
        text, colour = grade_label(take.grade)
        extra = "  (cut off: recording stopped early)" if take.interrupted else ""
        quality = take.quality or {}
        lines = [f"• {p.get('message', '')}" for p in quality.get("problems") or [] if isinstance(p, dict)]
        if not lines and take.quality:
            lines = ["Nothing to fix."]
        if quality.get("noise_floor_note"):
            lines.append(f"ℹ {quality['noise_floor_note']}")
        self._set(f"{text}{extra}    {take.duration_s:.1f} s", colour, "\n".join(lines))

    def _set(self, grade: str, colour: str, problems: str) -> None:
        self.grade.setText(grade)
        self.grade.setStyleSheet(f"color: {colour};" if colour else "")
        self.problems.setText(problems)
        self.grade.setAccessibleDescription(grade)
        self.problems.setAccessibleDescription(problems)

    def show_last(self, number: int, take: Take | None) -> None:
        """The take just made, of sentence `number`, once the page shows another sentence."""
        self.last_take = take
        if take is None:
            self.last.hide()
            return
        text, colour = grade_label(take.grade)
        if not take.grade:
            text = CHECKING.replace("the take", "it")
        words = f"Sentence {number}, just recorded: {text}"
        if take.grade == "red":
            words += ". Press ← to go back and record it again."
        self.last.setText(words)
        self.last.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.last.setAccessibleDescription(words)
        self.last.show()
