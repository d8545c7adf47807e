"""“How it will be read” on the Speak page (issue 16): the typed text with its reading, a wrong
reading fixed in place by pointer alone or by keyboard alone, the fix in the pronunciation
dictionary and in what the worker is sent, and a saved phrase keeping its reading."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from core.speak.dictionary import load_dictionary, save_dictionary
from core.text.frontend import phonemize
from core.text.userdict import UserDict
from tests.desktop.conftest import OUTPUT
from tests.desktop import test_speak_page
from tests.desktop.test_speak_page import WAIT_MS, focused, sent, type_chinese

speak_window = test_speak_page.speak_window      # the Speak page on a stub worker (a fixture)


def word(page, text: str):
    token = next(t for t in page.reading_view.tokens if t.text == text)
    return token, page.reading_view.word_buttons[token.start]


def said_userdict(params: dict) -> UserDict:
    value = params.get("userdict")
    return UserDict(value) if isinstance(value, dict) else UserDict.load(Path(value))


def test_fix_an_english_reading_by_pointer_and_it_is_said_that_way(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("ok")
    page.voice_combo.setCurrentIndex(0)         # the voice to say it with
    qtbot.keyClicks(page.text_edit, "I read it.")
    qtbot.mouseClick(page.reading_button, Qt.LeftButton)
    assert page.reading_view.isVisible() and page.reading_button.isChecked()
    token, read = word(page, "read")
    assert token.reading == "reed" and read.text() == "read\nreed"
    assert "read: read reed" in read.accessibleName()
    qtbot.mouseClick(read, Qt.LeftButton)
    assert page.reading_view.panel.isVisible()
    (red,) = page.reading_view.choice_buttons
    assert red.text() == "red" and red.height() >= 48
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.reading_view.grab().save(str(OUTPUT / "speak_reading_choices.png"))
    qtbot.mouseClick(red, Qt.LeftButton)
    folder = page.context.speaker.folder
    assert load_dictionary(folder).entries() == {"read": "R EH1 D"}
    assert page.banner.kind == "ok" and "“read” is now read red" in page.banner.text()
    assert "Pronunciations (Ctrl+D)" in page.banner.text()
    assert not page.reading_view.panel.isVisible() and word(page, "read")[1].text() == "read\nred"

    qtbot.keyClick(page.text_edit, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: page.job is None and bool(sent(tmp_path)), timeout=WAIT_MS)
    params = sent(tmp_path)[0]["params"]
    assert "R EH1 D" in " ".join(phonemize(params["text"], userdict=said_userdict(params)).phones)


def test_fix_a_chinese_reading_and_type_a_name_by_keyboard(speak_window, qtbot):
    window, page, player = speak_window("ok")
    type_chinese(page.text_edit, "我还书了")
    qtbot.keyClick(page.text_edit, Qt.Key_R, Qt.ControlModifier)
    assert page.reading_view.isVisible()
    token, button = word(page, "还书")
    assert token.reading == "huán shū" and focused() is button     # the first word with a choice
    qtbot.keyClick(button, Qt.Key_Space)
    assert focused() is page.reading_view.choice_buttons[0]
    assert page.reading_view.choice_buttons[0].text() == "还(hái)书(shū)"
    qtbot.keyClick(focused(), Qt.Key_Space)
    assert load_dictionary(page.context.speaker.folder).entries() == {"还书": "hai2 shu1"}
    token, button = word(page, "还书")
    assert token.reading == "hái shū" and token.source == "user" and focused() is button

    qtbot.keyClick(button, Qt.Key_Space)            # Esc leaves it as it is
    qtbot.keyClick(focused(), Qt.Key_Escape)
    assert not page.reading_view.panel.isVisible() and focused() is word(page, "还书")[1]

    page.text_edit.setFocus()
    qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(page.text_edit, "Tomas is here")
    qtbot.keyClick(page.text_edit, Qt.Key_R, Qt.ControlModifier)      # hides it
    assert not page.reading_view.isVisible() and focused() is page.text_edit
    qtbot.keyClick(page.text_edit, Qt.Key_R, Qt.ControlModifier)
    _, tomas = word(page, "Tomas")
    assert focused() is tomas
    qtbot.keyClick(tomas, Qt.Key_Space)
    assert focused() is page.reading_view.typed_edit     # no other reading known: type it
    qtbot.keyClicks(focused(), "toh-MAHS")
    qtbot.keyClick(focused(), Qt.Key_Return)
    assert load_dictionary(page.context.speaker.folder).entries()["Tomas"] == "T OW0 M AA1 S"
    assert word(page, "Tomas")[0].reading == "toh-MAHS"


def test_the_reading_follows_the_typing(speak_window, qtbot):
    window, page, player = speak_window("ok")
    qtbot.keyClick(page.text_edit, Qt.Key_R, Qt.ControlModifier)
    page.text_edit.setFocus()
    qtbot.keyClicks(page.text_edit, "We live here")
    qtbot.waitUntil(lambda: any(t.text == "live" for t in page.reading_view.tokens), timeout=WAIT_MS)
    assert word(page, "live")[0].reading == "liv"
    qtbot.keyClicks(page.text_edit, ". The live show.")
    qtbot.waitUntil(lambda: [t.reading for t in page.reading_view.tokens if t.text == "live"] == ["liv", "lyve"],
                    timeout=WAIT_MS)


def test_a_saved_phrase_keeps_its_fixed_reading(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("ok")
    folder = page.context.speaker.folder
    page.voice_combo.setCurrentIndex(0)
    qtbot.keyClicks(page.text_edit, "I read it")
    qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.AltModifier)             # saved before the fix
    qtbot.waitUntil(lambda: bool(page.phrases_box.phrases), timeout=WAIT_MS)
    qtbot.keyClick(page.text_edit, Qt.Key_R, Qt.ControlModifier)
    qtbot.keyClick(word(page, "read")[1], Qt.Key_Space)
    qtbot.keyClick(focused(), Qt.Key_Space)
    assert page.phrase_book.find("I read it").readings == {"read": "R EH1 D"}
    assert "The saved phrase keeps this reading too" in page.banner.text()
    save_dictionary(folder, UserDict({"read": "R IY1 D"}))                # changed for another sentence
    qtbot.keyClick(page.text_edit, Qt.Key_1, Qt.AltModifier)
    qtbot.waitUntil(lambda: page.job is None and bool(sent(tmp_path)), timeout=WAIT_MS)
    params = sent(tmp_path)[0]["params"]
    assert params["userdict"] == {"read": "R EH1 D"}
    assert "R EH1 D" in " ".join(phonemize(params["text"], userdict=said_userdict(params)).phones)

    page.text_edit.setFocus()                   # a new phrase keeps the readings it is said with
    qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(page.text_edit, "Read it to me")
    qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.AltModifier)
    qtbot.waitUntil(lambda: len(page.phrases_box.phrases) == 2, timeout=WAIT_MS)
    assert page.phrase_book.find("Read it to me").readings == {"Read": "R IY1 D"}
