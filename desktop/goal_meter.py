"""The goal meter on the Record page: usable minutes so far on a bar with the milestones marked
(a first version, a trained voice at 1 minute, more like you at 5, 30 minutes), and in words what
they already give and what comes next (core.bank.progress.goal_text)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from core.bank.progress import FULL_MIN, LIKE_YOU_MIN, MILESTONES, TRAINED_MIN, Progress, goal_text

# The bar is in three equal parts, 0-1, 1-5 and 5-30 minutes, so that the first minute, which
# matters most, is not a sliver.
SEGMENTS = ((0.0, TRAINED_MIN), (TRAINED_MIN, LIKE_YOU_MIN), (LIKE_YOU_MIN, FULL_MIN))
FILL, EMPTY, TICK = "#1b7f3b", "#e4e4e4", "#333333"


def bar_fraction(minutes: float) -> float:
    """Where `minutes` sits along the bar, 0..1."""
    minutes = max(0.0, min(minutes, FULL_MIN))
    for i, (lo, hi) in enumerate(SEGMENTS):
        if minutes <= hi:
            return (i + (minutes - lo) / (hi - lo)) / len(SEGMENTS)
    return 1.0


class GoalBar(QWidget):
    """The bar itself, with each milestone's name under its mark (✓ once reached)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.minutes = 0.0
        self.first_version = False
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMinimumWidth(320)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(600, self._bar_h() + 2 * self.fontMetrics().lineSpacing())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(320, self.sizeHint().height())

    def _bar_h(self) -> int:
        return max(16, self.fontMetrics().height())

    def set_minutes(self, minutes: float, first_version: bool) -> None:
        self.minutes, self.first_version = minutes, first_version
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        fm = self.fontMetrics()
        margin = fm.horizontalAdvance("30 min") / 2 + 2
        width = self.width() - 2 * margin
        bar = QRectF(margin, 2, width, self._bar_h())
        painter.setPen(QPen(QColor(TICK), 1))
        painter.setBrush(QColor(EMPTY))
        painter.drawRoundedRect(bar, 4, 4)
        filled = QRectF(bar.left(), bar.top(), bar.width() * bar_fraction(self.minutes), bar.height())
        if filled.width() > 0:
            painter.setBrush(QColor(FILL))
            painter.drawRoundedRect(filled, 4, 4)
        y = bar.bottom() + fm.ascent() + 4
        for milestone in MILESTONES:
            x = bar.left() + bar.width() * bar_fraction(milestone.minutes)
            painter.setPen(QPen(QColor(TICK), 2))
            painter.drawLine(int(x), int(bar.top()), int(x), int(bar.bottom() + 3))
            reached = (self.first_version if milestone.minutes == 0 else self.minutes >= milestone.minutes)
            text = ("✓ " if reached else "") + milestone.short
            w = fm.horizontalAdvance(text)
            left = min(max(x - w / 2, 0), self.width() - w)
            painter.drawText(int(left), int(y), text)
        painter.end()


class GoalMeter(QWidget):
    """The bar and the sentence under it; `show_progress(progress)` updates both."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = GoalBar()
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setAccessibleName("Goal")
        layout.addWidget(self.bar)
        layout.addWidget(self.text)
        self.setAccessibleName("Goal: usable minutes recorded")

    def show_progress(self, progress: Progress) -> None:
        words = goal_text(progress)
        self.bar.set_minutes(progress.minutes_recorded,
                             progress.reference_takes > 0 or progress.minutes_recorded >= TRAINED_MIN)
        self.text.setText(words)
        self.text.setAccessibleDescription(words)
        self.bar.setAccessibleDescription(words)
