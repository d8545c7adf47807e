"""The Speaker page's own messages: each shows its grade in words, and "Record again" takes the
person to the Record page at that message, by pointer or keyboard."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from core.bank.process import process_take
from desktop.app import RECORD
from tests.testsignals import speech_like


def record(speaker, message, samples):
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(samples.astype("float32"))
    return process_take(speaker, writer.finish())


def messages_window(make_window):
    window = make_window(languages=("en",))
    speaker = window.context.speaker
    silent = speaker.add_message("I love you")
    good = speaker.add_message("Thank you")
    later = speaker.add_message("Goodbye")
    assert record(speaker, silent, np.zeros(96000)).grade == "red"
    assert record(speaker, good, speech_like(1.5, 48000)).grade in ("green", "amber")
    window.context.prompts_changed()
    window.speaker_page.page_shown()
    return window, (silent, good, later)


def test_each_message_shows_its_grade_in_words(make_window, qtbot):
    window, (silent, good, later) = messages_window(make_window)
    page = window.speaker_page
    texts = [page.message_list.item(i).text() for i in range(page.message_list.count())]
    assert texts[0] == "✗ Redo (No speech heard)   —   I love you"
    assert texts[1].endswith("   —   Thank you") and texts[1][0] in "✓!"
    assert texts[2] == "○ Not recorded yet   —   Goodbye"
    page.message_list.setCurrentRow(0)
    assert page.message_state.text() == ("Cannot be played as your own voice (No speech heard: check the "
                                         "microphone is on). Press “Record again”.")
    assert page.record_again_button.text().endswith("Record again")
    page.message_list.setCurrentRow(1)
    assert page.message_state.text() == "Plays on the Speak page when you type these words."
    page.message_list.setCurrentRow(2)
    assert page.message_state.text() == "Not recorded yet. Press “Record it” to record it now."
    assert page.record_again_button.text().endswith("Record it")


def test_record_again_by_pointer_goes_to_the_message(make_window, qtbot):
    window, (silent, _good, _later) = messages_window(make_window)
    page = window.speaker_page
    qtbot.mouseClick(page.record_again_button, Qt.LeftButton)        # nothing chosen: says what to do
    assert page.banner.kind == "warning" and "Select a message" in page.banner.text()
    assert window.stack.currentIndex() != RECORD
    rect = page.message_list.visualItemRect(page.message_list.item(0))
    qtbot.mouseClick(page.message_list.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseClick(page.record_again_button, Qt.LeftButton)
    assert window.stack.currentIndex() == RECORD
    assert window.record_page.prompt().id == silent.id


def test_record_again_by_keyboard_and_the_grade_follows_a_new_take(make_window, qtbot):
    window, (silent, _good, later) = messages_window(make_window)
    page = window.speaker_page
    page.message_list.setFocus()
    for _ in range(3):                                            # the first arrow chooses the first
        qtbot.keyClick(page.message_list, Qt.Key_Down)
    assert page.message_list.currentRow() == 2
    page.record_again_button.setFocus()
    qtbot.keyClick(page.record_again_button, Qt.Key_Space)
    assert window.stack.currentIndex() == RECORD and window.record_page.prompt().id == later.id
    record(window.context.speaker, silent, speech_like(1.5, 48000))      # recorded again, and good
    qtbot.keyClick(window.nav, Qt.Key_1, Qt.ControlModifier)
    assert page.message_list.item(0).text()[0] in "✓!"
    assert page.message_list.currentRow() == 2                   # the chosen message stays chosen


def test_a_message_just_added_is_chosen_and_record_it_goes_to_it(make_window, qtbot):
    """Seen in the walk-through: after adding a message the person pressed "Record it" and
    nothing was chosen. The new message is chosen, and the button records it."""
    window = make_window()
    window.show_page(0)
    page = window.speaker_page
    for text in ("I love you, Tom.", "Please call my daughter."):
        page.message_edit.setText(text)
        qtbot.keyClick(page.message_edit, Qt.Key_Return)
    assert page.message_list.currentRow() == 1 and "Please call my daughter." in page.message_list.currentItem().text()
    assert page.record_again_button.text().endswith("Record it")
    assert "“Please call my daughter.”" in page.banner.text() and "Record it" in page.banner.text()
    qtbot.mouseClick(page.record_again_button, Qt.LeftButton)
    assert window.stack.currentIndex() == RECORD
    assert window.record_page.prompt().text == "Please call my daughter."
