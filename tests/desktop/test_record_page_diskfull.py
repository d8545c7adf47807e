"""The Record page when the disk fills up: the take stops, what was written is kept as an
interrupted take, and the page says so in words, with the space needed and what to do; it warns
early when space runs low and does not start a take that cannot be saved."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

import core.diskspace as ds
from tests.desktop.conftest import OUTPUT
from tests.desktop.test_record_page import open_record_page, wait_checked
from tests.diskfull import full_disk
from tests.testsignals import speech_like


def test_disk_fills_during_a_take(make_window, qtbot, monkeypatch):
    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("en",))
    page = open_record_page(window, qtbot)
    window.resize(1024, 600)                    # a small laptop or tablet screen
    speaker = window.context.speaker
    prompt = page.prompt()
    qtbot.keyClick(page, Qt.Key_Space)
    assert page.recording
    qtbot.waitUntil(lambda: page.context.recorder.status().captured_s >= 0.6, timeout=5000)
    room = full_disk(monkeypatch, room=0)
    qtbot.waitUntil(lambda: not page.recording, timeout=5000)      # stopped by itself

    takes = speaker.takes(prompt.id)
    assert len(takes) == 1 and takes[0].interrupted and takes[0].duration_s >= 0.6
    text = page.banner.text()
    assert page.banner.kind == "error" and page.banner.isVisible()
    qtbot.waitUntil(lambda: page.banner.height() >= page.banner.heightForWidth(page.banner.width()))
    assert window.size().width() == 1024 and window.size().height() == 600   # every line shows
    assert page.banner.geometry().bottom() < page.height()
    assert "The disk is full, so recording stopped." in text
    assert f"The first {takes[0].duration_s:.1f} seconds of this take are kept" in text
    assert "sentences still to go need about" in text and "MB of free disk space" in text
    assert "Free some space" in text and "Then press Space to go on." in text
    recorder = page.context.recorder
    assert recorder.status().write_error and recorder._queue.qsize() <= 2    # nothing piles up
    refused = room.refused

    wait_checked(page, qtbot)                  # graded like any other take, the message stays
    take = speaker.current_take(prompt.id)
    assert take.grade in ("green", "amber", "red") and not take.cleaned
    assert "cut off" in page.grade_label.text()
    assert page.banner.kind == "error" and "recording stopped" in page.banner.text()
    assert room.refused >= refused
    OUTPUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUTPUT / "record_disk_full.png"))

    qtbot.keyClick(page, Qt.Key_Space)         # still full: nothing starts, and it says why
    assert not page.recording and page.banner.kind == "error"
    assert "The disk is full, so recording cannot start" in page.banner.text()
    assert len(speaker.takes(prompt.id)) == 1

    monkeypatch.undo()                         # space was freed: recording goes on
    qtbot.keyClick(page, Qt.Key_Space)
    assert page.recording and not page.banner.isVisible()
    qtbot.keyClick(page, Qt.Key_Escape)
    wait_checked(page, qtbot)


def test_low_space_is_said_when_the_session_starts(make_window, qtbot, monkeypatch):
    monkeypatch.setattr(ds, "free_bytes", lambda path: 40 * ds.MB)
    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("en",))
    page = open_record_page(window, qtbot)
    assert page.banner.kind == "warning" and "Disk space is running low: 40 MB free" in page.banner.text()
    assert "You can go on recording for now" in page.banner.text()
    qtbot.keyClick(page, Qt.Key_Space)        # a warning, not a stop
    assert page.recording
    qtbot.keyClick(page, Qt.Key_Escape)


@pytest.mark.parametrize("free", [0, 3 * ds.MB])
def test_no_take_starts_when_it_could_not_be_saved(make_window, qtbot, monkeypatch, free):
    monkeypatch.setattr(ds, "free_bytes", lambda path: free)
    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("en",))
    page = open_record_page(window, qtbot)
    qtbot.keyClick(page, Qt.Key_Space)
    assert not page.recording and page.banner.kind == "error"
    assert "recording cannot start" in page.banner.text() and "MB of free disk space" in page.banner.text()
    assert not list((window.context.speaker.folder / "takes").rglob("*.wav*"))
