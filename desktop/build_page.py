"""Page 5: build a personal voice from the takes, then hear it beside the user's own recording.

The work runs in the worker process (jobs `zero_shot`, `build`, then `speak` for the sample);
this page never imports torch. A build that is stopped, or whose worker dies, resumes from its
last checkpoint when it is started again (the worker keeps one build folder per speaker).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from core.bank.store import BankError
from desktop import build_support as support
from desktop.build_widgets import MODELS_HELP, ModelsBox, SampleBox
from desktop.context import AppContext
from desktop.flow_layout import FlowLayout
from desktop.trust_widgets import TrustBox
from desktop.widgets import Banner, heading, lines_tall, note, set_available

KEY_HELP = ("F: hear a first version    B: build my voice    Esc: stop the build    "
            "R: play my recording    V: play my new voice    I: import model files")
DEVICES = [("Automatic: the graphics card if there is one", "auto"), ("Processor (CPU, slow)", "cpu"),
           ("Graphics card (CUDA)", "cuda")]
LOG_LINES = 3000


class BuildPage(QWidget):
    def __init__(self, context: AppContext, worker=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.worker = None
        self.job: str | None = None             # the running worker job (zero_shot/build/speak)
        self.job_kind = ""
        self.voice: dict[str, Any] | None = None    # the last result: voice_dir, card, files
        self.summary = support.AudioSummary(0.0, 0, 0)
        self._worker_died = False
        self._refocus = False
        self._job_speaker: str | None = None
        self._log_throttle = support.LogThrottle()
        if worker is not None:
            self.set_worker(worker)

        # The window scrolls the page under its heading and banner (desktop.page_frame) rather than
        # squeezing its wrapped text on a small screen or at a large text size.
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Build your voice"))
        self.banner = Banner()
        layout.addWidget(self.banner)

        recordings = QGroupBox("Your recordings")
        rec_layout = QVBoxLayout(recordings)
        self.audio_label = note("")
        self.audio_label.setAccessibleName("Usable audio")
        rec_layout.addWidget(self.audio_label)
        layout.addWidget(recordings)

        self.models = ModelsBox()
        self.models.checked.connect(self._models_checked)
        self.models.message.connect(self._models_message)
        self.import_button = self.models.import_button
        layout.addWidget(self.models)

        actions = FlowLayout()          # wraps at a large text size rather than widening the page
        self.zero_shot_button = self._button("Hear a &first version now (F)",
                                             "Hear a first version now, without training", self.start_zero_shot)
        self.build_button = self._button("&Build my voice (B)", "Build my voice", self.start_build)
        self.cancel_button = self._button("Stop (Esc)", "Stop the build; the work so far is kept", self.cancel)
        self.device_combo = QComboBox()
        self.device_combo.setAccessibleName("Where to train")
        for text, _ in DEVICES:
            self.device_combo.addItem(text)
        device_label = QLabel("&Train on:")
        device_label.setBuddy(self.device_combo)
        device_row = QHBoxLayout()
        device_row.addWidget(device_label)
        device_row.addWidget(self.device_combo)
        device_row.addStretch(1)
        layout.addLayout(device_row)
        for widget in (self.zero_shot_button, self.build_button, self.cancel_button):
            actions.addWidget(widget)
        layout.addLayout(actions)

        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Build progress")
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")             # nothing to show until a job runs
        self.progress_bar.setMinimumHeight(30)
        layout.addWidget(self.progress_bar)
        self.status_label = QLabel("Not started.")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Build status")
        layout.addWidget(self.status_label)

        self.sample = SampleBox()
        self.sample.error.connect(lambda text: self.banner.show_message(text, "error"))
        self.play_mine_button, self.play_voice_button = self.sample.play_mine_button, self.sample.play_voice_button
        layout.addWidget(self.sample)
        self.trust = TrustBox()             # consent check figure, "sounds like you" score
        layout.addWidget(self.trust)

        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setAccessibleName("Build log")
        self.log_view.setAccessibleDescription("Details of the build, newest at the bottom")
        self.log_view.setTabChangesFocus(True)       # Tab moves on instead of being swallowed
        self.log_view.setPlaceholderText("Details of the build appear here.")
        lines_tall(self.log_view, 5)
        layout.addWidget(self.log_view, 1)
        help_label = note(KEY_HELP)
        help_label.setAccessibleName("Keyboard keys")
        layout.addWidget(help_label)
        context.speaker_changed.connect(lambda _s: self._speaker_changed())
        self._update_buttons()

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.clicked.connect(slot)
        return button

    # the worker ----------------------------------------------------------------------------
    def set_worker(self, worker) -> None:
        self.worker = worker
        worker.progress.connect(self._on_progress)
        worker.result.connect(self._on_result)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.died.connect(self._on_died)
        worker.log.connect(self.append_log)

    def _client(self):
        if self.worker is None:
            from desktop.worker_client import WorkerClient
            self.set_worker(WorkerClient(self))
        return self.worker

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(wait=True)
        self.models.wait(2.0)

    @property
    def running(self) -> bool:
        return self.job is not None

    # refresh -------------------------------------------------------------------------------
    def page_shown(self) -> None:
        self.refresh()
        self._focus_first()
        self._refocus = True            # again once the model check says what is possible

    def _focus_first(self) -> None:
        for button in (self.build_button, self.zero_shot_button, self.import_button):
            if button.isEnabled():
                button.setFocus()
                break

    def _speaker_changed(self) -> None:
        if not self.running:
            self.voice = None
            self.sample.clear()
            self.trust.clear()
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        speaker = self.context.speaker
        if speaker is None:
            self.summary = support.AudioSummary(0.0, 0, 0)
            self.audio_label.setText("Choose a speaker first (Ctrl+1).")
        else:
            try:
                self.summary = support.audio_summary(speaker)
                self.audio_label.setText(self.summary.text())
                if self.sample.out is None and not self.running:
                    self.sample.restore(speaker)
                    self.trust.show_speaker(speaker, self.sample.out)
            except (BankError, OSError, ValueError) as exc:
                self.banner.show_message(f"The takes could not be read ({exc}).", "error")
        self.audio_label.setAccessibleDescription(self.audio_label.text())
        self.models.refresh()
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_audio = self.context.speaker is not None and self.summary.takes > 0
        idle = not self.running
        busy = "Wait until the work in progress is done, or stop it (Esc)."
        set_available(self.build_button, idle and has_audio and self.models.train_ready,
                      busy if not idle else self._not_ready_reason("build"))
        set_available(self.zero_shot_button, idle and has_audio and self.models.speak_ready,
                      busy if not idle else self._not_ready_reason("speak"))
        set_available(self.cancel_button, self.running and self.job_kind != "speak",
                      "Nothing is being built now." if idle else "The sample sentence takes a moment; wait for it.")
        set_available(self.device_combo, idle, "It can be changed once the work in progress is done.")
        self.sample.update_buttons()

    def _models_checked(self) -> None:
        self._update_buttons()
        if self._refocus and self.isVisible():
            self._refocus = False
            self._focus_first()

    def _models_message(self, text: str, kind: str) -> None:
        self.banner.show_message(text, kind)
        self.append_log(text)

    def import_models(self) -> None:
        self.models.import_models()

    def _params(self) -> dict[str, Any] | None:
        speaker = self.context.speaker
        if speaker is None:
            self.banner.show_message("Choose a speaker first: press Ctrl+1.", "warning",
                                     clears_on=self.context.speaker_changed)
            return None
        return {"speaker_id": speaker.id, "bank_root": str(self.context.bank.root)}

    def _submit(self, kind: str, params: dict[str, Any], status: str) -> None:
        self._worker_died = False
        self.job_kind = kind
        self.job = self._client().submit(kind, params)
        self._job_speaker = self.context.speaker.id if self.context.speaker else None
        self._log_throttle = support.LogThrottle()
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setRange(0, 0)            # busy until the first step arrives
        self._set_status(status)
        self.append_log(f"— {status}")
        self._update_buttons()

    def start_build(self) -> None:
        params = self._params()
        if params is None or self.running:
            return
        if not self.build_button.isEnabled():
            self.banner.show_message(self._not_ready_reason("build"), "warning",
                                     clears_on=self.context.speaker_changed)
            return
        params["device"] = DEVICES[self.device_combo.currentIndex()][1]
        self.banner.clear_message()
        self._submit("build", params, "Building your voice. This takes a while; you can stop at any "
                                      "time and continue later.")

    def start_zero_shot(self) -> None:
        params = self._params()
        if params is None or self.running:
            return
        if not self.zero_shot_button.isEnabled():
            self.banner.show_message(self._not_ready_reason("speak"), "warning",
                                     clears_on=self.context.speaker_changed)
            return
        self.banner.clear_message()
        self._submit("zero_shot", params, "Making a first version of your voice from one recording…")

    def _not_ready_reason(self, purpose: str) -> str:
        if self.context.speaker is None:
            return "Choose a speaker first (Ctrl+1)."
        if self.summary.takes == 0:
            return "There are no usable recordings yet. Record some prompts first (Ctrl+3)."
        if self.models.checking:
            return "The base model files are being checked; a moment."
        return "Some base model files are missing (see “Base models”). " + MODELS_HELP

    def cancel(self) -> None:
        if self.job is not None and self.job_kind != "speak":
            self._set_status("Stopping after the current step…")
            self.worker.cancel(self.job, kill_after_ms=180_000)   # a CPU step + checkpoint is slow

    def _speak_sample(self) -> None:
        voice, speaker = self.voice or {}, self.context.speaker
        files = voice.get("files") or {}
        if not (files.get("gpt") and files.get("sovits") and files.get("reference")) or speaker is None:
            self.banner.show_message("The voice was made, but its folder lacks the files to speak with "
                                     f"({voice.get('voice_dir')}). Build it again.", "warning")
            return
        card = voice.get("card") or {}
        take = support.choose_sample(support.usable_takes(speaker), card.get("reference_take"))
        if take is None:
            return
        self.sample.saying(take)
        if speaker.id != self._job_speaker:
            return                      # the user chose another speaker meanwhile
        out = Path(voice["voice_dir"]) / support.SAMPLE_WAV
        self._submit("speak", {"gpt": files["gpt"], "sovits": files["sovits"],
                               "reference": files["reference"], "reference_text": card.get("reference_text"),
                               "text": take.text, "out": str(out)},
                     "Saying a sentence you recorded in your new voice…")

    # worker events -------------------------------------------------------------------------
    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setAccessibleDescription(text)
        self.progress_bar.setAccessibleDescription(text)

    def append_log(self, text: str) -> None:
        self.log_view.appendPlainText(text)
        bar = self.log_view.verticalScrollBar()
        bar.setValue(bar.maximum())             # the newest line stays in view

    def _on_progress(self, job: str, event: dict) -> None:
        if job != self.job:
            return
        stage, step, total = event.get("stage"), int(event.get("step") or 0), int(event.get("total") or 0)
        if stage == "start":
            return
        if self.job_kind == "speak":
            self._set_status(f"Saying the sample sentence… {event.get('message', '')}".strip())
            return
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(step, total))
            self.progress_bar.setFormat(support.bar_format(event))
        text = support.progress_text(event)
        self._set_status(text)
        message = str(event.get("message") or "")
        if self._log_throttle.wanted(event):
            self.append_log(text + (f"  ({message})" if message and message not in text else ""))

    def _finish_job(self) -> str:
        kind, self.job, self.job_kind = self.job_kind, None, ""
        self.progress_bar.setRange(0, 1)
        return kind

    def _on_result(self, job: str, data: dict) -> None:
        if job != self.job:
            return
        kind = self._finish_job()
        self.progress_bar.setValue(1)
        if kind == "speak":
            self.sample.said(Path(data.get("out") or ""))
            self.trust.measure(self.worker, self.context.speaker, self.context.bank.root, self.sample)
            self._set_status("Done. Listen to your recording and your new voice, one after the other.")
            self.banner.show_message("Your voice is ready. Compare it with your own recording: "
                                     "press R, then V. Speak with it on the Speak page (Ctrl+6).", "ok")
            if self.isVisible():
                self.play_mine_button.setEnabled(True)
                self.play_mine_button.setFocus()
        else:
            self.voice = data
            self.trust.show_voice(data.get("voice_dir"))
            name = (data.get("card") or {}).get("name")
            what = ("A first version of your voice" if kind == "zero_shot" else "Your voice") + (
                f" “{name}”" if name else "")
            self._set_status(f"{what} is ready, in {data.get('voice_dir')}.")
            self.append_log(f"{what} is ready: {data.get('voice_dir')}")
            self._speak_sample()
        self._update_buttons()

    def _on_failed(self, job: str, message: str) -> None:
        if job != self.job:
            return
        kind = self._finish_job()
        self.append_log(f"Failed: {message}")
        if not self._worker_died:
            self.banner.show_message(f"{support.failure_title(kind)}: {message}", "error")
        self._set_status("Stopped with a problem (see the message above).")
        self._update_buttons()

    def _on_cancelled(self, job: str) -> None:
        if job != self.job:
            return
        text = support.cancelled_text(self._finish_job())
        self._set_status(text)
        self.append_log(text)
        self.banner.show_message(text, "info")
        self._update_buttons()

    def _on_died(self, message: str) -> None:
        self.append_log(message)
        if self.job is None:
            return
        self._worker_died = True
        self.banner.show_message(support.worker_died_text(self.job_kind), "error")

    def handle_key(self, event: QKeyEvent) -> bool:
        if event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier) or event.isAutoRepeat():
            return False
        if event.key() == Qt.Key_Escape and self.running:
            self.cancel()
            return True
        actions = {Qt.Key_B: self.start_build, Qt.Key_F: self.start_zero_shot, Qt.Key_R: self.sample.play_mine,
                   Qt.Key_V: self.sample.play_voice, Qt.Key_I: self.import_models}
        action = actions.get(event.key())
        if action is None:
            return False
        action()
        return True
