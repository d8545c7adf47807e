"""A row of controls that wraps onto the next line when the page is narrow (a 1024x600 screen, 150 %
scaling, the largest text) instead of pushing the page wider than the window.

    row = FlowLayout()
    for button in (speak, stop, dictionary):
        row.addWidget(button)
    layout.addLayout(row)

Each control keeps its own size (its sizeHint, never less than its minimumSizeHint); a control
with an expanding horizontal policy takes the rest of its line. With `uniform`, every control is
as wide as the widest, so the rows line up like a grid. `together(label, box)` keeps a label on
the same line as its control.
"""
from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLayout, QLayoutItem, QSizePolicy, QWidget


def together(*widgets: QWidget, spacing: int = 6) -> QWidget:
    """Widgets that wrap as one (a label and its control)."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(spacing)
    for widget in widgets:
        row.addWidget(widget)
    return box


class ItemsLayout(QLayout):
    """A QLayout keeping its items in a list; subclasses say where they go."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 8):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt name)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt name)
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt name)
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # height for width: each subclass's _arrange(rect, move) places the items and returns the height
    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt name)
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 (Qt name)
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def _arrange(self, rect: QRect, move: bool) -> int:
        raise NotImplementedError


class FlowLayout(ItemsLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 8, uniform: bool = False):
        super().__init__(parent, spacing)
        self.uniform = uniform

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 (Qt name)
        return Qt.Orientation(0)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        """All on one line."""
        visible = self._visible()
        width = sum(self._size(item).width() for item in visible) + self.spacing() * max(len(visible) - 1, 0)
        height = max((item.sizeHint().height() for item in visible), default=0)
        margins = self.contentsMargins()
        return QSize(width + margins.left() + margins.right(), height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 (Qt name)
        """The widest single control: narrower than that, nothing fits."""
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(self._size(item) if self.uniform else item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    # placing ---------------------------------------------------------------------------------
    def _visible(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _size(self, item: QLayoutItem) -> QSize:
        size = item.sizeHint().expandedTo(item.minimumSize())
        if self.uniform:
            size.setWidth(max(other.sizeHint().expandedTo(other.minimumSize()).width()
                              for other in self._visible()))
        return size

    def _lines(self, width: int) -> list[list[QLayoutItem]]:
        lines: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._visible():
            wanted = self._size(item).width()
            if lines[-1] and used + self.spacing() + wanted > width:
                lines.append([])
                used = 0
            used += (self.spacing() if lines[-1] else 0) + wanted
            lines[-1].append(item)
        return [line for line in lines if line]

    def _arrange(self, rect: QRect, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        y = area.y()
        for line in self._lines(area.width()):
            sizes = [self._size(item) for item in line]
            height = max(size.height() for size in sizes)
            spare = area.width() - sum(size.width() for size in sizes) - self.spacing() * (len(line) - 1)
            growing = [item for item in line if item.expandingDirections() & Qt.Horizontal
                       or item.widget() is not None
                       and item.widget().sizePolicy().horizontalPolicy() == QSizePolicy.Expanding]
            x = area.x()
            for item, size in zip(line, sizes):
                width = size.width() + (max(spare, 0) // len(growing) if item in growing else 0)
                width = min(width, area.width())
                if move:
                    item.setGeometry(QRect(QPoint(x, y + (height - size.height()) // 2),
                                           QSize(width, size.height())))
                x += width + self.spacing()
            y += height + self.spacing()
        return max(y - self.spacing() - rect.y() + margins.bottom(), 0)


class ColumnsLayout(ItemsLayout):
    """Boxes side by side while each column is at least `ems` characters wide, else one under the
    other at the full width (the phrases and the history on a small screen or at the largest text),
    so a box never becomes a thin strip of buttons piled up. Extra height goes to the boxes."""

    def __init__(self, parent: QWidget | None = None, ems: int = 40, spacing: int = 8):
        super().__init__(parent, spacing)
        self.ems = ems

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 (Qt name)
        return Qt.Vertical

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        visible = [item for item in self._items if not item.isEmpty()]
        width = sum(item.sizeHint().width() for item in visible) + self.spacing() * max(len(visible) - 1, 0)
        return QSize(width, max((item.sizeHint().height() for item in visible), default=0))

    def minimumSize(self) -> QSize:  # noqa: N802 (Qt name)
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        return size

    def side_by_side(self, width: int) -> bool:
        visible = [item for item in self._items if not item.isEmpty()]
        widget = self.parentWidget()
        em = widget.fontMetrics().averageCharWidth() if widget is not None else 8
        column = (width - self.spacing() * max(len(visible) - 1, 0)) // max(len(visible), 1)
        return column >= self.ems * em and all(item.minimumSize().width() <= column for item in visible)

    def _height(self, item: QLayoutItem, width: int) -> int:
        wanted = item.heightForWidth(width) if item.hasHeightForWidth() else item.sizeHint().height()
        return max(wanted, item.minimumSize().height())

    def _arrange(self, rect: QRect, move: bool) -> int:
        visible = [item for item in self._items if not item.isEmpty()]
        if not visible:
            return 0
        if self.side_by_side(rect.width()):
            column = (rect.width() - self.spacing() * (len(visible) - 1)) // len(visible)
            height = max(max(self._height(item, column) for item in visible), rect.height())
            for i, item in enumerate(visible):
                if move:
                    item.setGeometry(QRect(rect.x() + i * (column + self.spacing()), rect.y(), column, height))
            return height
        heights = [self._height(item, rect.width()) for item in visible]
        spare = max(rect.height() - sum(heights) - self.spacing() * (len(visible) - 1), 0) // len(visible)
        y = rect.y()
        for item, height in zip(visible, heights):
            if move:
                item.setGeometry(QRect(rect.x(), y, rect.width(), height + spare))
            y += height + spare + self.spacing()
        return y - self.spacing() - rect.y()
