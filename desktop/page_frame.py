"""How the window holds its pages: each page's heading and message banner stay at the top and the
rest scrolls, so a small screen (1024x600), 150 % scaling or the largest text never squeezes,
overlaps or cuts off a control, and a message never moves the page; the list of pages on the
left, with the text size under it."""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFrame, QLabel, QListWidget, QScrollArea, QVBoxLayout,
                               QWidget)

from core.settings import TEXT_SIZES
from desktop.style import TEXT_SIZE_NAMES

PAGE_TITLES = ["Speaker", "Room check", "Record", "Review", "Build", "Speak"]


class PageFrame(QWidget):
    """One page as the window shows it. The page's own heading and banner (its first widgets)
    move up here, above a scroll area that holds the rest of the page."""

    def __init__(self, page: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.page = page
        self.banner = getattr(page, "banner", None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        own = page.layout()
        first = own.itemAt(0).widget() if own is not None and own.count() else None
        self.heading = first if isinstance(first, QLabel) and first.objectName() == "heading" else None
        for widget in (self.heading, self.banner):
            if widget is not None and own is not None and own.indexOf(widget) >= 0:
                own.removeWidget(widget)
                layout.addWidget(widget)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setFocusPolicy(Qt.NoFocus)
        self.scroll.setAccessibleName(f"{self.heading.text() if self.heading else 'Page'} (scrolls)")
        self.scroll.setWidget(page)
        layout.addWidget(self.scroll, 1)

    def show_focused(self, widget: QWidget) -> None:
        """Scroll a control that got the focus into view (Tab does this by itself; a page's
        setFocus does not)."""
        if widget is not None and self.page.isAncestorOf(widget):
            self.scroll.ensureWidgetVisible(widget, 20, 20)


class NavList(QListWidget):
    """The pages, as wide as their names at the current text size."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("nav")
        self.setAccessibleName("Pages")
        for number, title in enumerate(PAGE_TITLES, start=1):
            self.addItem(f"{title}\nCtrl+{number}")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._fit()

    def _fit(self) -> None:
        widest = max(self.fontMetrics().horizontalAdvance(line) for title in PAGE_TITLES
                     for line in (title, "Ctrl+9"))
        scrollbar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        self.setFixedWidth(widest + 2 * 10 + 2 * self.frameWidth() + scrollbar + 12)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() in (QEvent.FontChange, QEvent.StyleChange):
            self._fit()


class TextSizeBox(QWidget):
    """ "Text size: Normal / Large / Largest" for the whole window (Alt+W)."""

    changed = Signal(str)           # one of core.settings.TEXT_SIZES

    def __init__(self, size: str, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setAccessibleName("Text size")
        self.combo.setAccessibleDescription("The size of all the text in the window")
        for name in TEXT_SIZES:
            self.combo.addItem(TEXT_SIZE_NAMES[name], name)
        self.combo.setCurrentIndex(max(self.combo.findData(size), 0))
        label = QLabel("Text size (&whole window):")
        label.setWordWrap(True)
        label.setBuddy(self.combo)
        layout.addWidget(label)
        layout.addWidget(self.combo)
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit(self.text_size))

    @property
    def text_size(self) -> str:
        return self.combo.currentData() or "normal"

    def set_text_size(self, size: str) -> None:
        self.combo.setCurrentIndex(max(self.combo.findData(size), 0))
