"""The Speak page for a tired person: Enter alone may speak, the status line never contradicts
the message above it, controls that cannot act say why, every Alt key is taken once, and the
lists keep three lines at a large text size (stub worker, fake sound card: test_speak_page.py)."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from core.speak.page_state import LOADING, NOT_LOADED, NOT_SAID, NO_VOICE
from tests.desktop.conftest import OUTPUT
from tests.desktop import test_speak_page
from tests.desktop.test_speak_page import WAIT_MS, focused, sent, type_and_speak

speak_window = test_speak_page.speak_window     # the fixture, shared with the Speak page's other tests
from tests.testsignals import speech_like

SHOTS = Path("/tmp/shots-14-speak")
ENGINE_MISSING = ("The chinese-hubert-base model is missing (looked in /models/chinese-hubert-base). "
                  "Install the base models from the app's build page or with `voicebank models`.")


def shot(window, name: str) -> None:
    for folder in (OUTPUT, SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(folder / name))


def record_message(speaker, text: str):
    message = speaker.add_message(text)
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(speech_like(1.5, 48000).astype("float32"))
    return writer.finish()


def test_enter_alone_speaks_when_chosen_and_is_remembered(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("ok")
    qtbot.keyClicks(page.text_edit, "One")
    qtbot.keyClick(page.text_edit, Qt.Key_Return)                 # off: Enter is a new line
    qtbot.keyClicks(page.text_edit, "Two")
    assert page.text_edit.toPlainText() == "One\nTwo" and sent(tmp_path) == []
    assert page.speak_button.text() == "Speak (Ctrl+Enter)" and "Ctrl+Enter: speak" in page.help_label.text()

    qtbot.keyClick(page.text_edit, Qt.Key_K, Qt.AltModifier)      # Speak with Enter alone
    qtbot.waitUntil(lambda: page.settings.enter_check.isChecked(), timeout=WAIT_MS)
    page.text_edit.setFocus()
    assert page.speak_button.text() == "Speak (Enter)" and "Enter: speak" in page.help_label.text()
    assert "press Enter to say it" in page.text_edit.placeholderText()
    assert "Shift+Enter starts a new line" in page.text_edit.accessibleDescription()
    assert page.status_label.text() == "Ready. Type, then press Enter."
    qtbot.keyClick(page.text_edit, Qt.Key_Return, Qt.ShiftModifier)   # Shift+Enter: a plain new line
    qtbot.keyClicks(page.text_edit, "Three.")
    assert page.text_edit.toPlainText() == "One\nTwo\nThree." and sent(tmp_path) == []
    qtbot.keyClick(page.text_edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: page.job is None and len(sent(tmp_path)) == 1, timeout=WAIT_MS)
    assert sent(tmp_path)[0]["params"]["text"] == "One\nTwo\nThree."
    assert page.status_label.text() == "Said: “One\nTwo\nThree.”"
    qtbot.keyClick(page.text_edit, Qt.Key_Return, Qt.ControlModifier)     # Ctrl+Enter still speaks
    qtbot.waitUntil(lambda: page.job is None and len(sent(tmp_path)) == 2, timeout=WAIT_MS)

    speaker = window.context.speaker
    saved = json.loads((Path(speaker.folder) / "speak" / "settings.json").read_text(encoding="utf-8"))
    assert saved["enter_speaks"] is True
    other = window.context.bank.create_speaker("Ben", ["en"])
    window.context.set_speaker(other)                       # someone else: their own choice (off)
    assert not page.settings.enter_check.isChecked() and page.speak_button.text() == "Speak (Ctrl+Enter)"
    window.context.set_speaker(speaker)                     # ...and theirs comes back with them
    assert page.settings.enter_check.isChecked() and page.speak_button.text() == "Speak (Enter)"


def test_a_voice_that_cannot_load_the_status_line_agrees(speak_window, qtbot, tmp_path):
    window, page, _ = speak_window("prepare_fail", STUB_PREPARE_MESSAGE=ENGINE_MISSING)
    qtbot.waitUntil(lambda: "could not be loaded" in page.banner.text(), timeout=WAIT_MS)
    assert page.status_label.text() == NOT_LOADED                  # not "Getting your voice ready…"
    text = page.banner.text()                                       # the fix is a step in the app
    assert "Install the base models on the Build page (Ctrl+5)." in text and "`" not in text
    shot(window, "speak_voice_not_loaded.png")
    page.page_shown()                                               # shown again: tried again
    assert page.preloader.job is not None and page.status_label.text() == LOADING
    assert page.banner.text() == ""                                 # the old failure is no longer news
    qtbot.waitUntil(lambda: "could not be loaded" in page.banner.text(), timeout=WAIT_MS)
    assert page.status_label.text() == NOT_LOADED
    page.speed_spin.setValue(1.2)                                   # a setting: not tried again, same words
    assert page.status_label.text() == NOT_LOADED and len(sent(tmp_path, kind="prepare_voice")) == 2


def test_after_a_failure_a_newer_message_is_not_contradicted(speak_window, qtbot, tmp_path, monkeypatch):
    window, page, player = speak_window("fail")
    record_message(window.context.speaker, "Thank you.")
    type_and_speak(qtbot, page, "thank you")                        # their own recording: played
    assert page.status_label.text().startswith("● Your own recording")
    type_and_speak(qtbot, page, "Hello.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert page.banner.kind == "error" and "It could not be said" in page.banner.text()
    assert page.status_label.text() == NOT_SAID
    monkeypatch.setattr(page, "choose_export_path", lambda suggested: str(tmp_path / "thanks.wav"))
    qtbot.keyClick(page.text_edit, Qt.Key_S, Qt.ControlModifier)    # saves what was said last
    assert page.banner.kind == "ok" and "Saved “thank you” as" in page.banner.text()   # what was typed
    assert page.status_label.text() == "Ready. Type, then press Ctrl+Enter."
    shot(window, "speak_saved_after_failure.png")
    type_and_speak(qtbot, page, "Hello.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.AltModifier)        # Add text as phrase
    qtbot.waitUntil(lambda: bool(page.phrases_box.phrases), timeout=WAIT_MS)
    assert "as phrase 1" in page.banner.text() and page.status_label.text().startswith("Ready.")


def test_without_a_voice_what_cannot_act_is_disabled_and_says_why(speak_window, qtbot):
    window, page, _ = speak_window("ok", voice=False)
    assert page.status_label.text() == NO_VOICE
    why = {w: w.toolTip() for w in (page.speak_button, page.stop_button, page.voice_combo,
                                    page.voice_actions.export_button, page.voice_actions.delete_button,
                                    page.history_box.replay_button, page.history_box.export_button,
                                    page.phrases_box.say_button, page.phrases_box.up_button)}
    for widget, tip in why.items():
        assert not widget.isEnabled() and tip and widget.accessibleDescription() == tip, widget.accessibleName()
    assert "Build page (Ctrl+5)" in why[page.speak_button] and "Speaker page (Ctrl+1)" in why[page.speak_button]
    assert "Build page (Ctrl+5)" in why[page.voice_actions.export_button]
    assert why[page.stop_button] == "Nothing is being said now."
    assert why[page.history_box.replay_button] == "Nothing has been said yet."
    assert "no saved phrases yet" in why[page.phrases_box.say_button]
    assert page.voice_actions.import_button.isEnabled() and page.dictionary_button.isEnabled()
    shot(window, "speak_no_voice.png")

    record_message(window.context.speaker, "Good morning.")          # their own message can be said
    page.refresh()
    assert page.speak_button.isEnabled() and page.speak_button.toolTip() == ""
    window.context.set_speaker(None)
    assert not page.dictionary_button.isEnabled() and "Ctrl+1" in page.dictionary_button.toolTip()
    assert not page.voice_actions.import_button.isEnabled()


def test_with_a_voice_the_buttons_act_and_stop_only_while_speaking(speak_window, qtbot):
    window, page, player = speak_window("slow", seconds=60.0)
    for widget in (page.speak_button, page.voice_combo, page.voice_actions.export_button,
                   page.voice_actions.delete_button):
        assert widget.isEnabled() and not widget.toolTip().startswith("There is no voice")
    assert not page.stop_button.isEnabled()
    type_and_speak(qtbot, page, "One. Two.")
    qtbot.waitUntil(lambda: page.stop_button.isEnabled(), timeout=WAIT_MS)
    qtbot.keyClick(page.text_edit, Qt.Key_Escape)
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert not page.stop_button.isEnabled() and page.status_label.text() == "Stopped."


def mnemonics(window: QWidget) -> Counter:
    found = Counter()
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel) and widget.buddy() is not None:
            text = widget.text()
        elif isinstance(widget, QAbstractButton):
            text = widget.text()
        elif isinstance(widget, QGroupBox):
            text = widget.title()
        else:
            continue
        for letter in re.findall(r"(?<!&)&([^&\s])", text):
            found[letter.lower()] += 1
    return found


def test_every_alt_key_is_taken_once(speak_window, qtbot):
    window, page, _ = speak_window("ok")
    found = mnemonics(window)
    assert len(found) >= 15 and not [k for k, n in found.items() if n > 1], found
    assert page.voice_actions.export_button.text() == "Ex&port voice…"
    qtbot.keyClick(page.text_edit, Qt.Key_E, Qt.AltModifier)        # Alt+E: the speed, and only that
    assert focused() is page.speed_spin or focused() is page.speed_spin.lineEdit()


def test_the_lists_keep_three_lines_at_30_points_on_a_small_screen(speak_window, qtbot):
    window, page, _ = speak_window("ok")
    for number in (1, 2, 3, 4):
        page.phrases_box.add(f"Phrase number {number}")
        page.history.add(f"Said {number}", page.phrases_box.book.folder / "x.wav", "v") \
            if hasattr(page.phrases_box.book, "folder") else None
    page.size_spin.setValue(30)
    window.resize(1024, 600)
    qtbot.wait(50)
    lines = QFontMetrics(QFont(page.phrases_box.list.font())).lineSpacing()
    assert page.phrases_box.list.font().pointSize() == 30
    for view in (page.phrases_box.list, page.history_box.list):
        assert view.minimumHeight() >= 3 * lines
    view = page.phrases_box.list
    view.scrollToTop()
    assert view.visualItemRect(view.item(2)).bottom() <= view.viewport().height()   # three in full
    shot(window, "speak_30pt_1024x600.png")
    page.size_spin.setValue(12)
    assert page.phrases_box.list.minimumHeight() < 3 * lines                          # and back down
