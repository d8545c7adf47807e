"""The driver shared by the layout tests and `python -m tools.screenshots`: a bank part-way through
(one speaker with messages, graded takes and a voice, or nobody yet), the window on a fake
microphone with a worker that never starts, every page shown in turn, and what is wrong with the
layout of the page on show: controls that overlap, are squeezed below their size, cut off or only
reachable by scrolling sideways; text that does not fit; duplicate Alt keys; a control with no
accessible name; a disabled control that does not say why.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QPoint, QRect, Signal
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractScrollArea, QAbstractSpinBox,
                               QApplication, QComboBox, QGroupBox, QLabel, QLineEdit, QPlainTextEdit,
                               QSlider, QTextEdit, QWidget)

from core.audio.capture import Recorder
from core.bank.store import Bank
from core.settings import AppSettings
from tests.fakes import fake_stream_factory
from tests.testsignals import speech_like

PAGES = ["speaker", "room", "record", "review", "build", "speak"]
INTERACTIVE = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QSlider, QAbstractItemView,
               QPlainTextEdit, QTextEdit)
LONG_MESSAGE = ("The disk is full, so recording stopped. The first 4.2 seconds of this take are kept. "
                "The 312 sentences still to go need about 180 MB of free disk space. Free some space "
                "(empty the wastebasket, or move videos to a USB stick), then press Space to go on.")
GRADES = ["green", "green", "amber", "red", "green", None]


class IdleWorker(QObject):
    """Stands in for desktop.worker_client.WorkerClient: takes jobs and never answers them."""
    progress = Signal(str, object)
    result = Signal(str, object)
    failed = Signal(str, str)
    cancelled = Signal(str)
    died = Signal(str)
    log = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.jobs: list[tuple[str, dict]] = []

    def submit(self, kind: str, params: dict | None = None) -> str:
        self.jobs.append((kind, dict(params or {})))
        return f"idle-{len(self.jobs)}"

    def cancel(self, job: str, kill_after_ms: int | None = None) -> None:
        pass

    def shutdown(self, wait: bool = False, kill_after_ms: int = 0) -> None:
        pass


def fill_bank(root: Path, takes: int = len(GRADES), voice: bool = True) -> Bank:
    """Ada (Mandarin and English): two messages, `takes` graded takes, and a voice to speak with
(with saved phrases and some things said)."""
    bank = Bank(root)
    speaker = bank.create_speaker("Ada", ["zh", "en"])
    speaker.add_message("I love you, 我爱你")
    speaker.add_message("Please call my daughter, 请给我女儿打电话")
    session = speaker.start_session("USB microphone", -58.0, True)
    for i, prompt in enumerate(speaker.prompts()[:takes]):
        writer = speaker.begin_take(prompt, session)
        writer.append(speech_like(1.0 + 0.3 * i, 48000, seed=i).astype(np.float32))
        take = writer.finish()
        grade = GRADES[i % len(GRADES)]
        if grade:
            take.quality = {"grade": grade, "snr_db": 38.0 - 6 * i, "peak_dbfs": -6.0 - i,
                            "problems": [] if grade == "green" else
                            [{"message": "Some background noise: move away from the fan or close the window."}]}
            take.save()
    if voice:
        from tests.core.speak import make_voice
        make_voice(speaker, "v-20260101")
        _speak_lists(Path(speaker.folder), take.raw_path if takes else None)
    return bank


def _speak_lists(folder: Path, audio: Path | None) -> None:
    """Saved phrases and what was said, long and short, so the Speak page's lists are not empty."""
    from core.speak.history import History
    from core.speak.phrases import PhraseBook

    book = PhraseBook(folder)
    for text in ("Yes, please.", "I need a moment to answer, please wait for me.", "谢谢你，我很好。"):
        book.add(text)
    said = ("Good morning! Did you sleep well?", "Could you open the window a little, please? It is "
            "warm in here and I would like some fresh air.", "我想喝一杯热茶。")
    history = History(folder)
    for text in said if audio is not None else ():
        history.add(text, audio, "v-20260101", copy=True)


def make_window(bank: Bank, text_size: str = "normal", size: tuple[int, int] = (1024, 600)):
    """The window as a person sees it, on a fake microphone, at `size` (logical pixels)."""
    from desktop.app import MainWindow, make_app

    make_app([])
    recorder = Recorder(stream_factory=fake_stream_factory(speech_like(3.0), loop=True, pace=0.25))
    window = MainWindow(bank=bank, recorder=recorder, list_devices=lambda: [], worker=IdleWorker(),
                        settings=AppSettings(text_size=text_size), speak_worker=IdleWorker())
    window.resize(*size)
    window.show()
    settle()
    return window


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()
        QApplication.sendPostedEvents()


def show_page(window, name: str, message: bool = True) -> QWidget:
    """Show a page, with a long message in its banner (the most room a message takes)."""
    window.show_page(PAGES.index(name))
    if message and window.current_frame.banner is not None:
        window.current_frame.banner.show_message(LONG_MESSAGE, "error")
    settle()
    return window.current_frame


# what is wrong -----------------------------------------------------------------------------
def _ancestors(widget: QWidget, top: QWidget):
    parent = widget.parentWidget()
    while parent is not None:
        yield parent
        if parent is top:
            return
        parent = parent.parentWidget()


def _rect(widget: QWidget, top: QWidget) -> QRect:
    return QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())


def _is_viewport(widget: QWidget) -> bool:
    area = widget.parentWidget()
    return isinstance(area, QAbstractScrollArea) and area.viewport() is widget


def _name(widget: QWidget) -> str:
    text = widget.accessibleName() or getattr(widget, "text", lambda: "")() or widget.objectName()
    return f"{type(widget).__name__} '{str(text)[:40]}'"


def controls(root: QWidget) -> list[QWidget]:
    """Visible controls a person operates (not the parts of one, such as a combo box's editor)."""
    found = [root] if isinstance(root, INTERACTIVE) and root.isVisible() else []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible():
            continue
        if any(isinstance(a, INTERACTIVE) for a in _ancestors(widget, root)):
            continue
        found.append(widget)
    return found


def _texts(root: QWidget) -> list[QLabel]:
    return [label for label in root.findChildren(QLabel) if label.isVisible() and label.text().strip()
            and not any(isinstance(a, INTERACTIVE) for a in _ancestors(label, root))]


def visible_rect(widget: QWidget, top: QWidget) -> tuple[QRect, str]:
    """The part of `widget` one can see, in `top`'s coordinates, and what cuts it ("" if nothing
    does but the up-and-down scrolling of a page, which a person can do)."""
    rect, cut = _rect(widget, top), ""
    for ancestor in _ancestors(widget, top):
        if rect.isEmpty():
            break
        bounds = _rect(ancestor, top)
        sideways = rect.left() < bounds.left() or rect.right() > bounds.right()
        upright = rect.top() < bounds.top() or rect.bottom() > bounds.bottom()
        if _is_viewport(ancestor):
            if sideways:
                cut = cut or "only reachable by scrolling sideways"
        elif sideways or upright:
            cut = cut or f"cut off by {_name(ancestor)}"
        rect = rect.intersected(bounds)
    return rect, cut


def layout_problems(window, root: QWidget | None = None) -> list[str]:
    """What is wrong with the layout of `root` (the page on show, with the list of pages)."""
    top = window
    roots = [root] if root is not None else [window.current_frame, window.nav, window.text_size]
    problems = []
    widgets = [w for r in roots for w in controls(r)]
    labels = [label for r in roots for label in _texts(r)]
    shown = {}
    for widget in widgets + labels:
        rect, cut = visible_rect(widget, top)
        hint = widget.minimumSizeHint()
        if cut:
            problems.append(f"{_name(widget)}: {cut}")
        if widget.width() < min(hint.width(), widget.maximumWidth()) or \
                widget.height() < min(hint.height(), widget.maximumHeight()):
            problems.append(f"{_name(widget)}: squeezed to {widget.width()}x{widget.height()}, "
                            f"needs {hint.width()}x{hint.height()}")
        if isinstance(widget, QLabel) and widget.wordWrap() and widget.height() < widget.heightForWidth(widget.width()):
            problems.append(f"{_name(widget)}: text cut off ({widget.height()} px tall, needs "
                            f"{widget.heightForWidth(widget.width())})")
        if not rect.isEmpty():
            shown[widget] = rect
    for (a, ra), (b, rb) in itertools.combinations(shown.items(), 2):
        if a.isAncestorOf(b) or b.isAncestorOf(a) or isinstance(a, QLabel) and isinstance(b, QLabel):
            continue
        if ra.intersects(rb):
            problems.append(f"{_name(a)} overlaps {_name(b)}")
    return problems


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&\s])", text.replace("&&", ""))
    return found.group(1).upper() if found else None


def mnemonic_problems(root: QWidget) -> list[str]:
    """Alt keys (the underlined letters) used twice among what is on show in `root`."""
    keys: dict[str, list[str]] = {}
    for widget in root.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QAbstractButton):
            text = widget.text()
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            text = widget.text()
        elif isinstance(widget, QGroupBox):
            text = widget.title()
        else:
            continue
        key = _mnemonic(text)
        if key:
            keys.setdefault(key, []).append(text)
    return [f"Alt+{key}: {' / '.join(texts)}" for key, texts in sorted(keys.items()) if len(texts) > 1]


def accessibility_problems(root: QWidget) -> list[str]:
    """A control a screen reader cannot name, or a disabled one that does not say why."""
    problems = []
    for widget in controls(root):
        face = QAccessible.queryAccessibleInterface(widget)
        name = face.text(QAccessible.Name) if face is not None else ""
        if not (widget.accessibleName() or name).strip():
            problems.append(f"{_name(widget)} has no accessible name")
        if not widget.isEnabled() and not (widget.toolTip() or widget.accessibleDescription()).strip():
            problems.append(f"{_name(widget)} is disabled and does not say why")
    return problems
