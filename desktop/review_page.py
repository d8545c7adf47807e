"""Page 4: every current take in a table, worst first, with what to fix in words; large Play and
Record-again buttons for the chosen take; sorting, a "only takes to redo" filter and the
measurements (behind "Details"), all usable by pointer alone or keyboard alone."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHeaderView, QLabel, QPushButton,
                               QTableView, QVBoxLayout, QWidget)

from core.audio import playback
from core.audio.advice import NOT_CHECKED, full_advice, grade_words, is_unusable, what_to_fix
from core.audio.capture import AudioDeviceError
from core.bank.store import BankError, Take
from desktop.context import AppContext
from desktop.flow_layout import FlowLayout, together
from desktop.review_widgets import (COLUMNS, DETAIL_COLUMNS, FIX_COLUMN, GRADE_COLUMN, SORTS, TEXT_COLUMN,
                                    TakeTableModel)
from desktop.style import grade_label
from desktop.widgets import Banner, heading, note

HELP = "Keys: ↑ ↓ choose a take    P or Enter: play it    R: record it again    Alt + an underlined letter"
PLAY_TEXT = "▶  Play (P)"
RECORD_TEXT = "●  Record again (R)"
NO_TAKES = "No takes yet. Record some on the Record page (Ctrl+3), then come back here."
NOTHING_TO_REDO = "✓ Nothing to redo: every take can be used. Untick “Only takes to redo” to see them all."
CHOOSE_FIRST = "Choose a take in the table first: click it, or use the arrow keys."
BIG_BUTTON = "QPushButton { font-weight: bold; padding: 10px 18px; }"


class ReviewPage(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.all_takes: list[Take] = []
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Review your takes"))
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.summary = QLabel("")
        self.summary.setAccessibleName("Summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        controls = FlowLayout(spacing=16)       # wraps rather than widening the page
        self.sort_combo = QComboBox()
        self.sort_combo.setAccessibleName("Sort by")
        for words, _column, _order in SORTS:
            self.sort_combo.addItem(words)
        self.sort_combo.setPlaceholderText("the column you clicked")
        sort_label = QLabel("Sort &by:")
        sort_label.setBuddy(self.sort_combo)
        self.redo_only = QCheckBox("Only &takes to redo")
        self.redo_only.setAccessibleName("Only takes to redo")
        self.redo_only.setAccessibleDescription("Show only the takes graded ✗ Redo")
        self.details = QCheckBox("&Details")
        self.details.setAccessibleName("Details")
        self.details.setAccessibleDescription("Show the measurement columns: noise, loudness, bandwidth, pace")
        for widget in (together(sort_label, self.sort_combo), self.redo_only, self.details):
            controls.addWidget(widget)
        layout.addLayout(controls)

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
        self.table.verticalHeader().setDefaultSectionSize(44)     # rows big enough to click or dwell on
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(TEXT_COLUMN, QHeaderView.Interactive)
        header.resizeSection(TEXT_COLUMN, 300)
        header.setSortIndicator(GRADE_COLUMN, Qt.AscendingOrder)  # worst grades first
        layout.addWidget(self.table, 1)

        buttons = FlowLayout()
        self.play_button = QPushButton(PLAY_TEXT)
        self.play_button.setAccessibleName("Play the chosen take")
        self.record_button = QPushButton(RECORD_TEXT)
        self.record_button.setAccessibleName("Record the chosen sentence again")
        self.record_button.setAccessibleDescription("Goes to the Record page at this sentence; "
                                                    "the old take is kept")
        for button in (self.play_button, self.record_button):
            button.setStyleSheet(BIG_BUTTON)
            button.setMinimumSize(220, 60)
            buttons.addWidget(button)
        self.chosen_label = note("")
        self.chosen_label.setAccessibleName("Chosen take")
        layout.addWidget(self.chosen_label)
        layout.addLayout(buttons)
        help_label = note(HELP)
        help_label.setAccessibleName("Keyboard keys")
        layout.addWidget(help_label)

        self.play_button.clicked.connect(self.play_selected)
        self.record_button.clicked.connect(self.rerecord_selected)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_chosen())
        self.sort_combo.currentIndexChanged.connect(self._sort_chosen)
        header.sortIndicatorChanged.connect(self._sorted_by_header)
        self.redo_only.toggled.connect(lambda _on: self._fill())
        self.details.toggled.connect(self.show_details)
        self.show_details(False)

    def page_shown(self) -> None:
        self.refresh()
        self.table.setFocus()

    # filling the table ---------------------------------------------------------------------
    def refresh(self) -> None:
        speaker = self.context.speaker
        if self.banner.kind == "error":
            self.banner.clear_message()         # shown again below if it still fails
        if speaker is None:
            self.all_takes = []
            self._fill()
            self.summary.setText("Choose a speaker first (Ctrl+1).")
            return
        try:
            self.all_takes = list(speaker.current_takes().values())
        except (BankError, OSError, ValueError) as exc:
            self.banner.show_message(f"The takes could not be read ({exc}). Check that the bank's "
                                     "disk is connected, then open this page again.", "error")
            self.all_takes = []
        self._fill()
        takes = self.all_takes
        counts = {grade: sum(t.grade == grade for t in takes) for grade in ("green", "amber", "red")}
        unchecked = len(takes) - sum(counts.values())
        minutes = sum(t.duration_s for t in takes) / 60.0
        parts = [f"{grade_label(g)[0]}: {n}" for g, n in counts.items()]
        if unchecked:
            parts.append(f"not checked: {unchecked}")
        self.summary.setText(f"{len(takes)} takes    ·    " + "    ·    ".join(parts)
                             + f"    ·    {minutes:.1f} minutes")
        self.summary.setAccessibleDescription(self.summary.text())

    def _numbers(self) -> dict[str, int]:
        try:
            return {p.id: i for i, p in enumerate(self.context.prompts(), start=1)}
        except (BankError, OSError, ValueError):
            return {}

    def _fill(self) -> None:
        """Show the takes (only the red ones with the filter on), sorted as chosen, keeping the
        chosen take chosen when it is still shown."""
        before = self.selected_take()
        keep = before.prompt_id if before is not None else None
        shown = [t for t in self.all_takes if is_unusable(t.grade)] if self.redo_only.isChecked() else self.all_takes
        self.model.set_takes(shown, self._numbers())
        self.show_details(self.details.isChecked())     # a new model shows every column again
        header = self.table.horizontalHeader()
        self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        rows = [r for r, t in enumerate(self.model.takes) if t.prompt_id == keep]
        if self.model.takes:
            self.select_row(rows[0] if rows else 0)
        self._show_chosen()

    def select_row(self, row: int) -> None:
        index = self.model.index(row, TEXT_COLUMN)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        self.table.scrollTo(index)

    # sorting and details -------------------------------------------------------------------
    def _sort_chosen(self, choice: int) -> None:
        if 0 <= choice < len(SORTS):
            _words, column, order = SORTS[choice]
            self.table.sortByColumn(column, order)

    def _sorted_by_header(self, column: int, order) -> None:
        """A click on a column title: the "Sort by" box says so (or shows its placeholder)."""
        matching = [i for i, (_w, c, o) in enumerate(SORTS) if c == column and o == order]
        self.sort_combo.blockSignals(True)
        self.sort_combo.setCurrentIndex(matching[0] if matching else -1)
        self.sort_combo.blockSignals(False)
        selected = self.selected_take()
        if selected is not None:
            self.table.scrollTo(self.model.index(self.model.takes.index(selected), TEXT_COLUMN))

    def show_details(self, on: bool) -> None:
        for column in DETAIL_COLUMNS:
            self.table.setColumnHidden(column, not on)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(FIX_COLUMN, QHeaderView.Interactive if on else QHeaderView.Stretch)
        if on:
            header.resizeSection(FIX_COLUMN, 330)      # the measurements scroll in beside it
        if self.details.isChecked() != on:
            self.details.setChecked(on)

    def visible_titles(self) -> list[str]:
        return [c.title for i, c in enumerate(COLUMNS) if not self.table.isColumnHidden(i)]

    # the chosen take -----------------------------------------------------------------------
    def selected_take(self) -> Take | None:
        rows = self.table.selectionModel().selectedRows()
        row = rows[0].row() if rows else self.table.currentIndex().row()
        return self.model.takes[row] if 0 <= row < len(self.model.takes) else None

    def _show_chosen(self) -> None:
        take = self.selected_take()
        for button in (self.play_button, self.record_button):
            button.setEnabled(take is not None)
        if take is None:
            text = (NOTHING_TO_REDO if self.redo_only.isChecked() and self.all_takes
                    else NO_TAKES if not self.all_takes else CHOOSE_FIRST)
        else:
            advice = full_advice(take.quality)
            fix = what_to_fix(take.quality, take.interrupted)
            if fix == NOT_CHECKED:
                advice = ["Not checked yet: the check runs by itself in a moment."]
            elif not advice:
                advice = [fix + "."]
            text = f"“{take.text}”  —  {grade_words(take.grade)}. {advice[0]}"
        self.chosen_label.setText(text)
        self.chosen_label.setAccessibleDescription(text)

    def _double_clicked(self, index) -> None:
        self.select_row(index.row())
        self.play_selected()

    def play_selected(self) -> None:
        take = self.selected_take()
        if take is None:
            self.banner.show_message(CHOOSE_FIRST, "warning")
            return
        if not take.raw_path.is_file():
            self.banner.show_message("The recording of this take is no longer on the disk. Press "
                                     "“Record again” to record the sentence once more.", "warning")
            return
        try:
            playback.play_file(take.raw_path)
        except AudioDeviceError as exc:
            self.banner.show_message(str(exc), "error")

    def rerecord_selected(self) -> None:
        take = self.selected_take()
        if take is None:
            self.banner.show_message(CHOOSE_FIRST, "warning")
            return
        self.context.open_record_at.emit(take.prompt_id)

    def handle_key(self, event: QKeyEvent) -> bool:
        if event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier) or event.isAutoRepeat():
            return False
        actions = {Qt.Key_P: self.play_selected, Qt.Key_R: self.rerecord_selected}
        if self.table.hasFocus():       # elsewhere Enter presses the focused button or box
            actions.update({Qt.Key_Return: self.play_selected, Qt.Key_Enter: self.play_selected})
        action = actions.get(event.key())
        if action is None:
            return False
        action()
        return True
