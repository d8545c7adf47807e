"""Page 6: say what you type, in your own voice.

What a text becomes is core.speak.utterance's decision: the user's own recording of it, a saved
phrase's cached audio, or a `speak` job for a worker of its own (so speaking never waits behind a
build) whose sentences play as soon as the worker announces each (`chunk`), in order. All that is
said goes into the history with its audio, to replay or save as a file. The banner and the
status line are drawn from one state (desktop/speak_status.py): every message goes through
`notify`. Never imports torch.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from core.diskspace import DiskFullError
from core.speak.export import ExportError, export_audio, suggested_name, with_default_suffix
from core.speak.history import History, Said
from core.speak.phrases import Phrase, PhraseBook
from core.speak.messages import message_recordings
from core.speak.prefs import load_prefs, save_prefs
from core.speak.readings import readings_to_keep
from core.speak.utterance import Utterance, is_saved_phrase, keep_said, plan_utterance
from core.speak.voices import SpeakVoice, speak_voices
from desktop.context import AppContext
from desktop.dictionary_dialog import DictionaryDialog
from desktop.flow_layout import ColumnsLayout, FlowLayout
from desktop.reading_view import ReadingView
from desktop.speak_keys import handle_speak_key
from desktop.speak_player import PlayQueue
from desktop.speak_status import SpeakStatus
from desktop.service_switch import ServiceSwitch
from desktop.voice_actions import VoiceActionsBar
from desktop.voice_preload import VoicePreloader
from desktop.speak_widgets import (HistoryBox, PhrasesBox, SpeakSettings, SpeedChecks, button,
                                   set_list_text_size)
from desktop.widgets import Banner, heading, note, set_available

KEY_HELP = ("{key}: speak    Esc: stop    Alt+1 to Alt+9: say a saved phrase    Ctrl+S: save as a "
            "file    Ctrl+D: pronunciations    Ctrl+R: how it will be read    Ctrl+= and Ctrl+-: "
            "bigger or smaller text")
DEFAULT_TEXT_PT, MIN_TEXT_PT, MAX_TEXT_PT = 24, 12, 60
CANCEL_KILL_MS = 30_000         # a sentence on the CPU can take a while; killing means reloading
FOCUS_STYLE = ("QPlainTextEdit:focus, QAbstractSpinBox:focus, QSlider:focus "
               "{ border: 3px solid #0b57d0; }")
EXPORT_FILTER = "WAV sound (*.wav);;FLAC sound (*.flac);;OGG sound (*.ogg)"


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
        self.queue.error.connect(lambda text: self.notify(text, "warning", "said"))
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
        self.text_edit.setTabChangesFocus(True)
        text_label.setBuddy(self.text_edit)
        layout.addWidget(text_label)
        layout.addWidget(self.text_edit, 2)

        actions = FlowLayout()          # wraps rather than widening the page
        self.speak_button = button("Speak", "Speak the text", self.speak)
        self.stop_button = button("Stop (Esc)", "Stop speaking", self.stop)
        self.dictionary_button = button("Pro&nunciations… (Ctrl+D)", "Pronunciations of names and places",
                                        self.open_dictionary)
        self.reading_button = button("How it will &be read (Ctrl+R)", "How it will be read", self.toggle_reading)
        self.reading_button.setCheckable(True)
        self.speed_checks = SpeedChecks()      # details: the fast paths this computer runs
        for widget in (self.speak_button, self.stop_button, self.dictionary_button, self.reading_button,
                       self.speed_checks.button):
            actions.addWidget(widget)
        layout.addLayout(actions)
        self.reading_view = ReadingView(self._reading_source)
        self.reading_view.setVisible(False)
        self.reading_view.message.connect(self.notify)
        self.reading_view.dictionary_changed.connect(self._dictionary_changed)
        self.text_edit.textChanged.connect(self.reading_view.schedule)
        layout.addWidget(self.reading_view)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("What is happening")
        self.status = SpeakStatus(self.banner, self.status_label, self)
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
        self.voice_actions.message.connect(self.notify)
        layout.addWidget(self.voice_actions)
        self.service_switch = ServiceSwitch(context, self)      # other programs may use the voice
        layout.addWidget(self.service_switch)

        boxes = ColumnsLayout()         # side by side, or one under the other when narrow
        self.phrases_box = PhrasesBox()
        self.phrases_box.say.connect(self.say_phrase)
        self.phrases_box.add_clicked.connect(self.add_phrase)
        self.phrases_box.message.connect(self.notify)
        self.history_box = HistoryBox()
        self.history_box.replay.connect(self.replay)
        self.history_box.export_clicked.connect(self.export)
        boxes.addWidget(self.phrases_box)
        boxes.addWidget(self.history_box)
        layout.addLayout(boxes, 3)
        self.help_label = note("")
        self.help_label.setAccessibleName("Keyboard keys")
        layout.addWidget(self.help_label)
        self.size_spin.setValue(DEFAULT_TEXT_PT)
        self._apply_text_size(DEFAULT_TEXT_PT)
        self._prefs_folder: Path | None = None
        self.settings.changed.connect(self._save_prefs)
        self.settings.enter_check.toggled.connect(self._apply_enter_mode)
        self._apply_enter_mode(False)
        self.preloader = VoicePreloader(self._client, self)     # the voice loads while they type
        self.preloader.state.connect(self.status.voice)
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
        self.service_switch.shutdown()
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

    def notify(self, text: str, kind: str = "info", about: str = "other") -> None:
        """Show a message in the banner; the status line follows (see core.speak.page_state)."""
        self.status.show(text, kind, about)

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
            self.notify(f"The voices could not be read ({exc}). Check that the disk is still there, "
                        "then come back to this page (Ctrl+6).", "error")
        ids = [v.id for v in self.voices]
        self.voice_combo.blockSignals(True)     # filling the list is not the user choosing
        self.voice_combo.clear()
        for voice in self.voices:
            self.voice_combo.addItem(voice.label)
        if self.voices:     # with a placeholder, Qt leaves the list without a choice
            self.voice_combo.setCurrentIndex(ids.index(chosen.id) if chosen is not None and chosen.id in ids else 0)
        self.voice_combo.blockSignals(False)
        if folder != self._prefs_folder:        # another speaker: their remembered choices
            self._prefs_folder = folder
            if folder is not None:
                self.settings.set_prefs(load_prefs(folder), ids)
                self._apply_enter_mode(self.settings.enter_check.isChecked())
        own = speaker is not None and any(r.usable for r in message_recordings(speaker))
        self.status.state.scene(speaker is not None, len(self.voices), own)
        self.status.render()
        self._update_buttons()
        if self.reading_view.isVisible():
            self.reading_view.update_reading()

    def _save_prefs(self) -> None:
        if self._prefs_folder is None:
            return
        voice = self.current_voice()
        try:
            save_prefs(self._prefs_folder, self.settings.prefs(voice.id if voice else None))
        except DiskFullError as exc:
            self.notify(f"{exc} They still apply until the app closes.", "warning")
        except OSError as exc:
            self.notify(f"Your choices could not be remembered ({exc.strerror}); "
                        "they still apply until the app closes.", "warning")

    def current_voice(self) -> SpeakVoice | None:
        index = self.voice_combo.currentIndex()
        return self.voices[index] if 0 <= index < len(self.voices) else None

    def _update_buttons(self) -> None:
        """Controls that cannot act now are disabled, and say why."""
        why = self.status.state.why_not(self.busy, self.current_voice() is not None)
        for name, widget in (("speak", self.speak_button), ("stop", self.stop_button),
                             ("voice", self.voice_combo), ("dictionary", self.dictionary_button),
                             ("dictionary", self.reading_button),
                             ("export", self.voice_actions.export_button),
                             ("delete", self.voice_actions.delete_button)):
            set_available(widget, not why[name], why[name])
        if self.voice_actions.importing is None:
            set_available(self.voice_actions.import_button, not why["import"], why["import"])

    def _apply_enter_mode(self, enter_speaks: bool) -> None:
        """The keys that speak, everywhere the page names them."""
        self.status.state.enter_speaks = enter_speaks
        key = self.status.state.speak_key
        self.text_edit.setPlaceholderText(f"Type here, then press {key} to say it.")
        self.text_edit.setAccessibleDescription(f"Press {key} to say it" + (
            "; Shift+Enter starts a new line" if enter_speaks else ""))
        self.speak_button.setText(f"Speak ({key})")
        self.help_label.setText(KEY_HELP.format(key=key) + ("    Shift+Enter: new line" if enter_speaks else ""))
        self.status.render()

    def _volume_changed(self, value: int) -> None:
        self.queue.volume = value / 100.0
        self.volume_label.setText(f"{value}%")
        self.volume_slider.setAccessibleDescription(f"{value}%")

    def _apply_text_size(self, points: int) -> None:
        self.text_edit.setStyleSheet(f"font-size: {points}pt;")
        for view in (self.phrases_box.list, self.history_box.list):
            set_list_text_size(view, points)     # and room for three lines of it at any size

    def change_text_size(self, step: int) -> None:
        self.size_spin.setValue(self.size_spin.value() + step)

    # speaking ------------------------------------------------------------------------------
    def speak(self) -> None:
        text = self.text_edit.toPlainText().strip()
        if not text:
            self.notify(f"Type what you want to say first, then press {self.status.state.speak_key}.", "warning")
            self.text_edit.setFocus()
            return
        self.say(text)

    def say_phrase(self, phrase: Phrase) -> None:
        self.say(phrase.text, phrase)

    def say_phrase_number(self, number: int) -> None:
        phrase = self.phrases_box.phrase_at(number - 1)
        if phrase is None:
            self.notify(f"There is no saved phrase {number}. Type it, then press "
                        "“Add text as phrase” (Alt+A).", "warning")
            return
        self.phrases_box.list.setCurrentRow(number - 1)
        self.say(phrase.text, phrase)

    def say(self, text: str, phrase: Phrase | None = None) -> None:
        speaker = self.context.speaker
        if speaker is None or self.history is None or self.phrase_book is None:
            self.notify("Choose a speaker first: press Ctrl+1.", "warning")
            return
        self.stop(quiet=True)
        self.status.clear_message()
        phrase = self.phrase_book.find(phrase.text if phrase else text)   # with its own readings
        plan = plan_utterance(speaker, text, self.current_voice(), self.speed_spin.value(),
                              is_saved_phrase(text, self.phrases_box.phrases), self.phrase_book, self.history,
                              phrase.readings if phrase else None)
        if plan.kind == "problem":
            self.notify(plan.message, plan.severity)
            self.status.finished("Not said.")
            self._update_buttons()
            return
        if plan.notice:     # the own recording cannot be used: said in the voice, and why
            self.notify(plan.notice, "warning", "said")
        if plan.kind == "job":
            self.job_info, self._stopping = (plan, self.history, self.phrase_book), False
            self.queue.start_utterance()
            self.job = self._client().submit("speak", plan.params)
            self.status.started(plan.status)
        else:
            self.status.finished(plan.status)
            self.queue.play_now([plan.audio])
            self._keep(plan, plan.audio, self.history, self.phrase_book,
                       "It was played but could not be added to “What was said”")
        self._update_buttons()

    def _keep(self, plan: Utterance, audio: Path, history: History, book: PhraseBook, failed: str) -> None:
        try:
            keep_said(plan, audio, history, book)
        except DiskFullError as exc:      # says what could not be kept and what to do
            self.notify(str(exc), "warning", "said")
        except OSError as exc:
            self.notify(f"{failed} ({exc}).", "warning", "said")
        self.history_box.refresh()

    def stop(self, quiet: bool = False) -> None:
        if self.job is not None and not self._stopping:
            self._stopping = True
            self.worker.cancel(self.job, kill_after_ms=CANCEL_KILL_MS)
        self.queue.stop(quiet=True)
        if not quiet:
            self.status.finished("Stopped.")
        self._update_buttons()

    def replay(self, said: Said) -> None:
        if not said.audio_path.is_file():
            self.notify("The sound of that one is no longer on the disk; say it again.", "warning")
            return
        self.stop(quiet=True)
        self.status.finished(f"Playing again: “{said.text}”")
        self.queue.play_now([said.audio_path])
        self._update_buttons()

    def add_phrase(self) -> None:
        text = self.text_edit.toPlainText()
        speaker = self.context.speaker
        self.phrases_box.add(text, readings_to_keep(Path(speaker.folder), text) if speaker else None)

    # how it will be read -------------------------------------------------------------------
    def _reading_source(self):
        speaker, text = self.context.speaker, self.text_edit.toPlainText()
        phrase = self.phrase_book.find(text) if self.phrase_book is not None and text.strip() else None
        return (Path(speaker.folder) if speaker else None), text, phrase, self.phrase_book

    def toggle_reading(self, _checked: bool = False, show: bool | None = None) -> None:
        """Show or hide the reading of the typed text (Ctrl+R); shown, it takes the focus."""
        show = not self.reading_view.isVisible() if show is None else show
        self.reading_button.setChecked(show)
        self.reading_view.setVisible(show)
        if show:
            self.reading_view.update_reading()
            (self.reading_view.first_word() or self.text_edit).setFocus()
        else:
            self.reading_view.cancel(refocus=False)
            self.text_edit.setFocus()

    # worker events -------------------------------------------------------------------------
    def _on_progress(self, job: str, event: dict) -> None:
        if job != self.job or self._stopping:
            return
        stage, step, total = event.get("stage"), int(event.get("step") or 0), int(event.get("total") or 0)
        if stage == "load":
            self.status.started("Loading the voice (the first time takes a while)…")
        elif stage == "speak":
            self.status.started(f"Saying sentence {step} of {total}…")
            if event.get("chunk"):      # numbered by piece: a sentence may come in pieces
                self.queue.add_chunk(int(event.get("piece") or step), Path(event["chunk"]))

    def _on_result(self, job: str, data: dict) -> None:
        if job != self.job:
            return
        (plan, history, book), stopped = self.job_info, self._stopping
        self.job, self._stopping = None, False
        out = Path(data.get("out") or plan.audio)
        if not stopped and not self.queue.chunks_queued:
            self.queue.enqueue(out)             # no sentence was announced: play the whole
        self.status.finished("Stopped." if stopped else f"Said: “{plan.text}”")
        self._keep(plan, out, history, book, "It was said but could not be kept")
        for note_text in data.get("notes") or []:
            self.notify(str(note_text), "info", "said")
        if isinstance(data.get("fast_paths"), dict):
            self.speed_checks.set_status(data["fast_paths"])
        self._update_buttons()

    def _on_failed(self, job: str, message: str) -> None:
        if job == self.job:
            self.job, self._stopping = None, False
            self.status.not_said(message)
            self._update_buttons()

    def _on_cancelled(self, job: str) -> None:
        if job == self.job:
            self.job, self._stopping = None, False
            self.status.finished("Stopped.")
            self._update_buttons()

    # export and dictionary -----------------------------------------------------------------
    def choose_export_path(self, suggested: Path) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Save what was said", str(suggested), EXPORT_FILTER)
        return path

    def export(self) -> None:
        said = self.history_box.current() or self.history_box.latest()
        if said is None:
            self.notify("Nothing has been said yet, so there is nothing to save.", "warning")
            return
        chosen = self.choose_export_path(Path.home() / suggested_name(said.text))
        if not chosen:
            return
        out = with_default_suffix(Path(chosen))
        try:
            export_audio([said.audio_path], out)
        except ExportError as exc:
            self.notify(str(exc), "error")
            return
        self.notify(f"Saved “{said.text}” as {out}.", "ok")

    def open_dictionary(self) -> None:
        if self.context.speaker is None:
            self.notify("Choose a speaker first: press Ctrl+1.", "warning")
            return
        dialog = DictionaryDialog(Path(self.context.speaker.folder), self)
        dialog.changed.connect(self._dictionary_changed)
        dialog.finished.connect(lambda _r: self.text_edit.setFocus())
        self.dictionary_dialog = dialog
        dialog.open()

    def _dictionary_changed(self) -> None:
        if self.phrase_book is not None:
            self.phrase_book.clear_cache()      # phrases are made again with the new words
        if self.reading_view.isVisible() and self.reading_view.choosing is None:
            self.reading_view.update_reading()

    # keys ----------------------------------------------------------------------------------
    def handle_key(self, event: QKeyEvent) -> bool:
        return handle_speak_key(self, event)
