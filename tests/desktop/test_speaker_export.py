"""The Speaker page's "Export my messages for AAC…": the usable messages go into a new folder
inside the one chosen, with a pointer alone or from the keyboard; what was left out, a closed
chooser, a full disk and a speaker with nothing to export are each said in words."""
from __future__ import annotations

import csv

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.desktop.test_speaker_messages import messages_window


def exported(folder):
    return sorted(p.name for p in folder.iterdir())


def test_export_by_pointer_names_what_was_left_out(make_window, qtbot, tmp_path):
    window, (silent, good, later) = messages_window(make_window)
    page = window.speaker_page
    page.ask_export_folder = lambda: str(tmp_path)
    assert page.export_button.isEnabled()
    qtbot.mouseClick(page.export_button, Qt.LeftButton)
    folder = tmp_path / "Ada - messages"
    assert exported(folder) == ["Thank you.wav", "index.csv"]
    with open(folder / "index.csv", encoding="utf-8-sig", newline="") as fh:
        assert [row[:2] for row in csv.reader(fh)] == [["text", "file"], ["Thank you", "Thank you.wav"]]
    text = page.banner.text()
    assert page.banner.kind == "warning" and "Saved 1 of your messages to" in text and str(folder) in text
    assert "“I love you” (record again)" in text and "“Goodbye” (record it)" in text
    qtbot.mouseClick(page.export_button, Qt.LeftButton)          # again: a new folder, nothing overwritten
    assert exported(tmp_path / "Ada - messages (2)") == ["Thank you.wav", "index.csv"]


def test_export_from_the_keyboard(make_window, qtbot, tmp_path):
    window, _messages = messages_window(make_window)
    window.show_page(0)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)     # Alt keys go to the active window
    page = window.speaker_page
    chosen = []
    page.ask_export_folder = lambda: chosen.append(1) or str(tmp_path)
    page.export_button.setFocus()
    qtbot.keyClick(page.export_button, Qt.Key_Space)
    assert exported(tmp_path / "Ada - messages") == ["Thank you.wav", "index.csv"]
    page.message_list.setFocus()
    qtbot.keyClick(page.message_list, Qt.Key_E, Qt.AltModifier)     # its Alt key, from anywhere on the page
    qtbot.waitUntil(lambda: len(chosen) == 2)                        # a mnemonic clicks after a moment
    assert (tmp_path / "Ada - messages (2)").is_dir()


def test_closing_the_chooser_does_nothing(make_window, qtbot, tmp_path):
    window, _messages = messages_window(make_window)
    page = window.speaker_page
    page.ask_export_folder = lambda: ""
    page.banner.show_message("before", "info")
    qtbot.mouseClick(page.export_button, Qt.LeftButton)
    assert page.banner.text().endswith("before") and list(tmp_path.glob("*messages*")) == []


def test_a_full_disk_is_said_in_words(make_window, qtbot, tmp_path, monkeypatch):
    window, _messages = messages_window(make_window)
    page = window.speaker_page
    page.ask_export_folder = lambda: str(tmp_path / "stick")
    (tmp_path / "stick").mkdir()
    monkeypatch.setattr("core.diskspace.free_bytes", lambda path: 1000)
    qtbot.mouseClick(page.export_button, Qt.LeftButton)
    assert page.banner.kind == "error"
    assert "The disk is full, so your messages could not be exported" in page.banner.text()
    assert list((tmp_path / "stick").iterdir()) == []


def test_nothing_to_export_says_why(make_window, qtbot):
    window = make_window(languages=("en",))
    page = window.speaker_page
    page.page_shown()
    assert not page.export_button.isEnabled()
    assert "Record at least one of your messages first" in page.export_button.toolTip()
    assert "Record at least one" in page.export_button.accessibleDescription()
