"""Page 4: every current take in a table; sort any column to bring the worst takes to the top."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from core.audio import playback
from core.audio.capture import AudioDeviceError
from core.bank.store import BankError, Take
from desktop.context import AppContext
from desktop.style import GRADE_ORDER, grade_label
from desktop.widgets import Banner, heading, note

HELP = "↑ ↓: choose a take    Enter or P: play it    R: record it again    Click a column title to sort."


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Take], Any]          # what sorting uses (a number where it can be)
    text: Callable[[Any], str] = lambda v: "" if v is None else str(v)


def _q(key: str) -> Callable[[Take], Any]:
    return lambda take: (take.quality or {}).get(key)


def _fmt(pattern: str) -> Callable[[Any], str]:
    return lambda v: "—" if v is None else pattern.format(v)


def _clip_percent(take: Take) -> float | None:
    value = _q("clipped_fraction")(take)
    return None if value is None else 100.0 * value


COLUMNS = [
    Column("Prompt", lambda t: t.prompt_id),
    Column("Text", lambda t: t.text),
    Column("Grade", lambda t: GRADE_ORDER.get(t.grade or "", 3), lambda v: ""),
    Column("SNR dB", _q("snr_db"), _fmt("{:.1f}")),
    Column("Clip %", _clip_percent, _fmt("{:.2f}")),
    Column("Peak dBFS", _q("peak_dbfs"), _fmt("{:.1f}")),
    Column("LUFS", _q("loudness_lufs"), _fmt("{:.1f}")),
    Column("Band kHz", lambda t: None if _q("bandwidth_hz")(t) is None else _q("bandwidth_hz")(t) / 1000,
           _fmt("{:.1f}")),
    Column("Lead s", _q("leading_silence_s"), _fmt("{:.2f}")),
    Column("Trail s", _q("trailing_silence_s"), _fmt("{:.2f}")),
    Column("Syll/s", _q("speaking_rate"), _fmt("{:.1f}")),
    Column("Length s", lambda t: t.duration_s, _fmt("{:.1f}")),
]
GRADE_COLUMN = 2
SNR_COLUMN = 3


class TakeTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.takes: list[Take] = []

    def set_takes(self, takes: list[Take]) -> None:
        self.beginResetModel()
        self.takes = list(takes)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt names)
        return 0 if parent.isValid() else len(self.takes)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section].title
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        take, column = self.takes[index.row()], COLUMNS[index.column()]
        if index.column() == GRADE_COLUMN:
            text, colour = grade_label(take.grade)
            if take.interrupted:
                text += " (cut off)"
            if role in (Qt.DisplayRole, Qt.AccessibleTextRole):
                return text
            if role == Qt.ForegroundRole:
                return QColor(colour)
            return None
        if role in (Qt.DisplayRole, Qt.AccessibleTextRole):
            return column.text(column.value(take))
        if role == Qt.ToolTipRole and index.column() == 1:
            return take.text
        if role == Qt.UserRole:
            return column.value(take)
        return None

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """Numeric sort; takes with no value for the column always go last."""
        value = COLUMNS[column].value
        have = [t for t in self.takes if value(t) is not None]
        missing = [t for t in self.takes if value(t) is None]
        have.sort(key=value, reverse=order == Qt.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        self.takes = have + missing
        self.layoutChanged.emit()


class ReviewPage(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Review your takes"))
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.summary = QLabel("")
        self.summary.setAccessibleName("Summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.model = TakeTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Takes")
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTabKeyNavigation(False)      # Tab leaves the table, as elsewhere
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(36)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Interactive)
        header.resizeSection(1, 260)
        header.setSortIndicator(GRADE_COLUMN, Qt.AscendingOrder)  # worst grades first
        layout.addWidget(self.table, 1)
        help_label = note(HELP)
        help_label.setAccessibleName("Keyboard keys")
        layout.addWidget(help_label)

    def page_shown(self) -> None:
        self.refresh()
        self.table.setFocus()

    def refresh(self) -> None:
        speaker = self.context.speaker
        if speaker is None:
            self.model.set_takes([])
            self.summary.setText("Choose a speaker first (Ctrl+1).")
            return
        try:
            takes = list(speaker.current_takes().values())
        except (BankError, OSError, ValueError) as exc:
            self.banner.show_message(f"The takes could not be read ({exc}).", "error")
            takes = []
        self.model.set_takes(takes)
        header = self.table.horizontalHeader()
        self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        if takes:
            self.table.selectRow(0)
        counts = {grade: sum(t.grade == grade for t in takes) for grade in ("green", "amber", "red")}
        unchecked = len(takes) - sum(counts.values())
        minutes = sum(t.duration_s for t in takes) / 60.0
        parts = [f"{grade_label(g)[0]}: {n}" for g, n in counts.items()]
        if unchecked:
            parts.append(f"not checked: {unchecked}")
        self.summary.setText(f"{len(takes)} takes    ·    " + "    ·    ".join(parts)
                             + f"    ·    {minutes:.1f} minutes")
        self.summary.setAccessibleDescription(self.summary.text())

    def selected_take(self) -> Take | None:
        rows = self.table.selectionModel().selectedRows()
        row = rows[0].row() if rows else self.table.currentIndex().row()
        return self.model.takes[row] if 0 <= row < len(self.model.takes) else None

    def play_selected(self) -> None:
        take = self.selected_take()
        if take is None:
            self.banner.show_message("Choose a take in the table first (arrow keys).", "warning")
            return
        try:
            playback.play_file(take.raw_path)
        except AudioDeviceError as exc:
            self.banner.show_message(str(exc), "error")

    def rerecord_selected(self) -> None:
        take = self.selected_take()
        if take is not None:
            self.context.open_record_at.emit(take.prompt_id)

    def handle_key(self, event: QKeyEvent) -> bool:
        if event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier) or event.isAutoRepeat():
            return False
        actions = {Qt.Key_Return: self.play_selected, Qt.Key_Enter: self.play_selected,
                   Qt.Key_P: self.play_selected, Qt.Key_R: self.rerecord_selected}
        action = actions.get(event.key())
        if action is None:
            return False
        action()
        return True
