"""Runs the quality check + RNNoise cleanup of a take off the GUI thread (it takes ~0.5-1 s)."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from core.bank.store import Speaker, Take
from core.diskspace import DiskFullError


class TakeChecker(QObject):
    """`check(speaker, take)` returns at once; `done(take, error_text)` arrives on the GUI thread."""

    done = Signal(object, object)      # Take, str | None
    rechecked = Signal(object)         # RecheckSummary, when recheck_bank has gone through the bank

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

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
        except DiskFullError as exc:
            # the take is kept (and, when only the cleaned copy failed, checked: process_take
            # filled it in); the message says what could not be written and what to do
            self.done.emit(take, str(exc))
        except ImportError as exc:
            self.done.emit(take, f"The quality check is not installed ({exc}). "
                                 "The take is saved; reinstall the app to check it.")
        except Exception as exc:  # never lose the take over a failed check
            self.done.emit(take, f"The take is saved, but checking it failed ({exc}). "
                                 "You can keep going; press R to record it again if unsure.")

    def recheck_bank(self, bank, before: float | None = None) -> None:
        """At start: check again, one by one in one background thread, the takes a crash left
        without a grade or cleaned copy (core.bank.process.recheck_ungraded). Each arrives as
        `done`, then `rechecked` with the summary. Returns at once."""
        if self._stop.is_set():
            return                  # the window has closed meanwhile
        thread = threading.Thread(target=self._recheck, args=(bank, before), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _recheck(self, bank, before: float | None) -> None:
        try:
            from core.bank.process import recheck_ungraded
            summary = recheck_ungraded(bank, before=before, on_done=self.done.emit,
                                       should_stop=self._stop.is_set)
        except Exception as exc:  # the bank could not be read: the takes stay as they are
            try:
                from core.bank.process import RecheckSummary
            except ImportError:     # the check itself is not installed: nothing to report with
                return
            summary = RecheckSummary(failed=[(None, str(exc) or type(exc).__name__)])
        try:
            self.rechecked.emit(summary)
        except RuntimeError:        # the window closed and took this object with it
            pass

    def stop(self) -> None:
        """Ask a running recheck to stop after the take it is on (the app is closing)."""
        self._stop.set()

    def wait(self, timeout_s: float = 10.0) -> None:
        for thread in list(self._threads):
            thread.join(timeout_s)
