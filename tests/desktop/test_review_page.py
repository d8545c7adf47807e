"""The Review page by pointer alone (click a row, Play, Record again; the switches) and by
keyboard alone (sort, filter, play, record again); numbers sort as numbers, worst first; what to
fix is said in words and the measurements wait behind "Details"."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.app import RECORD
from desktop.review_page import NOTHING_TO_REDO
from desktop.review_widgets import FIX_COLUMN, GRADE_COLUMN, SNR_COLUMN, TEXT_COLUMN
from tests.testsignals import speech_like

QUIET = {"code": "too_quiet", "severity": "red",
         "message": "The recording is far too quiet (loudest moment -40 dBFS). Move closer to the microphone "
                    "or turn up its gain, then press R to record again."}
NOISE = {"code": "some_noise", "severity": "amber", "message": "Some background noise: usable."}


def add_take(speaker, prompt, session, snr_db, grade, problems=()):
    writer = speaker.begin_take(prompt, session)
    writer.append(speech_like(0.6))
    take = writer.finish()
    take.quality = {"grade": grade, "problems": list(problems), "snr_db": snr_db, "clipped_fraction": 0.0,
                    "peak_dbfs": -6.0, "loudness_lufs": -23.0, "bandwidth_hz": 16000.0,
                    "leading_silence_s": 0.4, "trailing_silence_s": 0.4, "speaking_rate": 4.2}
    take.save()
    return take


def review_window(make_window, qtbot, grades=(("amber", 25.0, [NOISE]), ("green", 100.0, []),
                                              ("red", 5.0, [QUIET]))):
    window = make_window()
    speaker = window.context.speaker
    prompts = speaker.prompts()
    session = speaker.start_session()
    # string order would be "100" < "25" < "5": the sort must be numeric
    for prompt, (grade, snr, problems) in zip(prompts, grades):
        add_take(speaker, prompt, session, snr, grade, problems)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.nav, Qt.Key_4, Qt.ControlModifier)
    assert window.current_page is window.review_page
    return window, prompts


def column(page, number, role=Qt.UserRole):
    model = page.model
    return [model.index(r, number).data(role) for r in range(model.rowCount())]


def click_row(qtbot, page, row):
    rect = page.table.visualRect(page.model.index(row, TEXT_COLUMN))
    qtbot.mouseClick(page.table.viewport(), Qt.LeftButton, pos=rect.center())


def test_opens_worst_first_with_what_to_fix_in_words(make_window, qtbot):
    window, prompts = review_window(make_window, qtbot)
    page = window.review_page
    assert page.model.rowCount() == 3
    assert column(page, GRADE_COLUMN, Qt.DisplayRole) == ["✗ Redo", "! Fair", "✓ Good"]
    assert column(page, FIX_COLUMN, Qt.DisplayRole) == ["Too quiet: move closer",
                                                        "Some background noise: move closer if you can",
                                                        "Nothing to fix"]
    assert page.model.index(0, FIX_COLUMN).data(Qt.ToolTipRole) == QUIET["message"]
    # the chosen take (the worst) is described in whole sentences beside the big buttons
    assert page.chosen_label.text() == f"“{prompts[2].text}”  —  ✗ Redo. {QUIET['message']}"
    assert "✓ Good: 1" in page.summary.text() and "✗ Redo: 1" in page.summary.text()
    assert "! Fair: 1" in page.summary.text()


def test_details_switch_shows_and_hides_the_measurements(make_window, qtbot):
    window, _ = review_window(make_window, qtbot)
    page = window.review_page
    assert page.visible_titles() == ["Sentence", "Grade", "What to fix"]
    assert not page.details.isChecked()
    qtbot.mouseClick(page.details, Qt.LeftButton)
    assert page.visible_titles() == ["Sentence", "Grade", "What to fix", "No.", "SNR dB", "Clip %", "Peak dBFS",
                                     "LUFS", "Band kHz", "Lead s", "Trail s", "Syll/s", "Length s"]
    assert page.model.headerData(SNR_COLUMN, Qt.Horizontal, Qt.ToolTipRole).startswith("How far the voice")
    qtbot.keyClick(page.table, Qt.Key_D, Qt.AltModifier)        # and from the keyboard
    qtbot.waitUntil(lambda: not page.details.isChecked())       # a button's shortcut clicks it visibly
    assert page.visible_titles() == ["Sentence", "Grade", "What to fix"]


def test_pointer_alone_click_a_row_play_and_record_again(make_window, qtbot, played):
    window, prompts = review_window(make_window, qtbot)
    page = window.review_page
    speaker = window.context.speaker
    click_row(qtbot, page, 2)                               # the good take
    assert page.selected_take().prompt_id == prompts[1].id
    assert page.chosen_label.text().startswith(f"“{prompts[1].text}”  —  ✓ Good.")
    qtbot.mouseClick(page.play_button, Qt.LeftButton)
    assert played == [speaker.current_take(prompts[1].id).raw_path]
    worst = page.table.visualRect(page.model.index(0, TEXT_COLUMN)).center()
    qtbot.mouseClick(page.table.viewport(), Qt.LeftButton, pos=worst)         # a double click:
    qtbot.mouseDClick(page.table.viewport(), Qt.LeftButton, pos=worst)        # press, then press again
    assert played[-1] == speaker.current_take(prompts[2].id).raw_path     # a double click plays too
    qtbot.mouseClick(page.record_button, Qt.LeftButton)
    assert window.stack.currentIndex() == RECORD
    assert window.record_page.prompt().id == prompts[2].id


def test_pointer_alone_filter_and_sort(make_window, qtbot):
    window, prompts = review_window(make_window, qtbot)
    page = window.review_page
    qtbot.mouseClick(page.redo_only, Qt.LeftButton)
    assert [t.prompt_id for t in page.model.takes] == [prompts[2].id]
    qtbot.mouseClick(page.redo_only, Qt.LeftButton)
    assert page.model.rowCount() == 3
    qtbot.mouseClick(page.details, Qt.LeftButton)
    header = page.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=_section_centre(header, SNR_COLUMN))
    assert column(page, SNR_COLUMN) == [5.0, 25.0, 100.0]
    assert page.sort_combo.currentText() == "Most background noise first"    # the box follows the click
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=_section_centre(header, SNR_COLUMN))
    assert column(page, SNR_COLUMN) == [100.0, 25.0, 5.0]
    assert page.sort_combo.currentIndex() == -1         # no words for that order: the box says so


def _section_centre(header, section):
    from PySide6.QtCore import QPoint
    return QPoint(header.sectionViewportPosition(section) + header.sectionSize(section) // 2,
                  header.height() // 2)


def test_keyboard_alone_sort_filter_play_and_record_again(make_window, qtbot, played):
    window, prompts = review_window(make_window, qtbot)
    page = window.review_page
    speaker = window.context.speaker
    qtbot.keyClick(page.table, Qt.Key_B, Qt.AltModifier)        # Sort by
    assert QApplication.focusWidget() is page.sort_combo and page.sort_combo.currentText() == "Worst first"
    qtbot.keyClick(page.sort_combo, Qt.Key_Down)                 # Order you read them
    assert [t.prompt_id for t in page.model.takes] == [p.id for p in prompts[:3]]
    qtbot.keyClick(page.sort_combo, Qt.Key_Down)                 # Most background noise first
    assert page.sort_combo.currentText() == "Most background noise first"
    assert column(page, SNR_COLUMN) == [5.0, 25.0, 100.0]       # numbers, not strings
    qtbot.keyClick(page.sort_combo, Qt.Key_End)                  # Longest first, then back up
    qtbot.keyClick(page.sort_combo, Qt.Key_Home)
    assert page.sort_combo.currentText() == "Worst first"
    qtbot.keyClick(page.sort_combo, Qt.Key_T, Qt.AltModifier)    # only takes to redo
    qtbot.waitUntil(page.redo_only.isChecked)
    assert [t.prompt_id for t in page.model.takes] == [prompts[2].id]
    qtbot.keyClick(page.redo_only, Qt.Key_P)                     # P plays the chosen take from anywhere
    assert played == [speaker.current_take(prompts[2].id).raw_path]
    qtbot.keyClick(page.redo_only, Qt.Key_T, Qt.AltModifier)
    qtbot.waitUntil(lambda: not page.redo_only.isChecked())
    assert page.model.rowCount() == 3 and page.selected_take().prompt_id == prompts[2].id   # still chosen
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key_Down)
    qtbot.keyClick(page.table, Qt.Key_Return)
    assert played[-1] == speaker.current_take(prompts[0].id).raw_path
    qtbot.keyClick(page.table, Qt.Key_R)
    assert window.stack.currentIndex() == RECORD
    assert window.record_page.prompt().id == prompts[0].id


def test_enter_on_a_button_presses_it_and_nothing_to_redo_is_said(make_window, qtbot, played):
    window, prompts = review_window(make_window, qtbot, grades=(("green", 40.0, []), ("amber", 25.0, [NOISE])))
    page = window.review_page
    page.record_button.setFocus()
    qtbot.keyClick(page.record_button, Qt.Key_Return)           # the focused button, not "play"
    assert played == [] and window.stack.currentIndex() == RECORD
    qtbot.keyClick(window.nav, Qt.Key_4, Qt.ControlModifier)
    qtbot.mouseClick(page.redo_only, Qt.LeftButton)
    assert page.model.rowCount() == 0 and page.chosen_label.text() == NOTHING_TO_REDO
    assert not page.play_button.isEnabled() and not page.record_button.isEnabled()


def test_review_screenshot(make_window, qtbot):
    from tests.desktop.conftest import OUTPUT
    window, _ = review_window(make_window, qtbot)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(OUTPUT / "review_sorted.png"))
