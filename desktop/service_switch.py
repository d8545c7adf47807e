"""The Speak page's switch "Let other programs on this computer use my voice".

Ticked, it runs `voicebank serve` for the chosen speaker as a child process (QProcess, as
desktop/voice_actions.py runs `voicebank voice import`); unticked, or when the app closes, the
child is stopped. One line under it says what is happening: "Starting…" until the service
listens, then "Starting: loading your voice…" until it answers as a program would (GET /health
says the engine, which loads the default voice first, is ready, then GET /voices answers, both
with the token), and only then "On". When the service cannot start (for example one is running
already) its own one-line reason is shown and the box is left unticked.
`command` is an attribute (speaker -> program, arguments) so tests can run a stand-in.
`changed(bool)` says the person's choice changed, for the app to remember (core.settings).
"""
from __future__ import annotations

import json
import re

from PySide6.QtCore import QByteArray, QProcess, QTimer, QUrl, Signal
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkProxy, QNetworkReply, QNetworkRequest
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from core.speak.page_state import app_words
from desktop.voice_actions import voice_command

STOP_WAIT_MS = 10_000           # the service stops its engine first; then it is killed
POLL_MS = 300                   # how often a listening service is asked whether it answers yet
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
OFF = "Off."
STARTING = "Starting…"
LOADING = "Starting: loading your voice…"


def serve_command(speaker) -> tuple[str, list[str]]:
    from pathlib import Path
    return voice_command(["--bank", str(Path(speaker.folder).parent), "serve", "--speaker", speaker.id])


class ServiceSwitch(QWidget):
    changed = Signal(bool)          # the person turned it on or off (or it could not start)

    def __init__(self, context, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.command = serve_command
        self.process: QProcess | None = None
        self.port: int | None = None
        self.answering = False          # the service answered /health (ready) and /voices
        self._net = QNetworkAccessManager(self)
        self._net.setProxy(QNetworkProxy(QNetworkProxy.NoProxy))   # 127.0.0.1, never a proxy
        self._reply: QNetworkReply | None = None
        self._poll = QTimer(self)
        self._poll.setSingleShot(True)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(lambda: self._ask("/health"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox("Let other programs on this computer &use my voice")
        self.check.setAccessibleName("Let other programs on this computer use my voice")
        self.check.setAccessibleDescription("Screen readers and other programs here can speak in "
                                            "your voice while this is ticked")
        self.state_label = QLabel(OFF)
        self.state_label.setWordWrap(True)
        self.state_label.setAccessibleName("Voice for other programs")
        layout.addWidget(self.check)
        layout.addWidget(self.state_label)
        self.check.toggled.connect(self._toggled)
        context.speaker_changed.connect(self._speaker_changed)

    @property
    def running(self) -> bool:
        return self.process is not None

    def set_on(self, on: bool) -> None:
        """Tick or untick it as the person would (the app, at start, from the remembered choice)."""
        self.check.setChecked(on)

    def _show(self, text: str) -> None:
        self.state_label.setText(text)

    def _toggled(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()
        self.changed.emit(on)

    def _untick(self, text: str) -> None:
        self.check.blockSignals(True)
        self.check.setChecked(False)
        self.check.blockSignals(False)
        self._show(text)
        self.changed.emit(False)

    def _speaker_changed(self, _speaker) -> None:
        if self.check.isChecked():          # the service speaks for the chosen speaker
            self.stop(wait=True)
            self.start()

    def start(self) -> None:
        if self.process is not None:
            return
        speaker = self.context.speaker
        if speaker is None:
            self._untick("Off: choose a speaker first (Speaker page); the service speaks in their voice.")
            return
        program, args = self.command(speaker)
        self.process = process = QProcess(self)
        process.readyReadStandardOutput.connect(lambda: self._read(process))
        process.finished.connect(lambda code, _status: self._finished(process, code))
        process.errorOccurred.connect(lambda error: self._error(process, error))
        self.port, self.answering = None, False
        self._show(STARTING)
        process.start(program, args)

    def _read(self, process: QProcess) -> None:
        text = bytes(process.readAllStandardOutput()).decode("utf-8", "replace")
        found = LISTENING.search(text)
        if found and process is self.process and self.port is None:
            self.port = int(found.group(1))
            self._show(LOADING)
            self._ask("/health")

    # ---- is it answering? ----------------------------------------------------------------------

    def _ask(self, path: str) -> None:
        """GET `path` from the listening service, as another program would (with the token)."""
        if self.process is None or self.port is None:
            return
        from core.service.security import token_path

        try:
            token = token_path().read_text(encoding="ascii").strip()
        except (OSError, ValueError):       # not written yet (or being rewritten): ask again shortly
            self._poll.start()
            return
        request = QNetworkRequest(QUrl(f"http://127.0.0.1:{self.port}{path}"))
        request.setRawHeader(QByteArray(b"Authorization"), QByteArray(f"Bearer {token}".encode("ascii")))
        request.setTransferTimeout(5000)
        reply = self._reply = self._net.get(request)
        reply.finished.connect(lambda: self._answered(reply, path))

    def _answered(self, reply: QNetworkReply, path: str) -> None:
        reply.deleteLater()
        if reply is not self._reply or self.process is None:
            return                          # stopped meanwhile
        self._reply = None
        body = None
        if reply.error() == QNetworkReply.NoError:
            try:
                body = json.loads(bytes(reply.readAll()).decode("utf-8"))
            except ValueError:
                body = None
        if path == "/health" and isinstance(body, dict) and body.get("engine") == "ready":
            self._ask("/voices")
        elif path == "/voices" and isinstance(body, dict) and "voices" in body:
            self.answering = True
            self._show(f"On: programs on this computer can use your voice (port {self.port}).")
        else:                               # not yet (loading the voice, or not answering yet)
            self._poll.start()

    def _quiet(self) -> None:
        """Stop asking (the service stopped or is being stopped)."""
        self._poll.stop()
        reply, self._reply = self._reply, None
        if reply is not None:
            reply.abort()

    def _error(self, process: QProcess, error) -> None:
        if error == QProcess.FailedToStart and process is self.process:
            self.process = None
            process.deleteLater()
            self._untick(f"Off: the service could not be started ({process.errorString()}).")

    def _finished(self, process: QProcess, code: int) -> None:
        if process is not self.process:
            return                          # stopped on purpose: stop() said so already
        err = bytes(process.readAllStandardError()).decode("utf-8", "replace").strip()
        self.process, self.port, self.answering = None, None, False
        self._quiet()
        process.deleteLater()
        lines = [line for line in err.splitlines() if line.startswith("voicebank serve: ")] or err.splitlines()
        why = app_words(lines[-1].removeprefix("voicebank serve: ")) if lines else ""
        why = why[:1].upper() + why[1:]
        self._untick(f"Off. {why}" if why else f"Off: the service stopped (exit status {code}).")

    def stop(self, wait: bool = False) -> None:
        """Ask the service to stop (it stops its engine first); killed if it has not in STOP_WAIT_MS.
        `wait`: return only once it is gone (the app closing)."""
        process, self.process, self.port, self.answering = self.process, None, None, False
        self._quiet()
        self._show(OFF)
        if process is None or process.state() == QProcess.NotRunning:
            return
        process.finished.connect(process.deleteLater)
        process.terminate()
        if wait:
            if not process.waitForFinished(STOP_WAIT_MS):
                process.kill()
                process.waitForFinished(2000)
        else:
            QTimer.singleShot(STOP_WAIT_MS, process, process.kill)     # cancelled once it is gone

    def shutdown(self) -> None:
        """The app closes: the service goes with it (the choice stays remembered)."""
        self.stop(wait=True)
