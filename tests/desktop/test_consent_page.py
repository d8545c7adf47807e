"""The consent statement window, with the keyboard alone and a fake microphone."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from core.trust import consent as ct
from tests.desktop.conftest import OUTPUT
from tests.testsignals import speech_like

pytestmark = pytest.mark.consent
WAIT_MS = 10000


def open_consent(window, qtbot):
    qtbot.keyClick(window.nav, Qt.Key_1, Qt.ControlModifier)
    page = window.speaker_page
    assert "No consent recorded yet" in page.consent_note.text()
    for _ in range(40):                                      # Tab to the button, Space presses it
        if window.focusWidget() is page.consent_button:
            break
        qtbot.keyClick(window.focusWidget() or page, Qt.Key_Tab)
    assert window.focusWidget() is page.consent_button
    qtbot.keyClick(page.consent_button, Qt.Key_Space)
    qtbot.waitUntil(lambda: page.consent_dialog is not None and page.consent_dialog.isVisible(), timeout=WAIT_MS)
    return page, page.consent_dialog


def record(dialog, qtbot, seconds: float) -> None:
    qtbot.keyClick(dialog, Qt.Key_R)
    assert dialog.recording and "Recording" in dialog.status_label.text()
    qtbot.waitUntil(lambda: dialog.context.recorder.status().captured_s >= seconds, timeout=WAIT_MS)
    qtbot.keyClick(dialog, Qt.Key_R)
    assert not dialog.recording


def test_read_the_statement_save_it_and_play_it_back(make_window, qtbot, played):
    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("zh", "en"))
    page, dialog = open_consent(window, qtbot)
    speaker = window.context.speaker
    text = dialog.statement_label.text()
    assert text.startswith("我叫Ada。今天是") and "只保存在这台电脑上" in text    # the first language
    assert dialog.statement_label.font().pointSize() > dialog.status_label.font().pointSize()
    assert dialog.focusWidget() is dialog.record_button and not dialog.play_button.isEnabled()

    record(dialog, qtbot, 0.5)                       # too short: said so, nothing kept
    assert dialog.banner.kind == "warning" and "Read the whole statement" in dialog.banner.text()
    assert ct.current_consent(speaker) is None

    record(dialog, qtbot, 3.5)
    saved = ct.current_consent(speaker)
    assert saved is not None and saved.role == "self" and saved.name == "Ada" and saved.language == "zh"
    assert saved.text == text and saved.duration_s >= 3.5
    assert dialog.banner.kind == "ok" and "✓ Consent recorded by Ada" in dialog.status_label.text()
    meta = json.loads(saved.meta_path.read_text(encoding="utf-8"))
    assert meta["date"] == dialog.today.isoformat()

    qtbot.keyClick(dialog, Qt.Key_P)
    assert played == [saved.wav_path]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(OUTPUT / "consent.png"))
    qtbot.keyClick(dialog, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    assert "✓ Consent recorded by Ada" in page.consent_note.text()


def test_a_voice_donor_names_themself_and_the_patient(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("en",))
    page, dialog = open_consent(window, qtbot)
    qtbot.keyClick(dialog, Qt.Key_D)                        # "A relative gives their voice"
    assert dialog.donor_check.isChecked() and dialog.focusWidget() is dialog.donor_edit
    assert "Type the voice donor's name" in dialog.statement_label.text()
    assert not dialog.record_button.isEnabled()
    qtbot.keyClicks(dialog.donor_edit, "Tom Pr")             # R and P type letters here
    assert dialog.donor_edit.text() == "Tom Pr" and not dialog.recording
    assert dialog.statement_label.text().startswith("My name is Tom Pr.")
    assert "giving my voice to Ada" in dialog.statement_label.text()
    qtbot.keyClick(dialog.donor_edit, Qt.Key_Return)         # Enter: on to the Record button
    assert dialog.focusWidget() is dialog.record_button
    record(dialog, qtbot, 3.5)
    saved = ct.current_consent(window.context.speaker)
    assert saved.role == "donor" and saved.name == "Tom Pr" and saved.patient == "Ada"
    assert "Tom Pr, voice donor for Ada" in dialog.status_label.text()


def test_escape_while_recording_keeps_nothing(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25)
    page, dialog = open_consent(window, qtbot)
    qtbot.keyClick(dialog, Qt.Key_Space)
    assert dialog.recording
    qtbot.waitUntil(lambda: dialog.context.recorder.status().captured_s >= 1.0, timeout=WAIT_MS)
    qtbot.keyClick(dialog, Qt.Key_Escape)
    assert not dialog.recording and dialog.isVisible() and "nothing was saved" in dialog.banner.text()
    assert ct.current_consent(window.context.speaker) is None
    assert not list((window.context.speaker.folder / "consent").glob("*.part"))


def test_build_page_shows_the_consent_check_and_the_likeness(make_window, qtbot, tmp_path):
    from desktop.trust_widgets import TrustBox

    box = TrustBox()
    qtbot.addWidget(box)
    voice = tmp_path / "v1"
    voice.mkdir()
    (voice / "voice.json").write_text(json.dumps({
        "id": "v1", "speaker_check": {"verdict": "same", "message": "The recordings match (similarity 91 %, 75 % needed)."},
        "likeness": {"similarity": 0.8, "percent": 80, "words": "like you"}}), encoding="utf-8")
    box.show_voice(voice)
    assert box.check_label.text() == "Consent check: The recordings match (similarity 91 %, 75 % needed)."
    assert box.likeness_label.text().startswith("How much it sounds like you: 80 % — like you.")
    assert box.likeness_label.accessibleDescription() == box.likeness_label.text()
    box.clear()
    assert "Shown after a voice is built" in box.likeness_label.text()


def test_build_page_says_consent_comes_first(make_window, qtbot):
    window = make_window(speech_like(3.0), loop=True, pace=0.25)
    box = window.build_page.trust
    box.show_speaker(window.context.speaker)
    assert box.check_label.text().startswith("✗ No consent recorded yet") and "Ctrl+1" in box.check_label.text()
    ct.record_consent(window.context.speaker, speech_like(4.0), 48000)
    box.clear()
    box.show_speaker(window.context.speaker)
    assert box.check_label.text() == ""
