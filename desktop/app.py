"""The voicebank desktop window: six pages, each reachable with Ctrl+1..6 or the list on the left
(Speaker, Room check, Record, Review, Build, Speak)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLineEdit, QListWidget, QMainWindow,
                               QPushButton, QSizePolicy, QStackedWidget, QWidget)

from core.audio.capture import InputDevice, Recorder, list_input_devices
from core.bank.recovery import recover
from core.bank.store import Bank
from desktop.build_page import BuildPage
from desktop.checker import TakeChecker
from desktop.context import AppContext
from desktop.record_page import RecordPage
from desktop.review_page import ReviewPage
from desktop.room_page import RoomPage
from desktop.speak_page import SpeakPage
from desktop.speaker_page import SpeakerPage
from desktop.style import STYLE_SHEET, base_font

PAGE_KEYS = {Qt.Key_1: 0, Qt.Key_2: 1, Qt.Key_3: 2, Qt.Key_4: 3, Qt.Key_5: 4, Qt.Key_6: 5}
SPEAKER, ROOM, RECORD, REVIEW, BUILD, SPEAK = range(6)
RECHECK_DELAY_MS = 2000     # takes a crash left unchecked are checked this long after start


class MainWindow(QMainWindow):
    def __init__(self, bank: Bank | None = None, recorder: Recorder | None = None,
                 list_devices: Callable[[], list[InputDevice]] | None = None, worker=None):
        super().__init__()
        self.setWindowTitle("Voicebank — bank your voice")
        self.setAccessibleName("Voicebank")
        self.context = AppContext(bank or Bank(), recorder or Recorder(),
                                  list_devices or list_input_devices, self)
        # Before the pages read the bank: finish or undo a restore a kill cut short.
        self.recovery = recover(self.context.bank.root)
        self.speaker_page = SpeakerPage(self.context)
        self.room_page = RoomPage(self.context)
        self.record_page = RecordPage(self.context)
        self.review_page = ReviewPage(self.context)
        self.build_page = BuildPage(self.context, worker)     # the worker starts on the first job
        self.speak_page = SpeakPage(self.context)             # its own worker: speaking never waits for a build
        self.pages: list[QWidget] = [self.speaker_page, self.room_page, self.record_page, self.review_page,
                                     self.build_page, self.speak_page]

        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setAccessibleName("Pages")
        for number, title in enumerate(["Speaker", "Room check", "Record", "Review", "Build", "Speak"], start=1):
            self.nav.addItem(f"{title}\nCtrl+{number}")
        self.nav.setFixedWidth(190)
        self.stack = QStackedWidget()
        for page in self.pages:
            self.stack.addWidget(page)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(True)        # Enter presses the focused button, not only Space

        self.nav.currentRowChanged.connect(self._page_changed)
        self.room_page.go_record.connect(lambda: self.show_page(RECORD))
        self.speaker_page.go_next.connect(lambda: self.show_page(ROOM))
        self.context.open_record_at.connect(self._record_prompt)
        self.resize(1150, 820)
        QApplication.instance().installEventFilter(self)
        self.nav.setCurrentRow(SPEAKER)
        if self.recovery.messages():
            self.speaker_page.banner.show_message(" ".join(self.recovery.messages()), "info")
        self._start_recheck()

    def _start_recheck(self) -> None:
        """Takes a crash left unchecked (no grade or cleaned copy) are checked in the background;
        the review page shows them graded as they come. Takes recorded from now on are the
        record page's own, hence `before`."""
        self.rechecker = TakeChecker(self)
        self._review_refresh = QTimer(self, singleShot=True, interval=500)   # one refresh per burst
        self._review_refresh.timeout.connect(self._refresh_review)
        self.rechecker.done.connect(self._take_rechecked)     # a method: runs on the GUI thread
        self.rechecker.rechecked.connect(self._rechecked)
        # file times lag the clock by up to a tick (~10 ms): the margin keeps new takes out
        started = time.time() - 0.05
        # a little after the window is up: start-up stays light (the check loads scipy/RNNoise)
        QTimer.singleShot(RECHECK_DELAY_MS, self,
                          lambda: self.rechecker.recheck_bank(self.context.bank, before=started))

    def _take_rechecked(self, take, error) -> None:
        self._review_refresh.start()

    def _refresh_review(self) -> None:
        if self.stack.currentWidget() is self.review_page:
            self.review_page.refresh()

    def _rechecked(self, summary) -> None:
        self._refresh_review()
        if summary.failed:
            self.review_page.banner.show_message(summary.describe(), "warning")

    @property
    def current_page(self) -> QWidget:
        return self.stack.currentWidget()

    def show_page(self, index: int) -> None:
        self.nav.setCurrentRow(index)

    def _page_changed(self, index: int) -> None:
        previous = self.stack.currentWidget()
        if previous is self.record_page and self.record_page.recording and index != RECORD:
            self.record_page.stop_take()        # leaving the page keeps the take
        if previous is self.room_page and index != ROOM:
            self.room_page.cancel()
        self.stack.setCurrentIndex(index)
        page = self.stack.currentWidget()
        self._size_to(page)
        if hasattr(page, "page_shown"):
            page.page_shown()

    def _size_to(self, page: QWidget) -> None:
        """The window's minimum size is the shown page's own, not the largest page's (a stack
        counts every page): the Record page, with its messages, then fits a 1024x600 screen."""
        if not hasattr(self, "_page_policies"):
            self._page_policies = [other.sizePolicy() for other in self.pages]
        for other, own in zip(self.pages, self._page_policies):
            other.setSizePolicy(own if other is page else QSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored))
        self.stack.updateGeometry()
        self.centralWidget().layout().activate()
        self.layout().activate()        # now, so that a resize right after this already applies

    def _record_prompt(self, prompt_id: str) -> None:
        self.show_page(RECORD)
        self.record_page.go_to_prompt(prompt_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() != QEvent.KeyPress or not isinstance(watched, QWidget):
            return False
        if watched.window() is not self:
            return False
        key_event: QKeyEvent = event
        if key_event.modifiers() & Qt.ControlModifier and key_event.key() in PAGE_KEYS:
            self.show_page(PAGE_KEYS[key_event.key()])
            return True
        if isinstance(watched, QLineEdit):      # typing a name or a message
            return False
        handle = getattr(self.current_page, "handle_key", None)
        return bool(handle and handle(key_event))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.record_page.recording:
            self.record_page.stop_take()        # never lose a take on close
        self.room_page.cancel()
        QApplication.instance().removeEventFilter(self)
        self.context.shutdown()
        self.build_page.shutdown()              # a running build stops; it resumes next time
        self.speak_page.shutdown()
        self.record_page.checker.wait()
        self.rechecker.stop()                   # the take it is on is finished, the rest wait
        self.rechecker.wait()
        super().closeEvent(event)


def make_app(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("voicebank")
    app.setFont(base_font())
    app.setStyleSheet(STYLE_SHEET)
    return app


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(prog="voicebank gui", description="Bank your voice.")
    parser.add_argument("--bank", help="the voice bank folder (default: your user data folder)")
    parser.add_argument("bank_dir", nargs="?", help="the voice bank folder (same as --bank)")
    args, qt_args = parser.parse_known_args(argv[1:])
    app = make_app(argv[:1] + qt_args)
    folder = args.bank or args.bank_dir
    window = MainWindow(bank=Bank(Path(folder)) if folder else None)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
