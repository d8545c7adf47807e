"""The Review page's table: its columns (plain ones, and the measurements behind "Details"), the
model that sorts them as numbers, and the ways to sort offered in words."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from core.audio.advice import full_advice, what_to_fix
from core.bank.store import Take
from desktop.style import GRADE_ORDER, grade_label


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Take], Any]          # what sorting uses (a number where it can be)
    text: Callable[[Any], str] = lambda v: "" if v is None else str(v)
    detail: bool = False                  # a measurement: shown only with "Details" on
    tip: str = ""                         # the title's tooltip: what the measurement means


def _q(key: str) -> Callable[[Take], Any]:
    return lambda take: (take.quality or {}).get(key)


def _fmt(pattern: str) -> Callable[[Any], str]:
    return lambda v: "—" if v is None else pattern.format(v)


def _clip_percent(take: Take) -> float | None:
    value = _q("clipped_fraction")(take)
    return None if value is None else 100.0 * value


def _khz(take: Take) -> float | None:
    value = _q("bandwidth_hz")(take)
    return None if value is None else value / 1000


def _worst_first(take: Take) -> tuple:
    """Red, then amber, then good, then not checked; within a grade the noisiest first."""
    snr = _q("snr_db")(take)
    return GRADE_ORDER.get(take.grade or "", 3), math.inf if snr is None else snr


def _fix(take: Take) -> str:
    return what_to_fix(take.quality, take.interrupted)


COLUMNS = [
    Column("Sentence", lambda t: t.text),
    Column("Grade", _worst_first, lambda v: ""),
    Column("What to fix", _fix),
    Column("No.", lambda t: None, detail=True, tip="Where the sentence is in the list you read"),
    Column("SNR dB", _q("snr_db"), _fmt("{:.1f}"), True,
           "How far the voice is above the background noise (higher is better; 30 or more is good)"),
    Column("Clip %", _clip_percent, _fmt("{:.2f}"), True, "How much of the sound was too loud and cut off"),
    Column("Peak dBFS", _q("peak_dbfs"), _fmt("{:.1f}"), True, "The loudest moment (0 is the limit)"),
    Column("LUFS", _q("loudness_lufs"), _fmt("{:.1f}"), True, "How loud it sounds overall"),
    Column("Band kHz", _khz, _fmt("{:.1f}"), True, "The highest sounds the microphone caught"),
    Column("Lead s", _q("leading_silence_s"), _fmt("{:.2f}"), True, "Silence before you spoke, in seconds"),
    Column("Trail s", _q("trailing_silence_s"), _fmt("{:.2f}"), True, "Silence after you finished, in seconds"),
    Column("Syll/s", _q("speaking_rate"), _fmt("{:.1f}"), True, "Syllables per second: how fast you spoke"),
    Column("Length s", lambda t: t.duration_s, _fmt("{:.1f}"), True, "Length of the take in seconds"),
]
TEXT_COLUMN, GRADE_COLUMN, FIX_COLUMN, NUMBER_COLUMN, SNR_COLUMN = 0, 1, 2, 3, 4
PEAK_COLUMN = 6
LENGTH_COLUMN = len(COLUMNS) - 1
DETAIL_COLUMNS = [i for i, c in enumerate(COLUMNS) if c.detail]

# The ways to sort, in words, for the "Sort by" box: (words, column, order).
SORTS = [
    ("Worst first", GRADE_COLUMN, Qt.AscendingOrder),
    ("Order you read them", NUMBER_COLUMN, Qt.AscendingOrder),
    ("Most background noise first", SNR_COLUMN, Qt.AscendingOrder),
    ("Quietest first", PEAK_COLUMN, Qt.AscendingOrder),
    ("Longest first", LENGTH_COLUMN, Qt.DescendingOrder),
]


class TakeTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.takes: list[Take] = []
        self.numbers: dict[str, int] = {}        # prompt id -> its place in the script, from 1

    def set_takes(self, takes: list[Take], numbers: dict[str, int] | None = None) -> None:
        self.beginResetModel()
        self.takes = list(takes)
        self.numbers = dict(numbers or {})
        self.endResetModel()

    def value(self, take: Take, column: int) -> Any:
        if column == NUMBER_COLUMN:
            return self.numbers.get(take.prompt_id)
        return COLUMNS[column].value(take)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt names)
        return 0 if parent.isValid() else len(self.takes)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation != Qt.Horizontal:
            return None
        if role == Qt.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ToolTipRole and COLUMNS[section].tip:
            return COLUMNS[section].tip
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        take, column = self.takes[index.row()], index.column()
        if column == GRADE_COLUMN:
            text, colour = grade_label(take.grade)
            if take.interrupted:
                text += " (cut off)"
            if role in (Qt.DisplayRole, Qt.AccessibleTextRole):
                return text
            if role == Qt.ForegroundRole:
                return QColor(colour)
            return None
        if role in (Qt.DisplayRole, Qt.AccessibleTextRole):
            value = self.value(take, column)
            return COLUMNS[column].text(value)
        if role == Qt.ToolTipRole and column == TEXT_COLUMN:
            return take.text
        if role == Qt.ToolTipRole and column == FIX_COLUMN:
            return "\n".join(full_advice(take.quality)) or None
        if role == Qt.UserRole:
            return self.value(take, column)
        return None

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """Numeric sort; takes with no value for the column always go last."""
        have = [t for t in self.takes if self.value(t, column) is not None]
        missing = [t for t in self.takes if self.value(t, column) is None]
        have.sort(key=lambda t: self.value(t, column), reverse=order == Qt.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        moved = [self.takes[i.row()] for i in old]
        self.takes = have + missing
        rows = {id(t): row for row, t in enumerate(self.takes)}
        # the selection stays on the same take, wherever it moves
        self.changePersistentIndexList(old, [self.index(rows[id(t)], i.column()) for t, i in zip(moved, old)])
        self.layoutChanged.emit()
