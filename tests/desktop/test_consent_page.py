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
    qtbot.waitUntil(lambda: not dialog.checking, timeout=WAIT_MS)    # checked for speech off the GUI thread


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


def _square(seconds: float):
    import numpy as np

    t = np.arange(int(seconds * 48000)) / 48000
    return (0.5 * np.sign(np.sin(2 * np.pi * 220 * t))).astype(np.float32)


@pytest.mark.parametrize("kind", ["silence", "square wave"])
def test_a_recording_without_speech_is_refused_at_once(make_window, qtbot, kind):
    import numpy as np

    source = np.zeros(48000, np.float32) if kind == "silence" else _square(1.0)
    window = make_window(source, loop=True, pace=0.25, languages=("en",))
    page, dialog = open_consent(window, qtbot)
    record(dialog, qtbot, 3.5)
    assert dialog.banner.kind == "error"
    assert dialog.banner.text().startswith("✗  No speech was heard in the recording, so it was not kept.")
    assert "read aloud by Ada" in dialog.banner.text() and "Press R when you are ready." in dialog.banner.text()
    assert ct.current_consent(window.context.speaker) is None
    assert not list((window.context.speaker.folder / "consent").iterdir())
    assert "No consent recorded yet" in dialog.status_label.text()
    assert dialog.record_button.isEnabled() and not dialog.play_button.isEnabled()
    assert dialog.focusWidget() is dialog.record_button      # Space records again, never closes


def test_the_check_runs_off_the_window_and_closing_waits_for_it(make_window, qtbot, monkeypatch):
    import threading

    gate = threading.Event()
    real = ct.speech_seconds
    monkeypatch.setattr(ct, "speech_seconds", lambda path, *a, **k: (gate.wait(10), real(path, *a, **k))[1])
    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("en",))
    page, dialog = open_consent(window, qtbot)
    qtbot.keyClick(dialog, Qt.Key_R)
    qtbot.waitUntil(lambda: dialog.context.recorder.status().captured_s >= 3.5, timeout=WAIT_MS)
    qtbot.keyClick(dialog, Qt.Key_R)
    assert dialog.checking and not dialog.recording              # the window answers while it checks
    assert dialog.status_label.text() == "Checking that the recording holds your voice… one moment."
    assert not dialog.record_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key_R)                             # R does nothing until the check ends
    assert not dialog.recording
    gate.set()
    qtbot.keyClick(dialog, Qt.Key_Escape)                        # closing waits for the result
    assert not dialog.isVisible() and not dialog.checking
    assert ct.current_consent(window.context.speaker) is not None
    assert "✓ Consent recorded by Ada" in page.consent_note.text()


def test_a_statement_cut_off_by_a_full_disk_is_not_kept_and_says_why(make_window, qtbot, monkeypatch):
    from tests.diskfull import full_disk

    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("en",))
    page, dialog = open_consent(window, qtbot)
    qtbot.keyClick(dialog, Qt.Key_R)
    qtbot.waitUntil(lambda: dialog.context.recorder.status().captured_s >= 1.0, timeout=WAIT_MS)
    full_disk(monkeypatch, room=0)
    qtbot.waitUntil(lambda: not dialog.recording, timeout=WAIT_MS)        # stopped by itself
    text = dialog.banner.text()
    assert dialog.banner.kind == "error" and "The disk is full, so recording stopped." in text
    assert "consent needs the whole statement" in text and "Saved" not in text
    assert ct.current_consent(window.context.speaker) is None
    assert not [p for p in ct.consent_folder(window.context.speaker).glob("*") if p.suffix != ".json"]
    monkeypatch.undo()
    record(dialog, qtbot, 3.5)                                          # space again: it works
    assert ct.current_consent(window.context.speaker) is not None
