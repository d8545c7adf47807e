"""Find a sentence and go to it (Record page, F): type words or its number, Enter goes to the
first match (↑ ↓ choose another); with a pointer alone, one click on a sentence goes there, and
the buttons on top show only the sentences still to record, to redo, or skipped."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from core.bank.prompts import Prompt

# what each prompt is, as shown in the list (a symbol and a word: never colour alone)
STATUS_WORDS = {"todo": "○ to record", "red": "✗ redo", "done": "✓ done", "skipped": "— skipped"}
FILTERS = (("all", "All"), ("todo", "Still to record"), ("red", "To redo"), ("skipped", "Skipped"))
MAX_SHOWN = 600


def matches(prompts: list[Prompt], query: str) -> list[int]:
    """Indexes of the prompts a query finds: a number is a position (12 = the 12th) and also
    matches ids (zh-0012); words must all appear in the sentence or its id, in any case."""
    query = query.strip()
    if not query:
        return list(range(len(prompts)))
    out: list[int] = []
    if query.isdigit() and 1 <= int(query) <= len(prompts):
        out.append(int(query) - 1)
    words = query.casefold().split()
    for i, prompt in enumerate(prompts):
        hay = f"{prompt.id} {prompt.text}".casefold()
        if i not in out and all(w in hay for w in words):
            out.append(i)
    return out


class JumpDialog(QDialog):
    """`chosen(index)` when the person picks a sentence; the dialog then closes."""

    chosen = Signal(int)

    def __init__(self, prompts: list[Prompt], statuses: dict[str, str], current: int,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Find a sentence")
        self.setAccessibleName("Find a sentence")
        self.prompts, self.statuses, self.current = prompts, statuses, current
        layout = QVBoxLayout(self)
        label = QLabel("Type some words or the sentence's number, then press Enter. "
                       "Or click a sentence below.")
        label.setWordWrap(True)
        layout.addWidget(label)
        self.search = QLineEdit()
        self.search.setAccessibleName("Words or number to find")
        self.search.setPlaceholderText("for example: umbrella, or 120")
        layout.addWidget(self.search)
        row = QHBoxLayout()
        self.filters = QButtonGroup(self)
        self.filter_buttons: dict[str, QPushButton] = {}
        for key, text in FILTERS:
            count = len(prompts) if key == "all" else sum(s == key for s in statuses.values())
            button = QPushButton(f"{text} ({count})")
            button.setCheckable(True)
            button.setAccessibleName(f"Show {text.lower()}")
            self.filters.addButton(button)
            self.filter_buttons[key] = button
            row.addWidget(button)
            button.clicked.connect(self.refresh)
        self.filter_buttons["all"].setChecked(True)
        layout.addLayout(row)
        self.results = QListWidget()
        self.results.setAccessibleName("Sentences found")
        self.results.setWordWrap(True)
        self.results.itemClicked.connect(self._go_item)        # one click: easy with a head mouse
        self.results.itemActivated.connect(self._go_item)
        layout.addWidget(self.results, 1)
        self.found = QLabel("")
        self.found.setAccessibleName("How many found")
        layout.addWidget(self.found)
        buttons = QHBoxLayout()
        self.go_button = QPushButton("Go there (Enter)")
        self.go_button.setAccessibleName("Go to the chosen sentence")
        self.go_button.clicked.connect(self.go)
        self.close_button = QPushButton("Close (Esc)")
        self.close_button.setAccessibleName("Close without going anywhere")
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.go_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.search.textChanged.connect(self.refresh)
        self.search.returnPressed.connect(self.go)
        self.search.installEventFilter(self)
        self.refresh()
        self.search.setFocus()

    @property
    def filter(self) -> str:
        return next(k for k, b in self.filter_buttons.items() if b.isChecked())

    def refresh(self) -> None:
        self.results.clear()
        wanted = self.filter
        found = [i for i in matches(self.prompts, self.search.text())
                 if wanted == "all" or self.statuses.get(self.prompts[i].id) == wanted]
        for i in found[:MAX_SHOWN]:
            prompt = self.prompts[i]
            status = STATUS_WORDS.get(self.statuses.get(prompt.id, "todo"), "")
            here = "   ◀ you are here" if i == self.current else ""
            item = QListWidgetItem(f"{i + 1}.  {prompt.text}\n      {status}  ·  {prompt.id}{here}")
            item.setData(Qt.UserRole, i)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)
        n = len(found)
        self.found.setText("Nothing found: try fewer or other words, or a number." if not n else
                           f"{n} sentence{'s' if n != 1 else ''} found"
                           + (f"; the first {MAX_SHOWN} are shown." if n > MAX_SHOWN else "."))
        self.go_button.setEnabled(bool(n))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        """↑ ↓ in the search box move through the sentences found."""
        if watched is self.search and event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Up, Qt.Key_Down):
            step = -1 if event.key() == Qt.Key_Up else 1
            row = min(max(self.results.currentRow() + step, 0), self.results.count() - 1)
            self.results.setCurrentRow(row)
            return True
        return False

    def _go_item(self, item: QListWidgetItem) -> None:
        self.results.setCurrentItem(item)
        self.go()

    def go(self) -> None:
        item = self.results.currentItem()
        if item is None or self.result() == QDialog.Accepted:
            return          # Enter and a click can both arrive: one is enough
        self.setResult(QDialog.Accepted)
        self.chosen.emit(int(item.data(Qt.UserRole)))
        self.accept()
