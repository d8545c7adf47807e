"""Page 6: say what you type, in your own voice.

What a text becomes is core.speak.utterance's decision: the user's own recording of it, a saved
phrase's cached audio, or a `speak` job for a worker of its own (so speaking never waits behind a
build) whose sentences play as soon as the worker announces each (`chunk`), in order. All that is
said goes into the history with its audio, to replay or save as a file. Never imports torch.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QAbstractSpinBox, QFileDialog, QHBoxLayout, QLabel, QPlainTextEdit,
                               QVBoxLayout, QWidget)

from core.diskspace import DiskFullError
from core.speak.export import ExportError, export_audio, suggested_name, with_default_suffix
from core.speak.history import History, Said
from core.speak.phrases import Phrase, PhraseBook
from core.speak.prefs import load_prefs, save_prefs
from core.speak.utterance import Utterance, is_saved_phrase, keep_said, plan_utterance
from core.speak.voices import SpeakVoice, speak_voices
from desktop.context import AppContext
from desktop.dictionary_dialog import DictionaryDialog
from desktop.speak_player import PlayQueue
from desktop.voice_actions import VoiceActionsBar
from desktop.voice_preload import VoicePreloader
from desktop.speak_widgets import HistoryBox, PhrasesBox, SpeakSettings, SpeedChecks, button
from desktop.widgets import Banner, heading, note

KEY_HELP = ("Ctrl+Enter: speak    Esc: stop    Alt+1 to Alt+9: say a saved phrase    Ctrl+S: save as a "
            "file    Ctrl+D: pronunciations    Ctrl+= and Ctrl+-: bigger or smaller text")
DEFAULT_TEXT_PT, MIN_TEXT_PT, MAX_TEXT_PT = 24, 12, 60
CANCEL_KILL_MS = 30_000         # a sentence on the CPU can take a while; killing means reloading
FOCUS_STYLE = ("QPlainTextEdit:focus, QAbstractSpinBox:focus, QSlider:focus "
               "{ border: 3px solid #0b57d0; }")
EXPORT_FILTER = "WAV sound (*.wav);;FLAC sound (*.flac);;OGG sound (*.ogg)"
DIGITS = {getattr(Qt, f"Key_{n}"): n for n in range(1, 10)}


class SpeakPage(QWidget):
    def __init__(self, context: AppContext, worker=None, player=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.worker = None
        self.voices: list[SpeakVoice] = []
        self.phrase_book: PhraseBook | None = None
        self.history: History | None = None
        self.dictionary_dialog: DictionaryDialog | None = None
        self.job: str | None = None
        # the running job's utterance, and where to keep it (the speaker may change meanwhile)
        self.job_info: tuple[Utterance, History, PhraseBook] | None = None
        self._stopping = False
        self.queue = PlayQueue(player, self)
        self.queue.error.connect(lambda text: self.banner.show_message(text, "warning"))
        self.queue.idle.connect(self._update_buttons)
        if worker is not None:
            self.set_worker(worker)
        self.setStyleSheet(FOCUS_STYLE)

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Speak"))
        self.banner = Banner()
        layout.addWidget(self.banner)
        text_label = QLabel("&Type what you want to say:")
        self.text_edit = QPlainTextEdit()
        self.text_edit.setAccessibleName("Text to say")
        self.text_edit.setAccessibleDescription("Press Ctrl+Enter to say it")
        self.text_edit.setPlaceholderText("Type here, then press Ctrl+Enter to say it.")
        self.text_edit.setTabChangesFocus(True)
        text_label.setBuddy(self.text_edit)
        layout.addWidget(text_label)
        layout.addWidget(self.text_edit, 2)

        actions = QHBoxLayout()
        self.speak_button = button("Speak (Ctrl+Enter)", "Speak the text", self.speak)
        self.stop_button = button("Stop (Esc)", "Stop speaking", self.stop)
        self.dictionary_button = button("Pro&nunciations… (Ctrl+D)", "Pronunciations of names and places",
                                        self.open_dictionary)
        self.speed_checks = SpeedChecks()      # details: the fast paths this computer runs
        for widget in (self.speak_button, self.stop_button, self.dictionary_button, self.speed_checks.button):
            actions.addWidget(widget)
        actions.addStretch(1)
        layout.addLayout(actions)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("What is happening")
        layout.addWidget(self.status_label)
        layout.addWidget(self.speed_checks.text)

        self.settings = SpeakSettings(MIN_TEXT_PT, MAX_TEXT_PT)
        self.voice_combo, self.speed_spin = self.settings.voice_combo, self.settings.speed_spin
        self.volume_slider, self.volume_label = self.settings.volume_slider, self.settings.volume_label
        self.size_spin = self.settings.size_spin
        self.volume_slider.valueChanged.connect(self._volume_changed)
        self.size_spin.valueChanged.connect(self._apply_text_size)
        layout.addWidget(self.settings)
        self.voice_actions = VoiceActionsBar(lambda: self.context.speaker,
                                             lambda: (v.folder if (v := self.current_voice()) else None), self)
        self.voice_actions.changed.connect(self.refresh)
        self.voice_actions.message.connect(self.banner.show_message)
        layout.addWidget(self.voice_actions)

        boxes = QHBoxLayout()
        self.phrases_box = PhrasesBox()
        self.phrases_box.say.connect(self.say_phrase)
        self.phrases_box.add_clicked.connect(self.add_phrase)
        self.phrases_box.message.connect(self.banner.show_message)
        self.history_box = HistoryBox()
        self.history_box.replay.connect(self.replay)
        self.history_box.export_clicked.connect(self.export)
        boxes.addWidget(self.phrases_box, 1)
        boxes.addWidget(self.history_box, 1)
        layout.addLayout(boxes, 3)
        help_label = note(KEY_HELP)
        help_label.setAccessibleName("Keyboard keys")
        layout.addWidget(help_label)
        self.size_spin.setValue(DEFAULT_TEXT_PT)
        self._apply_text_size(DEFAULT_TEXT_PT)
        self._prefs_folder: Path | None = None
        self.settings.changed.connect(self._save_prefs)
        self.preloader = VoicePreloader(self._client, self)     # the voice loads while they type
        self.preloader.status.connect(lambda text: None if self.busy else self._set_status(text))
        self.preloader.failed.connect(lambda message: self.banner.show_message(
            f"Your voice could not be loaded: {message}", "warning"))
        self.preloader.details.connect(self.speed_checks.set_status)
        self.settings.changed.connect(lambda: self.isVisible() and self.preloader.preload(self.current_voice()))
        context.speaker_changed.connect(lambda _s: self.refresh())
        self.refresh()

    # the worker ----------------------------------------------------------------------------
    def set_worker(self, worker) -> None:
        self.worker = worker
        worker.progress.connect(self._on_progress)
        worker.result.connect(self._on_result)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)

    def _client(self):
        if self.worker is None:
            from desktop.worker_client import WorkerClient
            self.set_worker(WorkerClient(self))
        return self.worker

    def shutdown(self) -> None:
        self.queue.stop(quiet=True)
        if self.worker is not None:
            self.worker.shutdown(wait=True)

    @property
    def busy(self) -> bool:
        return self.job is not None or self.queue.playing or bool(self.queue.waiting)

    # refresh -------------------------------------------------------------------------------
    def page_shown(self) -> None:
        self.refresh()
        self.text_edit.setFocus()
        self.preloader.preload(self.current_voice(), retry=True)

    def refresh(self) -> None:
        speaker = self.context.speaker
        folder = Path(speaker.folder) if speaker is not None else None
        self.phrase_book = PhraseBook(folder) if folder else None
        self.history = History(folder) if folder else None
        self.phrases_box.set_book(self.phrase_book)
        self.history_box.set_history(self.history)
        chosen = self.current_voice()
        try:
            self.voices = speak_voices(speaker) if speaker is not None else []
        except OSError as exc:
            self.voices = []
            self.banner.show_message(f"The voices could not be read ({exc}).", "error")
        ids = [v.id for v in self.voices]
        self.voice_combo.blockSignals(True)     # filling the list is not the user choosing
        self.voice_combo.clear()
        for voice in self.voices:
            self.voice_combo.addItem(voice.label)
        if chosen is not None:
            self.voice_combo.setCurrentIndex(ids.index(chosen.id) if chosen.id in ids else 0)
        self.voice_combo.blockSignals(False)
        if folder != self._prefs_folder:        # another speaker: their remembered choices
            self._prefs_folder = folder
            if folder is not None:
                self.settings.set_prefs(load_prefs(folder), ids)
        if speaker is None:
            self._set_status("Choose a speaker first (Ctrl+1).")
        elif not self.voices:
            self._set_status("There is no voice yet: build one on the Build page (Ctrl+5). Your own "
                             "recorded messages can be played already.")
        elif not self.busy:
            self._set_status("Ready. Type, then press Ctrl+Enter.")
        self._update_buttons()

    def _save_prefs(self) -> None:
        if self._prefs_folder is None:
            return
        voice = self.current_voice()
        try:
            save_prefs(self._prefs_folder, self.settings.prefs(voice.id if voice else None))
        except DiskFullError as exc:
            self.banner.show_message(f"{exc} They still apply until the app closes.", "warning")
        except OSError as exc:
            self.banner.show_message(f"Your choices could not be remembered ({exc.strerror}); "
                                     "they still apply until the app closes.", "warning")

    def current_voice(self) -> SpeakVoice | None:
        index = self.voice_combo.currentIndex()
        return self.voices[index] if 0 <= index < len(self.voices) else None

    def _update_buttons(self) -> None:
        self.dictionary_button.setEnabled(self.context.speaker is not None)

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setAccessibleDescription(text)

    def _volume_changed(self, value: int) -> None:
        self.queue.volume = value / 100.0
        self.volume_label.setText(f"{value}%")
        self.volume_slider.setAccessibleDescription(f"{value}%")

    def _apply_text_size(self, points: int) -> None:
        for widget in (self.text_edit, self.phrases_box.list, self.history_box.list):
            widget.setStyleSheet(f"font-size: {points}pt;")

    def change_text_size(self, step: int) -> None:
        self.size_spin.setValue(self.size_spin.value() + step)

    # speaking ------------------------------------------------------------------------------
    def speak(self) -> None:
        text = self.text_edit.toPlainText().strip()
        if not text:
            self.banner.show_message("Type what you want to say first, then press Ctrl+Enter.", "warning")
            self.text_edit.setFocus()
            return
        self.say(text)

    def say_phrase(self, phrase: Phrase) -> None:
        self.say(phrase.text)

    def say_phrase_number(self, number: int) -> None:
        phrase = self.phrases_box.phrase_at(number - 1)
        if phrase is None:
            self.banner.show_message(f"There is no saved phrase {number}. Type it, then press "
                                     "“Add text as phrase” (Alt+A).", "warning")
            return
        self.phrases_box.list.setCurrentRow(number - 1)
        self.say(phrase.text)

    def say(self, text: str) -> None:
        speaker = self.context.speaker
        if speaker is None or self.history is None or self.phrase_book is None:
            self.banner.show_message("Choose a speaker first: press Ctrl+1.", "warning")
            return
        self.stop(quiet=True)
        self.banner.clear_message()
        plan = plan_utterance(speaker, text, self.current_voice(), self.speed_spin.value(),
                              is_saved_phrase(text, self.phrases_box.phrases), self.phrase_book, self.history)
        if plan.kind == "problem":
            self.banner.show_message(plan.message, plan.severity)
            return
        if plan.kind == "job":
            self.job_info, self._stopping = (plan, self.history, self.phrase_book), False
            self.queue.start_utterance()
            self.job = self._client().submit("speak", plan.params)
        else:
            self.queue.play_now([plan.audio])
            self._keep(plan, plan.audio, self.history, self.phrase_book,
                       "It was played but could not be added to “What was said”")
        self._set_status(plan.status)
        self._update_buttons()

    def _keep(self, plan: Utterance, audio: Path, history: History, book: PhraseBook, failed: str) -> None:
        try:
            keep_said(plan, audio, history, book)
        except DiskFullError as exc:      # says what could not be kept and what to do
            self.banner.show_message(str(exc), "warning")
        except OSError as exc:
            self.banner.show_message(f"{failed} ({exc}).", "warning")
        self.history_box.refresh()

    def stop(self, quiet: bool = False) -> None:
        if self.job is not None and not self._stopping:
            self._stopping = True
            self.worker.cancel(self.job, kill_after_ms=CANCEL_KILL_MS)
        self.queue.stop(quiet=True)
        if not quiet:
            self._set_status("Stopped.")

    def replay(self, said: Said) -> None:
        if not said.audio_path.is_file():
            self.banner.show_message("The sound of that one is no longer on the disk; say it again.", "warning")
            return
        self.stop(quiet=True)
        self.queue.play_now([said.audio_path])
        self._set_status(f"Playing again: “{said.text}”")

    def add_phrase(self) -> None:
        self.phrases_box.add(self.text_edit.toPlainText())

    # worker events -------------------------------------------------------------------------
    def _on_progress(self, job: str, event: dict) -> None:
        if job != self.job or self._stopping:
            return
        stage, step, total = event.get("stage"), int(event.get("step") or 0), int(event.get("total") or 0)
        if stage == "load":
            self._set_status("Loading the voice (the first time takes a while)…")
        elif stage == "speak":
            self._set_status(f"Saying sentence {step} of {total}…")
            if event.get("chunk"):
                self.queue.add_chunk(step, Path(event["chunk"]))

    def _on_result(self, job: str, data: dict) -> None:
        if job != self.job:
            return
        (plan, history, book), stopped = self.job_info, self._stopping
        self.job, self._stopping = None, False
        out = Path(data.get("out") or plan.audio)
        if not stopped and not self.queue.chunks_queued:
            self.queue.enqueue(out)             # no sentence was announced: play the whole
        self._keep(plan, out, history, book, "It was said but could not be kept")
        if not stopped:
            self._set_status(f"Said: “{plan.text}”")
        for note_text in data.get("notes") or []:
            self.banner.show_message(str(note_text), "info")
        if isinstance(data.get("fast_paths"), dict):
            self.speed_checks.set_status(data["fast_paths"])
        self._update_buttons()

    def _on_failed(self, job: str, message: str) -> None:
        if job == self.job:
            self.banner.show_message(f"It could not be said: {message}", "error")
        self._job_ended(job, "Stopped with a problem (see the message above).")

    def _on_cancelled(self, job: str) -> None:
        self._job_ended(job, "Stopped.")

    def _job_ended(self, job: str, status: str) -> None:
        if job == self.job:
            self.job, self._stopping = None, False
            self._set_status(status)
            self._update_buttons()

    # export and dictionary -----------------------------------------------------------------
    def choose_export_path(self, suggested: Path) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Save what was said", str(suggested), EXPORT_FILTER)
        return path

    def export(self) -> None:
        said = self.history_box.current() or self.history_box.latest()
        if said is None:
            self.banner.show_message("Nothing has been said yet, so there is nothing to save.", "warning")
            return
        chosen = self.choose_export_path(Path.home() / suggested_name(said.text))
        if not chosen:
            return
        out = with_default_suffix(Path(chosen))
        try:
            export_audio([said.audio_path], out)
        except ExportError as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.banner.show_message(f"Saved “{said.text}” as {out}.", "ok")

    def open_dictionary(self) -> None:
        if self.context.speaker is None:
            self.banner.show_message("Choose a speaker first: press Ctrl+1.", "warning")
            return
        dialog = DictionaryDialog(Path(self.context.speaker.folder), self)
        dialog.changed.connect(self._dictionary_changed)
        dialog.finished.connect(lambda _r: self.text_edit.setFocus())
        self.dictionary_dialog = dialog
        dialog.open()

    def _dictionary_changed(self) -> None:
        if self.phrase_book is not None:
            self.phrase_book.clear_cache()      # phrases are made again with the new words

    # keys ----------------------------------------------------------------------------------
    def handle_key(self, event: QKeyEvent) -> bool:
        mods = event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.ShiftModifier | Qt.MetaModifier)
        key = event.key()
        if key in (Qt.Key_Return, Qt.Key_Enter) and mods & Qt.ControlModifier:
            self.speak()
            return True
        if key == Qt.Key_Escape and not mods and self.busy:
            self.stop()
            return True
        if mods & Qt.ControlModifier and not mods & Qt.AltModifier:
            action = {Qt.Key_S: self.export, Qt.Key_D: self.open_dictionary,
                      Qt.Key_Equal: lambda: self.change_text_size(2), Qt.Key_Plus: lambda: self.change_text_size(2),
                      Qt.Key_Minus: lambda: self.change_text_size(-2)}.get(key)
            if action is not None:
                action()
                return True
            return False
        if mods == Qt.AltModifier and key in DIGITS:
            self.say_phrase_number(DIGITS[key])
            return True
        focus = self.window().focusWidget()
        if focus is self.phrases_box.list and self.phrases_box.handle_list_key(event):
            return True
        if not mods and key in DIGITS and not isinstance(focus, (QPlainTextEdit, QAbstractSpinBox)):
            self.say_phrase_number(DIGITS[key])
            return True
        return False
