"""Loads the chosen voice in the Speak page's worker before the first sentence needs it.

Loading a voice (four models, the CPU fast paths, a warm-up) and preparing its reference takes
~10 s on a 2-core machine; without this the person's first sentence of the day waited for all of
it. The worker runs jobs in order, so a `speak` sent while the voice is still loading simply
follows the `prepare_voice` job; nothing is lost by preloading a voice that is then not used
(the worker keeps one voice in memory at a time).
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from core.speak.voices import SpeakVoice


class VoicePreloader(QObject):
    # the chosen voice in the worker, on each change: "loading", "ready", "failed" (with the
    # worker's message) or "unknown" (no voice, or its files are missing)
    state = Signal(str, str)
    details = Signal(dict)      # the loaded voice's fast paths and their checks (`fast_paths` status)

    def __init__(self, client: Callable[[], object], parent: QObject | None = None):
        """`client`: gives the page's worker client (started on first use)."""
        super().__init__(parent)
        self._client = client
        self._worker = None
        self.job: str | None = None
        self.loaded: str | None = None      # key of the voice the worker has ready
        self._loading: str | None = None
        self._wanted: SpeakVoice | None = None   # chosen while another was loading: loaded next
        self._failures: dict[str, str] = {}      # key -> message; not asked again on every setting change
        self._said: tuple[str, str] | None = None   # the state last announced, for its voice

    @staticmethod
    def key(voice: SpeakVoice) -> str:
        p = voice.job_params()
        return "|".join(str(p.get(k)) for k in ("gpt", "sovits", "reference", "reference_text"))

    def preload(self, voice: SpeakVoice | None, retry: bool = False) -> bool:
        """Ask the worker to load `voice` unless it is loaded or loading (one chosen meanwhile is
        loaded after the current one) or failed already (unless `retry`); True if asked now."""
        if self.job is not None:
            self._wanted = voice
            return False
        if voice is None or voice.missing():
            self._announce("unknown", "", "")
            return False
        key = self.key(voice)
        if self.loaded == key:
            self._announce("ready", "", key)
            return False
        if key in self._failures and not retry:
            self._announce("failed", self._failures[key], key)
            return False
        worker = self._client()
        if worker is not self._worker:
            self._worker = worker
            worker.result.connect(self._on_result)
            worker.failed.connect(self._on_failed)
            worker.cancelled.connect(self._on_cancelled)
            worker.died.connect(self._on_died)
        self._loading = key
        self._failures.pop(key, None)
        self.job = worker.submit("prepare_voice", voice.job_params())
        self._announce("loading", "", key)
        return True

    def _announce(self, state: str, message: str, key: str) -> None:
        if self._said != (state, key):
            self._said = (state, key)
            self.state.emit(state, message)

    def _on_result(self, job: str, data: dict) -> None:
        if job == self.job:
            self.job, self.loaded = None, self._loading
            if isinstance(data.get("fast_paths"), dict):
                self.details.emit(data["fast_paths"])
            if not self._next():
                self._announce("ready", "", self.loaded or "")

    def _on_failed(self, job: str, message: str) -> None:
        if job == self.job:
            self.job = None
            self._failures[self._loading or ""] = message
            if not self._next():
                self._announce("failed", message, self._loading or "")

    def _on_cancelled(self, job: str) -> None:
        if job == self.job:
            self.job = None
            if not self._next():
                self._announce("unknown", "", "")

    def _next(self) -> bool:
        """Load the voice chosen while another was loading; True when something was announced."""
        if self._wanted is None:
            return False
        wanted, self._wanted = self._wanted, None
        self.preload(wanted)
        return True

    def _on_died(self, _message: str) -> None:
        self.job, self.loaded = None, None      # a new worker starts empty
