"""Room check verdicts, and audio failures shown in the page instead of a crash."""
from PySide6.QtCore import Qt

from core.audio.capture import NO_MICROPHONE, PORTAUDIO_MISSING, AudioDeviceError, Recorder
from desktop.app import RECORD, ROOM
from tests.testsignals import noise


def run_room_check(window, qtbot):
    qtbot.keyClick(window.nav, Qt.Key_2, Qt.ControlModifier)
    page = window.room_page
    assert window.current_page is page
    qtbot.keyClick(page.check_button, Qt.Key_Return)
    qtbot.waitUntil(lambda: page.verdict is not None, timeout=5000)
    return page


def test_quiet_room_passes_and_starts_a_session(make_window, qtbot):
    window = make_window(noise("pink", 4.0, level_dbfs=-70.0), loop=True)
    page = run_room_check(window, qtbot)
    assert page.verdict.ok
    assert page.result.text().startswith("✓")
    assert page.record_button.isVisibleTo(page) and not page.anyway_button.isVisibleTo(page)
    qtbot.keyClick(page.record_button, Qt.Key_Return)
    assert window.stack.currentIndex() == RECORD
    session = window.context.session
    assert session is not None and session.room_ok is True
    assert -75 < session.noise_floor_dbfs < -65


def test_noisy_room_says_why_and_continue_anyway_works(make_window, qtbot):
    window = make_window(noise("pink", 4.0, level_dbfs=-35.0), loop=True)
    page = run_room_check(window, qtbot)
    assert not page.verdict.ok
    assert "too noisy" in page.result.text().lower()
    assert "too noisy" in page.advice.text()
    assert page.anyway_button.isVisibleTo(page)
    assert page.check_button.text() == "Check again"
    qtbot.keyClick(page.anyway_button, Qt.Key_Return)
    assert window.stack.currentIndex() == RECORD
    assert window.context.session.room_ok is False


def test_no_microphone_is_shown_and_the_app_lives_on(make_window, qtbot):
    def no_mic(**kwargs):
        raise AudioDeviceError(NO_MICROPHONE)

    window = make_window(recorder=Recorder(stream_factory=no_mic))
    qtbot.keyClick(window.nav, Qt.Key_2, Qt.ControlModifier)
    assert window.room_page.banner.kind == "error"
    assert "No microphone" in window.room_page.banner.text()
    qtbot.keyClick(window.room_page.check_button, Qt.Key_Return)   # trying again is harmless
    assert "No microphone" in window.room_page.banner.text()
    qtbot.keyClick(window.nav, Qt.Key_3, Qt.ControlModifier)
    page = window.record_page
    qtbot.keyClick(page, Qt.Key_Space)
    assert not page.recording
    assert "No microphone" in page.banner.text() and page.banner.accessibleDescription()
    assert window.isVisible()


def test_portaudio_missing_is_explained_on_the_speaker_page(make_window, qtbot):
    def missing():
        raise AudioDeviceError(PORTAUDIO_MISSING)

    window = make_window(list_devices=missing)
    assert "PortAudio" in window.speaker_page.device_note.text()
    qtbot.mouseClick(window.speaker_page.refresh_button, Qt.LeftButton)
    assert "libportaudio2" in window.speaker_page.device_note.text()


def test_speaker_page_creates_speakers_and_messages(make_window, qtbot):
    window = make_window(speaker=False)
    page = window.speaker_page
    assert window.context.speaker is None
    qtbot.keyClicks(page.name_edit, "Li Wei")
    qtbot.keyClick(page.name_edit, Qt.Key_Return)
    assert window.context.speaker is not None and window.context.speaker.name == "Li Wei"
    assert page.banner.kind == "ok"
    qtbot.keyClick(page.message_edit, Qt.Key_Return)            # empty: explained, not crashed
    assert page.banner.kind == "error" and "empty" in page.banner.text()
    qtbot.keyClicks(page.message_edit, "I love you")
    qtbot.keyClick(page.message_edit, Qt.Key_Return)
    assert page.message_list.count() == 1
    prompts = window.context.prompts()
    assert prompts[0].text == "I love you" and prompts[0].is_message
    page.message_list.setCurrentRow(0)
    qtbot.mouseClick(page.remove_button, Qt.LeftButton)
    assert page.message_list.count() == 0
    assert window.stack.currentIndex() != ROOM


def test_every_control_has_an_accessible_name(make_window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QComboBox, QLineEdit, QProgressBar
    window = make_window()
    controls = [w for kind in (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView, QProgressBar)
                for w in window.findChildren(kind)]
    # Qt's own internals (combo popups, scroll buttons) are not ours to name
    def qt_internal(widget):      # combo pop-up lists and table headers belong to their owner
        if type(widget).__name__ == "QHeaderView" or isinstance(widget.parent(), QAbstractItemView):
            return True    # headers, and the table's corner button
        parent = widget.parent()
        while parent is not None:
            if isinstance(parent, QComboBox) or type(parent).__name__ == "QComboBoxPrivateContainer":
                return True
            parent = parent.parent()
        return False

    ours = [w for w in controls if not qt_internal(w)]
    unnamed = [f"{type(w).__name__}:{getattr(w, 'text', lambda: '')()}" for w in ours if not w.accessibleName()]
    assert not unnamed


def test_delete_speaker_asks_keeps_on_no_and_erases_on_yes(make_window, qtbot):
    window = make_window()
    page = window.speaker_page
    speaker = window.context.speaker
    folder = speaker.folder
    (folder / "voices" / "v1").mkdir(parents=True)
    (folder / "voices" / "v1" / "voice.json").write_text("{}")
    questions = []
    page.confirm = lambda title, text: questions.append(text) or False
    qtbot.mouseClick(page.delete_button, Qt.LeftButton)
    assert folder.is_dir() and window.context.speaker is not None
    assert "cannot be undone" in questions[0] and "Nothing was deleted" in page.banner.text()
    page.confirm = lambda title, text: True
    qtbot.mouseClick(page.delete_button, Qt.LeftButton)
    assert not folder.exists()
    assert window.context.speaker is None and page.banner.kind == "ok"
    assert page.speaker_combo.currentData() is None
