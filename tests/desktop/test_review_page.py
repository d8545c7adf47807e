"""The Review table: numeric sorting (worst first), play and re-record from the keyboard."""
from PySide6.QtCore import Qt

from desktop.app import RECORD
from desktop.review_page import SNR_COLUMN
from tests.testsignals import speech_like


def add_take(speaker, prompt, session, snr_db, grade):
    writer = speaker.begin_take(prompt, session)
    writer.append(speech_like(0.6))
    take = writer.finish()
    take.quality = {"grade": grade, "problems": [], "snr_db": snr_db, "clipped_fraction": 0.0,
                    "peak_dbfs": -6.0, "loudness_lufs": -23.0, "bandwidth_hz": 16000.0,
                    "leading_silence_s": 0.4, "trailing_silence_s": 0.4, "speaking_rate": 4.2}
    take.save()
    return take


def review_window(make_window, qtbot):
    window = make_window()
    speaker = window.context.speaker
    prompts = speaker.prompts()
    session = speaker.start_session()
    # string order would be "100" < "25" < "5": the sort must be numeric
    add_take(speaker, prompts[0], session, 25.0, "amber")
    add_take(speaker, prompts[1], session, 100.0, "green")
    add_take(speaker, prompts[2], session, 5.0, "red")
    qtbot.keyClick(window.nav, Qt.Key_4, Qt.ControlModifier)
    assert window.current_page is window.review_page
    return window, prompts


def snr_column(page):
    model = page.model
    return [model.index(r, SNR_COLUMN).data(Qt.UserRole) for r in range(model.rowCount())]


def test_sorts_numerically_worst_first(make_window, qtbot):
    window, prompts = review_window(make_window, qtbot)
    page = window.review_page
    assert page.model.rowCount() == 3
    # opens sorted by grade, worst first
    assert page.model.index(0, 2).data() == "✗ Redo"
    page.table.sortByColumn(SNR_COLUMN, Qt.AscendingOrder)
    assert snr_column(page) == [5.0, 25.0, 100.0]
    page.table.sortByColumn(SNR_COLUMN, Qt.DescendingOrder)
    assert snr_column(page) == [100.0, 25.0, 5.0]
    assert "✓ Good: 1" in page.summary.text() and "✗ Redo: 1" in page.summary.text()
    assert "! Fair: 1" in page.summary.text()


def test_enter_plays_and_r_rerecords(make_window, qtbot, played):
    window, prompts = review_window(make_window, qtbot)
    page = window.review_page
    page.table.sortByColumn(SNR_COLUMN, Qt.AscendingOrder)
    page.table.selectRow(0)
    qtbot.keyClick(page.table, Qt.Key_Return)
    worst = window.context.speaker.current_take(prompts[2].id)
    assert played == [worst.raw_path]
    qtbot.keyClick(page.table, Qt.Key_Down)
    qtbot.keyClick(page.table, Qt.Key_P)
    assert played[-1] == window.context.speaker.current_take(prompts[0].id).raw_path
    qtbot.keyClick(page.table, Qt.Key_R)
    assert window.stack.currentIndex() == RECORD
    assert window.record_page.prompt().id == prompts[0].id


def test_review_screenshot(make_window, qtbot):
    from tests.desktop.conftest import OUTPUT
    window, _ = review_window(make_window, qtbot)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(OUTPUT / "review_sorted.png"))
