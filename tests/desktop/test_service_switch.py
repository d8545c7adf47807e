"""The Speak page's "Let other programs on this computer use my voice": a stand-in for
`voicebank serve` (a tiny script) shows the line said, unticking or closing ends the child, a
refused start leaves the box unticked, and the choice is remembered for the next launch."""
from __future__ import annotations

import os
import sys
import textwrap
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Signal

from core.settings import load_settings
from desktop import service_switch
from desktop.service_switch import ServiceSwitch

LISTENING = ("voicebank serve: listening on http://127.0.0.1:9880 for Ada (default voice: v-1); "
             "token in /tmp/x; Ctrl+C stops it.")
LOCKED = ("voicebank serve: another voicebank service is running (its lock /tmp/service.lock is "
          "taken); stop it first, or use that one.")
ON = "On: programs on this computer can use your voice (port 9880)."


def _script(tmp_path, name: str, body: str) -> tuple[str, list[str]]:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return sys.executable, ["-u", str(path)]


@pytest.fixture
def serving(tmp_path):
    return _script(tmp_path, "serving", f"""
        import time
        print({LISTENING!r}, flush=True)
        time.sleep(120)
        """)


@pytest.fixture
def refused(tmp_path):
    return _script(tmp_path, "refused", f"""
        import sys
        print({LOCKED!r}, file=sys.stderr, flush=True)
        sys.exit(1)
        """)


class Context(QObject):
    speaker_changed = Signal(object)

    def __init__(self, tmp_path):
        super().__init__()
        self.speaker = SimpleNamespace(id="ada", name="Ada", folder=str(tmp_path / "bank" / "ada"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _switch(qtbot, tmp_path, command) -> tuple[ServiceSwitch, list[bool]]:
    switch = ServiceSwitch(Context(tmp_path))
    qtbot.addWidget(switch)
    switch.command = lambda _speaker: command
    said: list[bool] = []
    switch.changed.connect(said.append)
    return switch, said


def test_on_then_off_ends_the_child(qtbot, tmp_path, serving):
    switch, said = _switch(qtbot, tmp_path, serving)
    assert switch.state_label.text() == "Off."
    switch.check.click()
    assert switch.state_label.text() == "Starting…"
    qtbot.waitUntil(lambda: switch.state_label.text() == ON, timeout=10_000)
    assert switch.port == 9880
    pid = switch.process.processId()
    assert _alive(pid)
    switch.check.click()
    assert switch.state_label.text() == "Off." and not switch.running
    qtbot.waitUntil(lambda: not _alive(pid), timeout=15_000)
    assert said == [True, False]


def test_a_refused_start_says_why_and_unticks(qtbot, tmp_path, refused):
    switch, said = _switch(qtbot, tmp_path, refused)
    switch.check.click()
    qtbot.waitUntil(lambda: not switch.check.isChecked(), timeout=10_000)
    text = switch.state_label.text()
    assert text.startswith("Off. Another voicebank service is running"), text
    assert "\n" not in text and not switch.running
    assert said == [True, False]


def test_no_speaker_says_choose_one(qtbot, tmp_path, serving):
    switch, _ = _switch(qtbot, tmp_path, serving)
    switch.context.speaker = None
    switch.check.click()
    assert not switch.check.isChecked() and not switch.running
    assert "choose a speaker" in switch.state_label.text()


def test_closing_ends_the_child_but_keeps_the_choice(qtbot, tmp_path, serving):
    switch, _ = _switch(qtbot, tmp_path, serving)
    switch.check.click()
    qtbot.waitUntil(lambda: switch.state_label.text() == ON, timeout=10_000)
    pid = switch.process.processId()
    switch.shutdown()
    qtbot.waitUntil(lambda: not _alive(pid), timeout=5_000)
    assert switch.check.isChecked()


def test_the_choice_is_remembered_and_on_at_the_next_launch(make_window, qtbot, serving, monkeypatch):
    monkeypatch.setattr(service_switch, "serve_command", lambda _speaker: serving)
    window = make_window()
    switch = window.speak_page.service_switch
    assert switch.check.accessibleName() and not switch.running
    switch.check.click()
    assert load_settings().share_voice is True
    qtbot.waitUntil(lambda: switch.state_label.text() == ON, timeout=10_000)
    pid = switch.process.processId()
    window.close()
    qtbot.waitUntil(lambda: not _alive(pid), timeout=5_000)
    assert load_settings().share_voice is True

    again = make_window(speaker=False)          # the same bank: Ada is there already
    switch = again.speak_page.service_switch
    assert switch.check.isChecked() and switch.running
    qtbot.waitUntil(lambda: switch.state_label.text() == ON, timeout=10_000)
    switch.check.click()
    assert load_settings().share_voice is False
