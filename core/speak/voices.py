"""The voices a speaker can speak with (built or zero-shot), newest first, with what `speak` needs.

Read from the voice folders' plain files (voice.json, reference.wav) rather than through
core.train, which the GUI must not import; the model paths resolve by core.voices.files, as
core.voices.card's voice_model_paths does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.bank.files import read_json
from core.voices.files import VOICES, model_file


@dataclass(frozen=True)
class SpeakVoice:
    id: str
    name: str
    zero_shot: bool
    created: str                # ISO time; also part of the phrase cache key
    folder: Path
    gpt: Path
    sovits: Path
    reference: Path
    reference_text: str

    @property
    def label(self) -> str:
        day = self.created[:10] if self.created else "unknown date"
        kind = "first version, no training" if self.zero_shot else "trained"
        return f"{self.name or self.id} ({kind}, {day})"

    @property
    def cache_key(self) -> str:
        """Changes whenever the voice is rebuilt, so cached phrase audio is not reused."""
        return f"{self.id}@{self.created}"

    def missing(self) -> list[Path]:
        return [p for p in (self.gpt, self.sovits, self.reference) if not p.exists()]

    def job_params(self) -> dict[str, Any]:
        return {"gpt": str(self.gpt), "sovits": str(self.sovits), "reference": str(self.reference),
                "reference_text": self.reference_text or None}


def speak_voices(speaker) -> list[SpeakVoice]:
    """The speaker's voices, newest first (folders without a readable voice.json are skipped)."""
    root = Path(speaker.folder) / VOICES
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        card = read_json(folder / "voice.json") if folder.is_dir() and not folder.name.startswith(".") else None
        if not isinstance(card, dict) or not card.get("created"):
            continue
        found.append(SpeakVoice(
            id=str(card.get("id") or folder.name), name=str(card.get("name") or ""),
            zero_shot=str(card.get("kind", "")).replace("_", "-") == "zero-shot",
            created=str(card["created"]), folder=folder, gpt=model_file(folder, card, "gpt"),
            sovits=model_file(folder, card, "sovits"), reference=folder / "reference.wav",
            reference_text=str(card.get("reference_text") or "")))
    return sorted(found, key=lambda v: (v.created, v.folder.name), reverse=True)
