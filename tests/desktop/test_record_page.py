"""The Record page driven with the keyboard alone, through a fake microphone."""
import numpy as np
from PySide6.QtCore import Qt

from desktop.app import RECORD
from tests.testsignals import speech_like

CHECK_TIMEOUT_MS = 15000


def open_record_page(window, qtbot):
    qtbot.keyClick(window.nav, Qt.Key_3, Qt.ControlModifier)
    page = window.record_page
    assert window.current_page is page
    return page


def record_one(page, qtbot, seconds=1.2):
    """Space, wait for `seconds` of captured sound, Space."""
    qtbot.keyClick(page, Qt.Key_Space)
    assert page.recording
    qtbot.waitUntil(lambda: page.context.recorder.status().captured_s >= seconds, timeout=5000)
    qtbot.keyClick(page, Qt.Key_Space)
    assert not page.recording


def wait_checked(page, qtbot):
    qtbot.waitUntil(lambda: not page.checker.busy and not page._checking, timeout=CHECK_TIMEOUT_MS)


def test_space_records_and_checks_a_take(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25)
    page = open_record_page(window, qtbot)
    speaker = window.context.speaker
    prompt = page.prompt()
    assert page.index == 0 and speaker.takes(prompt.id) == []
    record_one(page, qtbot)
    wait_checked(page, qtbot)
    takes = speaker.takes(prompt.id)
    assert len(takes) == 1
    assert takes[0].raw_path.exists()
    assert takes[0].grade in ("green", "amber", "red")
    assert page.grade_label.text().split()[0] in ("✓", "!", "✗")
    assert "Done: 1 of" in page.progress_label.text()


def test_arrows_move_and_r_records_again(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25)
    page = open_record_page(window, qtbot)
    speaker = window.context.speaker
    qtbot.keyClick(page, Qt.Key_Right)
    assert page.index == 1
    qtbot.keyClick(page, Qt.Key_Left)
    qtbot.keyClick(page, Qt.Key_Left)      # cannot go before the first
    assert page.index == 0
    prompt = page.prompt()
    record_one(page, qtbot, 0.5)
    qtbot.keyClick(page, Qt.Key_R)
    assert page.recording
    qtbot.waitUntil(lambda: page.context.recorder.status().captured_s >= 0.5, timeout=5000)
    qtbot.keyClick(page, Qt.Key_Return)    # stop and go to the next prompt
    assert not page.recording and page.index == 1
    wait_checked(page, qtbot)
    takes = speaker.takes(prompt.id)
    assert len(takes) == 2 and all(t.raw_path.exists() for t in takes)


def test_escape_cancels_the_take(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25)
    page = open_record_page(window, qtbot)
    prompt = page.prompt()
    qtbot.keyClick(page, Qt.Key_Space)
    qtbot.waitUntil(lambda: page.context.recorder.status().captured_s >= 0.3, timeout=5000)
    qtbot.keyClick(page, Qt.Key_Escape)
    assert not page.recording
    folder = window.context.speaker.folder / "takes" / prompt.id
    assert window.context.speaker.takes(prompt.id) == []
    assert not list(folder.glob("*.wav*"))
    assert "cancelled" in page.banner.text()


def test_keys_work_when_a_button_has_focus(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25)
    page = open_record_page(window, qtbot)
    page.play_button.setFocus()
    qtbot.keyClick(page.play_button, Qt.Key_Space)
    assert page.recording
    qtbot.keyClick(page.play_button, Qt.Key_Escape)
    assert not page.recording


def test_continuous_mode_stops_on_silence_and_moves_on(make_window, qtbot):
    # 1.5 s of speech then 2 s of silence, looped; played at 4x real time
    source = np.concatenate([speech_like(1.5, lead_s=0.1, trail_s=0.1), np.zeros(96000, np.float32)])
    window = make_window(source, loop=True, pace=0.25)
    page = open_record_page(window, qtbot)
    page.continuous_pause_ms = 50
    qtbot.keyClick(page, Qt.Key_C)
    assert page.continuous and page.continuous_box.isChecked()
    first = page.prompt()
    qtbot.keyClick(page, Qt.Key_Space)
    qtbot.waitUntil(lambda: page.index == 1, timeout=CHECK_TIMEOUT_MS)   # auto-stopped, checked, advanced
    qtbot.waitUntil(lambda: page.recording, timeout=5000)          # and started the next one
    assert len(window.context.speaker.takes(first.id)) == 1
    qtbot.keyClick(page, Qt.Key_Escape)
    assert not page.recording
    wait_checked(page, qtbot)


def test_unplugged_microphone_keeps_the_partial_take(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=1.0, unplug_after_s=1.0)
    page = open_record_page(window, qtbot)
    prompt = page.prompt()
    qtbot.keyClick(page, Qt.Key_Space)
    assert page.recording
    qtbot.waitUntil(lambda: not page.recording, timeout=5000)
    takes = window.context.speaker.takes(prompt.id)
    assert len(takes) == 1 and takes[0].interrupted
    assert page.banner.kind == "error" and "unplugged" in page.banner.text()
    wait_checked(page, qtbot)
    assert "cut off" in page.grade_label.text()


def test_p_plays_the_take(make_window, qtbot, played):
    window = make_window(speech_like(3.0), loop=True, pace=0.25)
    page = open_record_page(window, qtbot)
    record_one(page, qtbot, 0.5)
    qtbot.keyClick(page, Qt.Key_P)
    assert played == [window.context.speaker.current_take(page.prompt().id).raw_path]
    wait_checked(page, qtbot)


def test_resume_goes_to_first_unrecorded_and_reports_crashed_takes(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25, speaker=True)
    speaker = window.context.bank.speakers()[0]
    prompts = speaker.prompts()
    session = speaker.start_session()
    writer = speaker.begin_take(prompts[0], session)
    writer.append(speech_like(0.5))
    writer.finish()
    crashed = speaker.begin_take(prompts[1], session)   # left as .wav.part, like after a crash
    crashed.append(speech_like(0.5))
    crashed._file.close()
    window.record_page._speaker_id = None
    page = open_record_page(window, qtbot)
    assert page.index == 1
    assert page.banner.kind == "warning" and "cut off" in page.banner.text()
    assert crashed.part_path.exists()
    assert window.current_page is page and window.stack.currentIndex() == RECORD
