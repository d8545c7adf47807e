"""Build page: the consent check's figure and "how much it sounds like you" for the new voice.

Both figures live in the voice's voice.json (`speaker_check` from the build, `likeness` from
the worker's `likeness` job, which this box asks for once the sample sentence is made). The
sample pair itself (your recording, the new voice) is the Compare box above it: R and V.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget

from core.bank.files import read_json
from desktop.widgets import note

NOTHING_YET = "Shown after a voice is built: how closely it sounds like you."


def speaker_check_text(check: dict | None) -> str:
    if not isinstance(check, dict):
        return ""
    return "Consent check: " + str(check.get("message") or check.get("verdict") or "")


def likeness_text(likeness: dict | None) -> str:
    if not isinstance(likeness, dict):
        return ""
    if likeness.get("percent") is None:
        return "How much it sounds like you: " + str(likeness.get("words") or "not measured.")
    return (f"How much it sounds like you: {likeness['percent']} % — {likeness.get('words')}. "
            "Listen to both: R plays your recording, V the new voice.")


class TrustBox(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Does it sound like you?", parent)
        layout = QVBoxLayout(self)
        self.check_label = note("")
        self.check_label.setAccessibleName("Consent check")
        self.likeness_label = note(NOTHING_YET)
        self.likeness_label.setAccessibleName("How much it sounds like you")
        layout.addWidget(self.check_label)
        layout.addWidget(self.likeness_label)
        self.job: str | None = None
        self.voice_dir: Path | None = None
        self._worker = None

    def _set(self, label, text: str) -> None:
        label.setText(text)
        label.setAccessibleDescription(text)
        label.setVisible(bool(text))

    def clear(self) -> None:
        self.job, self.voice_dir = None, None
        self._set(self.check_label, "")
        self._set(self.likeness_label, NOTHING_YET)

    def show_voice(self, voice_dir: Path | None) -> None:
        """Show what voice.json holds for this voice (nothing: the box says what will come)."""
        if not voice_dir:
            return
        self.voice_dir = Path(voice_dir)
        card = read_json(self.voice_dir / "voice.json")
        card = card if isinstance(card, dict) else {}
        self._set(self.check_label, speaker_check_text(card.get("speaker_check")))
        self._set(self.likeness_label, likeness_text(card.get("likeness")) or NOTHING_YET)

    def show_speaker(self, speaker, sample: Path | None = None) -> None:
        """Before a build: is consent recorded? With a sample (after a restart): its voice's figures."""
        from core.trust.consent import current_consent

        if sample is not None:
            self.show_voice(Path(sample).parent)
        elif speaker is not None and current_consent(speaker) is None:
            self._set(self.check_label, "✗ No consent recorded yet. Before building, the person who read "
                                        "the prompts records the consent statement: Speaker page (Ctrl+1), "
                                        "“Consent statement”.")

    def measure(self, worker, speaker, bank_root, sample_box) -> None:
        """Ask the worker to compare the new voice's sample with the speaker's recordings."""
        out = getattr(sample_box, "out", None)
        if worker is None or speaker is None or out is None or not Path(out).exists():
            return
        if self._worker is not worker:
            self._worker = worker
            worker.result.connect(self._on_result)
            worker.failed.connect(self._on_failed)
        take = getattr(sample_box, "take", None)
        self.voice_dir = Path(out).parent
        self._set(self.likeness_label, "How much it sounds like you: measuring…")
        self.job = worker.submit("likeness", {
            "speaker_id": speaker.id, "bank_root": str(bank_root), "voice_dir": str(self.voice_dir),
            "sample": str(out), "mine": str(take.raw_path) if take is not None else None})

    def _on_result(self, job: str, data: dict) -> None:
        if job == self.job:
            self.job = None
            self._set(self.likeness_label, likeness_text(data))

    def _on_failed(self, job: str, message: str) -> None:
        if job == self.job:
            self.job = None
            self._set(self.likeness_label, f"How much it sounds like you could not be measured: {message}")
