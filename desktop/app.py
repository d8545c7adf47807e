"""The voicebank desktop window: six pages, each reachable with Ctrl+1..6 or the list on the left
(Speaker, Room check, Record, Review, Build, Speak)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLineEdit, QMainWindow, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from core.audio.capture import InputDevice, Recorder, list_input_devices
from core.bank.recovery import recover
from core.bank.store import Bank
from core.settings import AppSettings, load_settings, save_settings
from desktop.build_page import BuildPage
from desktop.checker import TakeChecker
from desktop.context import AppContext
from desktop.page_frame import NavList, PageFrame, TextSizeBox
from desktop.record_page import RecordPage
from desktop.review_page import ReviewPage
from desktop.room_page import RoomPage
from desktop.speak_page import SpeakPage
from desktop.speaker_page import SpeakerPage
from desktop.start import StartPoint, start_point
from desktop.style import base_font, style_sheet

PAGE_KEYS = {Qt.Key_1: 0, Qt.Key_2: 1, Qt.Key_3: 2, Qt.Key_4: 3, Qt.Key_5: 4, Qt.Key_6: 5}
SPEAKER, ROOM, RECORD, REVIEW, BUILD, SPEAK = range(6)
START_PAGES = {"speaker": SPEAKER, "record": RECORD, "build": BUILD, "speak": SPEAK}
DEFAULT_SIZE = QSize(1150, 820)


def fit_to_screen(size: QSize, available: QSize) -> tuple[QSize, bool]:
    """The window's size on a screen with `available` room, and whether to maximize it instead: a
    window as big as the screen would have its bottom pushed off by its title bar (1024x600, a
    1366x768 laptop with a panel), so it is maximized and the window manager fits it."""
    too_big = size.width() >= available.width() or size.height() >= available.height()
    return size.boundedTo(available), too_big
RECHECK_DELAY_MS = 2000     # takes a crash left unchecked are checked this long after start


class MainWindow(QMainWindow):
    def __init__(self, bank: Bank | None = None, recorder: Recorder | None = None,
                 list_devices: Callable[[], list[InputDevice]] | None = None, worker=None,
                 settings: AppSettings | None = None, speak_worker=None):
        super().__init__()
        self.setWindowTitle("Voicebank — bank your voice")
        self.setAccessibleName("Voicebank")
        self.settings = settings if settings is not None else load_settings()
        apply_text_size(self.settings.text_size)
        self.context = AppContext(bank or Bank(), recorder or Recorder(),
                                  list_devices or list_input_devices, self)
        # Before the pages read the bank: finish or undo a restore a kill cut short.
        self.recovery = recover(self.context.bank.root)
        self.speaker_page = SpeakerPage(self.context)
        self.room_page = RoomPage(self.context)
        self.record_page = RecordPage(self.context)
        self.review_page = ReviewPage(self.context)
        self.build_page = BuildPage(self.context, worker)     # the worker starts on the first job
        self.speak_page = SpeakPage(self.context, speak_worker)   # its own worker: speaking never waits for a build
        self.pages: list[QWidget] = [self.speaker_page, self.room_page, self.record_page, self.review_page,
                                     self.build_page, self.speak_page]
        # each page scrolls under its heading and message: nothing is squeezed on a small screen
        self.frames = [PageFrame(page) for page in self.pages]

        self.nav = NavList()
        self.text_size = TextSizeBox(self.settings.text_size)
        self.text_size.changed.connect(self.set_text_size)
        self.stack = QStackedWidget()
        for frame in self.frames:
            self.stack.addWidget(frame)
        central = QWidget()
        layout = QHBoxLayout(central)
        left = QVBoxLayout()
        left.addWidget(self.nav, 1)
        left.addWidget(self.text_size)
        layout.addLayout(left)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(True)        # Enter presses the focused button, not only Space

        self._page_index = -1
        self.nav.currentRowChanged.connect(self._page_changed)
        self.room_page.go_record.connect(lambda: self.show_page(RECORD))
        self.speaker_page.go_next.connect(lambda: self.show_page(ROOM))
        self.context.open_record_at.connect(self._record_prompt)
        self.context.speaker_changed.connect(self._speaker_changed)
        self.record_page.continuous = self.settings.continuous
        self.record_page.continuous_changed.connect(lambda _on: self.save_settings())
        self.record_page.grade_tone = self.settings.grade_tone
        self.record_page.tone_box.toggled.connect(lambda _on: self.save_settings())
        self.speak_page.service_switch.changed.connect(lambda _on: self.save_settings())
        self._restore_size()
        QApplication.instance().installEventFilter(self)
        QApplication.instance().focusChanged.connect(self._focus_changed)
        if self.recovery.messages():        # a restore was finished or undone: say so, on the Speaker page
            self.show_page(SPEAKER)
            self.speaker_page.banner.show_message(" ".join(self.recovery.messages()), "info")
        else:
            self.open_start(start_point(self.context.bank, self.settings.speaker_for(self.context.bank.root)))
        self._start_recheck()
        if self.settings.share_voice:           # on at launch if it was on (for the speaker opened)
            self.speak_page.service_switch.set_on(True)

    # where to open, and what is remembered -------------------------------------------------
    def open_start(self, start: StartPoint) -> None:
        """Open where the person left off (desktop.start)."""
        if start.speaker_id:
            self.speaker_page.refresh_speakers(select_id=start.speaker_id)
        self.show_page(START_PAGES.get(start.page, SPEAKER))
        if start.prompt_id:
            self.record_page.go_to_prompt(start.prompt_id)
        if start.empty_bank:
            self.speaker_page.name_edit.setFocus()

    def _restore_size(self) -> None:
        size = QSize(self.settings.width, self.settings.height)
        if size.width() <= 0 or size.height() <= 0:
            size = DEFAULT_SIZE
        screen = self.screen()
        too_big = False
        # the offscreen platform's 800x800 "screen" is no one's
        if screen is not None and QGuiApplication.platformName() != "offscreen":
            size, too_big = fit_to_screen(size, screen.availableGeometry().size())
        self.resize(size)
        if self.settings.maximized or too_big:
            self.setWindowState(self.windowState() | Qt.WindowMaximized)

    def set_text_size(self, size: str) -> None:
        """The text size of the whole window (Normal, Large, Largest); remembered."""
        apply_text_size(size)
        self.settings.text_size = size
        if self.text_size.text_size != size:
            self.text_size.set_text_size(size)
        self.save_settings()

    def _speaker_changed(self, speaker) -> None:
        self.settings.remember_speaker(self.context.bank.root, speaker.id if speaker else None)

    def save_settings(self) -> None:
        """Window size, text size, continuous mode, the grade tone, last speaker (core.settings;
        never the bank)."""
        self.settings.continuous = bool(self.record_page.continuous)
        self.settings.grade_tone = bool(self.record_page.grade_tone)
        self.settings.share_voice = self.speak_page.service_switch.check.isChecked()
        self.settings.maximized = self.isMaximized()
        geometry = self.normalGeometry() if self.isMaximized() else self.geometry()
        self.settings.width, self.settings.height = geometry.width(), geometry.height()
        try:
            save_settings(self.settings)
        except OSError:
            pass                    # only the layout is not remembered; nothing else depends on it

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
        """Takes checked again in the background (a crash, or older rules) show their new grade."""
        if self.current_page is self.review_page:
            self.review_page.refresh()
        elif self.current_page is self.record_page and not self.record_page.recording:
            self.record_page.refresh()

    def _rechecked(self, summary) -> None:
        self._refresh_review()
        if summary.failed:
            self.review_page.banner.show_message(summary.describe(), "warning")

    @property
    def current_page(self) -> QWidget:
        return self.pages[self.stack.currentIndex()]

    @property
    def current_frame(self) -> PageFrame:
        return self.frames[self.stack.currentIndex()]

    def show_page(self, index: int) -> None:
        self.nav.setCurrentRow(index)

    def _page_changed(self, index: int) -> None:
        previous = self.current_page if self._page_index >= 0 else None
        if previous is self.record_page and self.record_page.recording and index != RECORD:
            self.record_page.stop_take()        # leaving the page keeps the take
        if previous is self.room_page and index != ROOM:
            self.room_page.cancel()
        if previous is not None and index != self._page_index:
            banner = self.frames[self._page_index].banner
            if banner is not None:
                banner.page_left()              # its message was about that page, and has been seen
        self._page_index = index
        self.stack.setCurrentIndex(index)
        page = self.current_page
        if hasattr(page, "page_shown"):
            page.page_shown()

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and new.window() is self and self._page_index >= 0:
            self.current_frame.show_focused(new)

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
        banner = self.current_frame.banner
        on_close = banner is not None and watched is banner.close_button
        if on_close and key_event.key() != Qt.Key_Escape:
            return False                        # Space or Enter on ✕ closes the message, on every page
        handle = getattr(self.current_page, "handle_key", None)
        if not on_close and not isinstance(watched, QLineEdit) and handle and handle(key_event):
            return True                         # not while typing a name; Esc on ✕ closes the message
        if (key_event.key() == Qt.Key_Escape and not key_event.modifiers() and banner is not None
                and banner.isVisible()):
            banner.dismiss()                    # Esc closes the message where the page has no use for it
            return True
        return False

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.save_settings()
        try:
            QApplication.instance().focusChanged.disconnect(self._focus_changed)
        except (RuntimeError, TypeError):
            pass                                # closed before
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


def apply_text_size(size: str) -> None:
    """Every font in the app at the chosen size (desktop.style.TEXT_POINTS)."""
    app = QApplication.instance()
    app.setFont(base_font(size))
    app.setStyleSheet(style_sheet(size))


def make_app(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("voicebank")
    apply_text_size("normal")
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
