"""Runs the quality check + RNNoise cleanup of a take off the GUI thread (it takes ~0.5-1 s)."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from core.bank.store import Speaker, Take


class TakeChecker(QObject):
    """`check(speaker, take)` returns at once; `done(take, error_text)` arrives on the GUI thread."""

    done = Signal(object, object)      # Take, str | None

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._threads: list[threading.Thread] = []

    @property
    def busy(self) -> bool:
        self._threads = [t for t in self._threads if t.is_alive()]
        return bool(self._threads)

    def check(self, speaker: Speaker, take: Take) -> None:
        thread = threading.Thread(target=self._run, args=(speaker, take), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, speaker: Speaker, take: Take) -> None:
        try:
            # imported here: scipy/pyloudnorm/RNNoise would slow down the app's start
            from core.bank.process import process_take
            checked = process_take(speaker, take)
            self.done.emit(checked, None)
        except ImportError as exc:
            self.done.emit(take, f"The quality check is not installed ({exc}). "
                                 "The take is saved; reinstall the app to check it.")
        except Exception as exc:  # never lose the take over a failed check
            self.done.emit(take, f"The take is saved, but checking it failed ({exc}). "
                                 "You can keep going; press R to record it again if unsure.")

    def wait(self, timeout_s: float = 10.0) -> None:
        for thread in list(self._threads):
            thread.join(timeout_s)
