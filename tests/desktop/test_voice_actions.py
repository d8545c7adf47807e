"""Export voice… / Import voice… / Delete voice…: the bar's buttons with real files and a real
child process for the import (the GUI itself never loads torch)."""
from __future__ import annotations

import pytest

from core.bank.store import Bank
from core.voices.card import list_voices
from desktop.voice_actions import VoiceActionsBar
from tests.core.voices.conftest import files_of, make_voice


@pytest.fixture(autouse=True)
def private_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))   # deleting clears scratch


def _bar(qtbot, speaker, voice):
    bar = VoiceActionsBar(lambda: speaker, lambda: voice)
    qtbot.addWidget(bar)
    messages: list[tuple[str, str]] = []
    bar.message.connect(lambda text, level: messages.append((text, level)))
    return bar, messages


def test_buttons_have_names_and_keys(qtbot):
    bar, _ = _bar(qtbot, None, None)
    for button in (bar.export_button, bar.import_button, bar.delete_button):
        assert button.accessibleName() and button.accessibleDescription()
        assert "&" in button.text()                # Alt+letter reaches it


def test_export_then_import_in_another_bank(qtbot, tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Anna", ["zh"])
    voice = make_voice(speaker)
    bar, messages = _bar(qtbot, speaker, voice)
    bar.ask_save_path = lambda suggested: str(tmp_path / "out" / "anna")
    path = bar.export()
    assert path == tmp_path / "out" / "anna.voicebank" and path.is_file()
    assert messages[-1][1] == "info" and "Import voice" in messages[-1][0]

    other = Bank(tmp_path / "other").create_speaker("Anna", ["zh"])
    bar2, messages2 = _bar(qtbot, other, None)
    bar2.ask_open_path = lambda: str(path)
    with qtbot.waitSignal(bar2.changed, timeout=120_000):
        bar2.import_voice()
        assert not bar2.import_button.isEnabled()
    [(folder, _card)] = list_voices(other)
    assert files_of(folder)["sovits.pth"] == files_of(voice)["sovits.pth"]
    assert bar2.import_button.isEnabled() and "imported" in messages2[-1][0]


def test_a_bad_file_is_reported_and_nothing_imported(qtbot, tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Anna", ["zh"])
    bad = tmp_path / "bad.voicebank"
    bad.write_bytes(b"not a package")
    bar, messages = _bar(qtbot, speaker, None)
    bar.ask_open_path = lambda: str(bad)
    bar.import_voice()
    qtbot.waitUntil(lambda: bar.import_button.isEnabled(), timeout=60_000)
    text, level = messages[-1]
    assert level == "error" and "not a voicebank voice package" in text
    assert list_voices(speaker) == []


def test_delete_asks_and_keeping_is_the_default(qtbot, tmp_path):
    speaker = Bank(tmp_path / "bank").create_speaker("Anna", ["zh"])
    voice = make_voice(speaker)
    bar, messages = _bar(qtbot, speaker, voice)
    asked: list[str] = []
    bar.confirm = lambda title, text: asked.append(text) or False
    assert bar.delete() is False and voice.exists()
    assert "for good" in asked[0]
    bar.confirm = lambda title, text: True
    with qtbot.waitSignal(bar.changed):
        assert bar.delete() is True
    assert not voice.exists() and messages[-1][1] == "info"


def test_nothing_chosen_says_so(qtbot):
    bar, messages = _bar(qtbot, None, None)
    assert bar.export() is None and bar.delete() is False
    bar.import_voice()
    assert [level for _, level in messages] == ["warning", "warning", "warning"]
