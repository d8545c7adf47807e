"""The Speak page's "Let other programs on this computer use my voice": a stand-in for
`voicebank serve` (a tiny HTTP server that checks the token and says its engine is starting for
a while) shows "Starting" until it answers /health (ready) and /voices, then "On"; unticking or
closing ends the child, a refused start leaves the box unticked, and the choice is remembered
for the next launch."""
from __future__ import annotations

import os
import sys
import textwrap
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Signal

from core.settings import load_settings
from desktop import service_switch
from desktop.service_switch import LOADING, STARTING, ServiceSwitch

LISTENING = ("voicebank serve: listening on http://127.0.0.1:{port} for Ada (default voice: v-1); "
             "token in /tmp/x; Ctrl+C stops it.")
LOCKED = ("voicebank serve: another voicebank service is running (its lock /tmp/service.lock is "
          "taken); stop it first, or use that one.")
ON = "On: programs on this computer can use your voice (port {port})."

# `voicebank serve` as far as the switch can tell: the token in the config folder, a port, and
# /health saying "starting" for READY_AFTER seconds (the engine loading the voice), then "ready".
STAND_IN = """
    import json, os, pathlib, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    READY_AFTER = float(sys.argv[1])
    EXPECTED = sys.argv[2] if len(sys.argv) > 2 else "t" * 43     # the token it takes
    config = pathlib.Path(os.environ["VOICEBANK_CONFIG"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "service-token").write_text("t" * 43 + "\\n")
    started = time.monotonic()

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.headers.get("Authorization") != "Bearer " + EXPECTED:
                body, status = {"message": "token"}, 401
            elif self.path == "/health":
                ready = time.monotonic() - started >= READY_AFTER
                body, status = {"engine": "ready" if ready else "starting"}, 200
            elif self.path == "/voices":
                body, status = {"voices": [{"id": "v-1"}], "default": "v-1"}, 200
            else:
                body, status = {}, 404
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    print(LISTENING.format(port=server.server_address[1]), flush=True)
    server.serve_forever()
    """


def _script(tmp_path, name: str, body: str) -> tuple[str, list[str]]:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return sys.executable, ["-u", str(path)]


def _stand_in(tmp_path, ready_after: float, *token: str) -> tuple[str, list[str]]:
    program, args = _script(tmp_path, "serving", f"LISTENING = {LISTENING!r}\n" + textwrap.dedent(STAND_IN))
    return program, args + [str(ready_after), *token]


@pytest.fixture
def serving(tmp_path):
    return _stand_in(tmp_path, 0.0)


def _on(switch: ServiceSwitch) -> bool:
    return switch.port is not None and switch.state_label.text() == ON.format(port=switch.port)


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
    assert switch.state_label.text() == STARTING
    qtbot.waitUntil(lambda: _on(switch), timeout=10_000)
    assert switch.answering
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
    qtbot.waitUntil(lambda: _on(switch), timeout=10_000)
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
    qtbot.waitUntil(lambda: _on(switch), timeout=10_000)
    pid = switch.process.processId()
    window.close()
    qtbot.waitUntil(lambda: not _alive(pid), timeout=5_000)
    assert load_settings().share_voice is True

    again = make_window(speaker=False)          # the same bank: Ada is there already
    switch = again.speak_page.service_switch
    assert switch.check.isChecked() and switch.running
    qtbot.waitUntil(lambda: _on(switch), timeout=10_000)
    switch.check.click()
    assert load_settings().share_voice is False


def test_it_says_starting_until_the_voice_is_loaded_and_answering(qtbot, tmp_path):
    """The service listens at once but its engine is "starting" (loading the voice) for 2 s:
    the switch says so, and says "On" only once /health is ready and /voices answered."""
    switch, _ = _switch(qtbot, tmp_path, _stand_in(tmp_path, 2.0))
    switch.check.click()
    qtbot.waitUntil(lambda: switch.port is not None, timeout=10_000)
    assert switch.state_label.text() == LOADING and not switch.answering
    qtbot.wait(1000)                            # still loading: asked again, not "On" yet
    assert switch.state_label.text() == LOADING and not switch.answering
    qtbot.waitUntil(lambda: _on(switch), timeout=10_000)
    assert switch.answering
    switch.check.click()
    assert switch.state_label.text() == "Off." and not switch.answering


def test_a_service_that_refuses_the_token_is_never_on(qtbot, tmp_path):
    """A service that does not take this user's token (401) does not answer them: not "On"."""
    switch, _ = _switch(qtbot, tmp_path, _stand_in(tmp_path, 0.0, "another-token"))
    switch.check.click()
    qtbot.waitUntil(lambda: switch.port is not None, timeout=10_000)
    qtbot.wait(1500)                            # several polls, each refused
    assert switch.state_label.text() == LOADING and not switch.answering
    switch.check.click()
    assert switch.state_label.text() == "Off."
