"""Takes a crash left unchecked are checked in the background when the app starts, without
holding up the window, and the review page then shows them graded."""
from __future__ import annotations

import os
import threading
import time

from PySide6.QtCore import Qt

from core.bank import process
from core.bank.store import Bank
from tests.testsignals import speech_like

WAIT_MS = 20000


def crashed_take(bank_root):
    speaker = Bank(bank_root).create_speaker("Ada", ["en"])
    prompt = speaker.prompts()[0]
    writer = speaker.begin_take(prompt, speaker.start_session())
    writer.append(speech_like(2.0))
    take = writer.finish()                       # no quality, no cleaned copy: the app died here
    when = time.time() - 60
    os.utime(take.raw_path, (when, when))        # recorded during the last run
    return speaker, take


def test_unchecked_takes_are_checked_after_start_in_the_background(make_window, qtbot, private_bank, monkeypatch):
    speaker, take = crashed_take(private_bank)
    gate = threading.Event()
    real = process.process_take
    monkeypatch.setattr(process, "process_take", lambda sp, t, *a, **k: (gate.wait(10), real(sp, t, *a, **k))[1])

    window = make_window(speaker=False)
    qtbot.keyClick(window.nav, Qt.Key_4, Qt.ControlModifier)
    page = window.review_page
    assert window.current_page is page and window.context.speaker.id == speaker.id
    assert "not checked: 1" in page.summary.text()          # the window is up while the check waits
    gate.set()
    qtbot.waitUntil(lambda: "not checked" not in page.summary.text(), timeout=WAIT_MS)
    [shown] = page.model.takes
    assert shown.id == take.id and shown.grade in ("green", "amber") and shown.cleaned
    assert shown.clean_path.exists()


def test_a_take_that_cannot_be_checked_is_kept_and_said(make_window, qtbot, private_bank, monkeypatch):
    speaker, take = crashed_take(private_bank)

    def broken(sp, t, *a, **k):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(process, "process_take", broken)
    window = make_window(speaker=False)
    qtbot.keyClick(window.nav, Qt.Key_4, Qt.ControlModifier)
    page = window.review_page
    qtbot.waitUntil(lambda: page.banner.kind == "warning", timeout=WAIT_MS)
    assert page.banner.text().endswith("1 take(s) could not be checked (Input/output error). They are kept "
                                       "as recorded and are checked again the next time the app starts.")
    assert take.raw_path.exists() and "not checked: 1" in page.summary.text()
