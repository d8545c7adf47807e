"""The Speak page's banner and status line, both drawn from one state (core.speak.page_state)."""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from core.speak.page_state import Message, SpeakState
from desktop.widgets import Banner


class SpeakStatus(QObject):
    """Every change goes through here; the banner and the status line are then drawn again."""

    def __init__(self, banner: Banner, label: QLabel, parent: QObject | None = None):
        super().__init__(parent)
        self.banner, self.label = banner, label
        self.state = SpeakState()
        self._shown: Message | None = None      # the message the banner was last given

    def render(self) -> None:
        message = self.state.message
        if message is not self._shown:          # a message closed by hand is not shown again
            if message is None:
                self.banner.clear_message()
            else:
                self.banner.show_message(message.text, message.kind)
            self._shown = message
        text = self.state.status()
        self.label.setText(text)
        self.label.setAccessibleDescription(text)

    def show(self, text: str, kind: str = "info", about: str = "other") -> None:
        self.state.show(text, kind, about)
        self.render()

    def clear_message(self) -> None:
        self.state.clear_message()
        self.render()

    def started(self, words: str) -> None:
        self.state.started(words)
        self.render()

    def finished(self, words: str) -> None:
        self.state.finished(words)
        self.render()

    def not_said(self, message: str) -> None:
        self.state.not_said(message)
        self.render()

    def voice(self, state: str, message: str = "") -> None:
        """The preloader's news about the chosen voice."""
        if state == "loading":
            self.state.voice_loading()
        elif state == "ready":
            self.state.voice_ready()
        elif state == "failed":
            self.state.voice_failed(message)
        else:
            self.state.voice_unknown()
        self.render()
