"""Small shared widgets: the message banner, the input level meter, page headings, the
question before deleting something for good."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QLabel, QMessageBox, QSizePolicy, QWidget

from desktop.style import BASE_PT

_BANNER_STYLES = {
    "info": ("ℹ", "#e8f0fe", "#0b57d0"),
    "ok": ("✓", "#e6f4ea", "#1b7f3b"),
    "warning": ("!", "#fff4e0", "#9a6700"),
    "error": ("✗", "#fce8e6", "#b3261e"),
}


class Banner(QLabel):
    """A message in the page (never a pop-up): a symbol + words, readable by a screen reader."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        self.setAccessibleName("Message")
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "info") -> None:
        symbol, background, border = _BANNER_STYLES.get(kind, _BANNER_STYLES["info"])
        self.kind = kind
        self.setText(f"{symbol}  {text}")
        self.setStyleSheet(f"QLabel#banner {{ background: {background}; border-color: {border}; }}")
        self.setAccessibleDescription(text)
        self.show()
        self._fit()

    def _fit(self) -> None:
        """Ask the layout for the height every line of the message needs, so that a long
        message is never clipped when the page is short (a 1024x600 screen)."""
        if self.text():
            self.setMinimumHeight(self.heightForWidth(max(self.width(), 200)))
        else:
            self.setMinimumHeight(0)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._fit()

    def clear_message(self) -> None:
        self.kind = ""
        self.setText("")
        self.setAccessibleDescription("")
        self.setMinimumHeight(0)
        self.hide()


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    label.setWordWrap(True)
    return label


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class LevelMeter(QWidget):
    """Live input level: a bar from -60 to 0 dBFS, a peak mark, and the number in words."""

    FLOOR_DB = -60.0
    GOOD_LOW_DB = -30.0      # quieter than this: "speak up / move closer"
    TOO_LOUD_DB = -3.0       # louder: the take may clip

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.level_db = self.FLOOR_DB
        self.peak_db = self.FLOOR_DB
        self.setMinimumHeight(44)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setAccessibleName("Microphone level")
        self.setFocusPolicy(Qt.NoFocus)   # nothing to operate; its value is in the text
        self._update_text()

    def sizeHint(self) -> QSize:
        return QSize(400, 44)

    def set_levels(self, level_db: float, peak_db: float) -> None:
        self.level_db = max(level_db, self.FLOOR_DB)
        self.peak_db = max(peak_db, self.FLOOR_DB)
        self._update_text()
        self.update()

    def text_value(self) -> str:
        if self.level_db <= self.FLOOR_DB:
            return "silent"
        words = ("too loud" if self.peak_db > self.TOO_LOUD_DB
                 else "quiet" if self.level_db < self.GOOD_LOW_DB else "good")
        return f"{self.level_db:.0f} dB ({words})"

    def _update_text(self) -> None:
        self.setAccessibleDescription(f"Microphone level {self.text_value()}")
        self.setToolTip(self.text_value())

    def _x(self, db: float, width: float) -> float:
        return width * (min(max(db, self.FLOOR_DB), 0.0) - self.FLOOR_DB) / -self.FLOOR_DB

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        text_w = 190.0
        bar = QRectF(1, 1, max(self.width() - text_w - 10, 50), self.height() - 2)
        painter.setPen(QPen(QColor("#5a5a5a"), 2))
        painter.setBrush(QColor("#ffffff"))
        painter.drawRoundedRect(bar, 4, 4)
        fill = bar.adjusted(3, 3, -3, -3)
        colour = ("#b3261e" if self.peak_db > self.TOO_LOUD_DB
                  else "#1b7f3b" if self.level_db >= self.GOOD_LOW_DB else "#6c8ebf")
        fill.setWidth(self._x(self.level_db, fill.width()))
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawRect(fill)
        # the peak hold: a thick dark line, so it shows without relying on colour
        peak_x = bar.left() + 3 + self._x(self.peak_db, bar.width() - 6)
        painter.setPen(QPen(QColor("#111111"), 4))
        painter.drawLine(int(peak_x), int(bar.top() + 3), int(peak_x), int(bar.bottom() - 3))
        font = QFont(self.font())
        font.setPointSize(BASE_PT)
        painter.setFont(font)
        painter.setPen(QColor("#111111"))
        painter.drawText(QRectF(bar.right() + 10, 0, text_w, self.height()),
                         Qt.AlignVCenter | Qt.AlignLeft, self.text_value())
        painter.end()


def confirm_delete(parent: QWidget, title: str, text: str, keep_label: str = "Keep it") -> bool:
    """Ask before deleting for good. Enter and Esc keep: deleting takes a deliberate choice."""
    box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.NoButton, parent)
    delete = box.addButton("Delete for good", QMessageBox.DestructiveRole)
    keep = box.addButton(keep_label, QMessageBox.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is delete
