"""Where the window opens, and what it remembers: an empty bank asks for a name; later it opens
where the person left off (Record at the next prompt without a usable take and not skipped, or
Speak once a voice exists); window size, continuous mode, the grade tone and text size survive a
restart, and a damaged settings file gives the defaults."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.bank.store import Bank
from core.settings import AppSettings, load_settings, settings_path
from desktop.app import DEFAULT_SIZE, MainWindow, apply_text_size, make_app
from desktop.start import start_point
from tests.core.speak import make_voice
from tests.desktop.ui_driver import IdleWorker
from tests.testsignals import noise, speech_like

CHECK_TIMEOUT_MS = 15000


def graded_take(speaker, prompt, grade: str, seconds: float = 2.0):
    writer = speaker.begin_take(prompt, speaker.start_session("mic", -60.0, True))
    writer.append(speech_like(seconds, seed=len(prompt.id)))
    take = writer.finish()
    take.quality = {"grade": grade, "problems": [], "grader": 2}
    take.save()
    return take


@pytest.fixture(autouse=True)
def normal_text_size():
    """The text size is the whole application's: put it back for the tests after."""
    yield
    if QApplication.instance() is not None:
        apply_text_size("normal")


def test_settings_live_in_the_test_config_folder(private_bank, tmp_path):
    assert settings_path() == tmp_path / "config" / "settings.json"


def test_empty_bank_opens_on_the_speaker_page_with_the_cursor_in_the_name_box(make_window):
    window = make_window(speaker=False)
    assert window.current_page is window.speaker_page
    assert window.focusWidget() is window.speaker_page.name_edit
    assert start_point(window.context.bank).empty_bank


def test_after_a_red_take_the_next_launch_opens_on_record_at_that_prompt(make_window, qtbot, private_bank):
    speaker = Bank(private_bank).create_speaker("Ada", ["zh"])
    prompts = speaker.prompts()
    graded_take(speaker, prompts[0], "green")
    graded_take(speaker, prompts[1], "amber")

    window = make_window(None, speaker=False, loop=True, pace=0.25)     # a silent microphone
    page = window.record_page
    assert window.current_page is page and page.prompt() == prompts[2]
    qtbot.keyClick(page, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.context.recorder.status().captured_s >= 1.0, timeout=5000)
    qtbot.keyClick(page, Qt.Key_Return)                 # stop and go to the next prompt
    assert page.prompt() == prompts[3]
    qtbot.waitUntil(lambda: not page._checking, timeout=CHECK_TIMEOUT_MS)
    assert speaker.current_take(prompts[2].id).grade == "red"
    assert "redo" in page.take_view.last.text().lower() or "Redo" in page.take_view.last.text()
    window.close()

    again = make_window(speaker=False)
    assert again.current_page is again.record_page
    assert again.record_page.prompt() == prompts[2]
    assert again.context.speaker.id == speaker.id
    assert "to redo" in again.record_page.progress_label.text()


def test_skipped_prompts_are_not_where_it_opens(make_window, private_bank):
    speaker = Bank(private_bank).create_speaker("Ada", ["zh"])
    prompts = speaker.prompts()
    graded_take(speaker, prompts[0], "green")
    speaker.set_skipped(prompts[1].id)
    graded_take(speaker, prompts[2], "red")
    window = make_window(speaker=False)
    assert window.current_page is window.record_page
    assert window.record_page.prompt() == prompts[2]


def test_opens_on_the_last_speaker_used(make_window, private_bank):
    bank = Bank(private_bank)
    first = bank.create_speaker("Ada", ["zh"])
    second = bank.create_speaker("Bo", ["en"])
    graded_take(first, first.prompts()[0], "green")
    graded_take(second, second.prompts()[0], "green")
    window = make_window(speaker=False)
    window.speaker_page.refresh_speakers(select_id=second.id)
    assert window.context.speaker.id == second.id
    window.close()
    again = make_window(speaker=False)
    assert again.context.speaker.id == second.id
    assert again.record_page.prompt() == second.prompts()[1]


def test_with_a_voice_it_opens_on_speak(qtbot, private_bank):
    speaker = Bank(private_bank).create_speaker("Ada", ["zh"])
    graded_take(speaker, speaker.prompts()[0], "red")
    make_voice(speaker, "v-20260101")
    make_app([])
    window = MainWindow(bank=Bank(private_bank), list_devices=lambda: [], worker=IdleWorker(),
                        speak_worker=IdleWorker())
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.current_page is window.speak_page
        assert window.context.speaker.id == speaker.id
    finally:
        window.close()


def test_window_size_continuous_mode_and_text_size_survive_a_restart(make_window, qtbot):
    window = make_window(speech_like(2.0), loop=True, pace=0.25)
    assert not window.record_page.continuous and window.settings.text_size == "normal"
    window.resize(1000, 640)
    qtbot.keyClick(window.nav, Qt.Key_3, Qt.ControlModifier)
    qtbot.keyClick(window.record_page, Qt.Key_C)            # continuous mode on
    qtbot.keyClick(window.record_page, Qt.Key_T)            # and the grade tone
    assert window.record_page.continuous and window.record_page.grade_tone
    window.text_size.combo.setCurrentIndex(window.text_size.combo.findData("large"))
    big = window.font().pointSizeF()
    window.close()

    saved = load_settings()
    assert (saved.width, saved.height, saved.continuous, saved.text_size) == (1000, 640, True, "large")
    assert saved.grade_tone
    apply_text_size("normal")
    small = make_app([]).font().pointSizeF()
    assert big > small

    again = make_window(speaker=False)
    assert (again.width(), again.height()) == (1000, 640)
    assert again.record_page.continuous and again.record_page.continuous_box.isChecked()
    assert again.record_page.grade_tone and again.record_page.tone_box.isChecked()
    assert again.text_size.text_size == "large" and again.font().pointSizeF() == big


@pytest.mark.parametrize("damage", ["{not json", "[1, 2, 3]", "",
                                    '{"width": "wide", "height": -5, "text_size": "huge", "continuous": 3, '
                                    '"last_speaker": [1]}'])
def test_a_damaged_settings_file_gives_the_defaults(make_window, damage):
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(damage, encoding="utf-8")
    settings = load_settings()
    assert (settings.width, settings.height, settings.text_size) == (0, 0, "normal")
    assert not settings.continuous and not settings.grade_tone and not settings.maximized
    assert settings.last_speaker == {}
    window = make_window()
    assert (window.width(), window.height()) == (DEFAULT_SIZE.width(), DEFAULT_SIZE.height())
    assert window.text_size.text_size == "normal"
    window.close()
    assert isinstance(load_settings(), AppSettings) and load_settings().width == DEFAULT_SIZE.width()


def test_settings_are_never_written_into_the_bank(make_window, private_bank):
    window = make_window(np.zeros(4800, np.float32))
    window.close()
    assert settings_path().exists()
    assert not list(private_bank.rglob("settings.json"))


def test_takes_graded_noisy_by_old_rules_are_checked_again_and_shown(make_window, qtbot, private_bank,
                                                                      monkeypatch):
    """A clean take the older rules marked red "too noisy" (the room check was disturbed) does not
    send the person back to it: it counts as being checked, and its new grade shows once it is in."""
    monkeypatch.setattr("desktop.app.RECHECK_DELAY_MS", 0)
    speaker = Bank(private_bank).create_speaker("Ada", ["en"])
    prompts = speaker.prompts()
    writer = speaker.begin_take(prompts[0], speaker.start_session("mic", -41.7, False))
    writer.append(speech_like(3.0, seed=5, lead_s=0.6, trail_s=0.6)
                  + noise("pink", 3.0, seed=9, level_dbfs=-75.0))
    take = writer.finish()
    take.quality = {"grade": "red", "noise_floor_source": "session", "noise_floor_dbfs": -41.7,
                    "problems": [{"code": "noisy", "severity": "red",
                                  "message": "Too much background noise: the voice is only 14 dB above it."}]}
    take.save()
    window = make_window(speaker=False)
    page = window.record_page
    assert window.current_page is page and page.prompt() == prompts[1]
    qtbot.keyClick(page, Qt.Key_Left)
    assert page.prompt() == prompts[0]
    qtbot.waitUntil(lambda: speaker.current_take(prompts[0].id).grade != "red", timeout=CHECK_TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.grade_label.text()[:1] in ("✓", "!"), timeout=5000)
    assert "room check was probably disturbed" in page.problems_label.text()
    assert "to redo" not in page.progress_label.text() and "Done: 1 of" in page.progress_label.text()


@pytest.mark.parametrize("available, maximized", [((1024, 600), True), ((1366, 728), True),
                                                  ((1920, 1040), False)])
def test_a_window_as_big_as_the_screen_opens_maximized(available, maximized):
    """Seen under Xvfb at 1024x600: the default size filled the screen and the title bar pushed
    the bottom (the text size box) off it. Such a window is maximized instead."""
    from PySide6.QtCore import QSize

    from desktop.app import DEFAULT_SIZE, fit_to_screen

    size, too_big = fit_to_screen(DEFAULT_SIZE, QSize(*available))
    assert too_big is maximized
    assert size.width() <= available[0] and size.height() <= available[1]
