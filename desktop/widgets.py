"""Small shared widgets: the message banner, the input level meter, page headings, a control
that says why it cannot act, lists as tall as some lines of text, the question before deleting
something for good."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPen
from PySide6.QtWidgets import (QAbstractButton, QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton,
                               QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

_BANNER_STYLES = {
    "info": ("ℹ", "#e8f0fe", "#0b57d0"),
    "ok": ("✓", "#e6f4ea", "#1b7f3b"),
    "warning": ("!", "#fff4e0", "#9a6700"),
    "error": ("✗", "#fce8e6", "#b3261e"),
}


class Banner(QFrame):
    """A message in the page (never a pop-up): a symbol + words, readable by a screen reader.

    Its space is kept whether a message shows or not (LINES lines; a longer message scrolls inside
    it), so a message never moves the page or grows the window. ✕ dismisses it, as does Esc where
    the page has no other use for Esc. It clears itself when what it describes changes (any of the
    `clears_on` signals fires) and, unless `keep`, when the person leaves its page (`page_left`)."""

    LINES = 3
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAccessibleName("Message")
        self.kind = ""
        self._message = ""
        self._keep = False
        self._clears: list[tuple[Any, Callable[..., None]]] = []
        self.symbol = QLabel("")
        self.symbol.setAccessibleName("Kind of message")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        self.label.setAccessibleName("Message")
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.label)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setFocusPolicy(Qt.NoFocus)
        self.close_button = QPushButton("✕")
        self.close_button.setAccessibleName("Dismiss the message")
        self.close_button.setToolTip("Close this message (Esc)")
        self.close_button.setAutoDefault(True)
        self.close_button.setFocusPolicy(Qt.TabFocus)   # a click leaves the focus, and the page, where they were
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.symbol, 0, Qt.AlignTop)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignTop)
        policy = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        policy.setRetainSizeWhenHidden(True)        # hidden, it still holds its place
        self.setSizePolicy(policy)
        self._fit()
        self.hide()

    def text(self) -> str:
        """The symbol and the words, as shown ("" when there is no message)."""
        return f"{self.symbol.text()}  {self._message}" if self._message else ""

    def show_message(self, text: str, kind: str = "info", clears_on: Any = None, keep: bool = False) -> None:
        """Show `text`; `clears_on`: a signal or a list of signals after which it no longer holds;
        `keep`: it stays when the person leaves the page (it is about more than this page)."""
        self._disconnect()
        symbol, background, border = _BANNER_STYLES.get(kind, _BANNER_STYLES["info"])
        self.kind, self._message, self._keep = kind, text, keep
        self.symbol.setText(symbol)
        self.label.setText(text)
        self.setStyleSheet(f"QFrame#banner {{ background: {background}; border-color: {border}; }}")
        self.setAccessibleDescription(text)
        self.scroll.verticalScrollBar().setValue(0)
        signals = clears_on if isinstance(clears_on, (list, tuple)) else [clears_on] if clears_on else []
        for signal in signals:
            slot = self._cleared_by_signal
            signal.connect(slot)
            self._clears.append((signal, slot))
        self.show()

    def _cleared_by_signal(self, *_args) -> None:
        self.clear_message()

    def _disconnect(self) -> None:
        for signal, slot in self._clears:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass                # the sender is gone
        self._clears = []

    def clear_message(self) -> None:
        self._disconnect()
        self.kind, self._message, self._keep = "", "", False
        self.symbol.setText("")
        self.label.setText("")
        self.setAccessibleDescription("")
        self.hide()

    def dismiss(self) -> None:
        """The person closed it (✕ or Esc)."""
        if self._message:
            self.clear_message()
            self.dismissed.emit()

    def page_left(self) -> None:
        """The person went to another page: a message about this one has been seen."""
        if self._message and not self._keep:
            self.clear_message()

    def _fit(self) -> None:
        """LINES lines of text at the current text size, or the close button if that is taller."""
        lines = self.LINES * self.fontMetrics().lineSpacing() + 4
        margins = self.layout().contentsMargins()
        self.setFixedHeight(max(lines, self.close_button.sizeHint().height())
                            + margins.top() + margins.bottom() + 8)    # + the frame's border and padding

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() in (QEvent.FontChange, QEvent.StyleChange):
            self._fit()


def set_available(widget: QWidget, enabled: bool, why: str = "") -> None:
    """Enable a control, or disable it and say why, in its tooltip and to a screen reader."""
    if not hasattr(widget, "_usual_help"):
        widget._usual_help = (widget.toolTip(), widget.accessibleDescription())
    tip, description = widget._usual_help
    widget.setEnabled(enabled)
    widget.setToolTip(tip if enabled or not why else why)
    widget.setAccessibleDescription(description if enabled or not why else why)


class _LinesTall(QObject):
    def __init__(self, widget: QWidget, lines: float):
        super().__init__(widget)
        self.lines = lines
        widget.installEventFilter(self)
        self.fit(widget)

    def fit(self, widget: QWidget) -> None:
        extra = 2 * getattr(widget, "frameWidth", lambda: 2)() + 8
        widget.setMinimumHeight(int(self.lines * widget.fontMetrics().lineSpacing()) + extra)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() in (QEvent.FontChange, QEvent.StyleChange, QEvent.Polish):
            self.fit(watched)
        return False


def lines_tall(widget: QWidget, lines: float) -> QWidget:
    """At least `lines` lines of text tall, at whatever text size is chosen (lists, logs)."""
    _LinesTall(widget, lines)
    return widget


def fit_screen(widget: QWidget, size: QSize) -> QSize:
    """`size`, or less where the screen (or the window a dialog opens over) is smaller."""
    parent = widget.parentWidget()
    screen = widget.screen()
    if parent is not None and parent.window().isVisible():
        size = size.boundedTo(parent.window().size())
    elif screen is not None and QGuiApplication.platformName() != "offscreen":
        size = size.boundedTo(screen.availableGeometry().size())
    return size


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    label.setWordWrap(True)
    return label


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class _Toggles(QObject):
    """A click on the explanation under a check box ticks it too (a bigger target for a head mouse)."""

    def __init__(self, label: QLabel, check: QAbstractButton):
        super().__init__(label)
        self.check = check
        label.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.MouseButtonRelease and self.check.isEnabled():
            self.check.toggle()
            return True
        return False


def explained(check: QAbstractButton, explanation: str) -> QWidget:
    """A check box (short words, so it never widens the page) with what it does under it, in words
    that wrap; a screen reader hears them as the box's description."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(check)
    words = note(explanation)
    words.setContentsMargins(36, 0, 0, 0)        # under the words, past the 22 px box (desktop/style.py)
    words.setAccessibleName(check.accessibleName() or check.text())
    _Toggles(words, check)
    column.addWidget(words)
    if not check.accessibleDescription():
        check.setAccessibleDescription(explanation)
    return box


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
        text_w = float(self.fontMetrics().horizontalAdvance("-60 dB (too loud)") + 16)
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
        painter.setFont(self.font())
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
