"""The voices a speaker can speak with (built or zero-shot), newest first, with what `speak` needs.

Read from the voice folders' plain files (voice.json, reference.wav) rather than through
core.train, which the GUI must not import. The paths resolve the way core.train.build's
voice_model_paths does (a test compares the two): gpt_path / sovits_path relative to the voice
folder, and "" meaning the base model in the model store (a zero-shot voice).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.bank.files import read_json

VOICES = "voices"
BASE_MODEL = "gpt-sovits-v2"
BASE_FILES = {"gpt": "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", "sovits": "s2G2333k.pth"}
DEFAULT_FILES = {"gpt": "gpt.ckpt", "sovits": "sovits.pth"}


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


def _base_file(name: str) -> Path:
    from core.models.store import path_of
    try:
        return path_of(BASE_MODEL, BASE_FILES[name])
    except Exception:       # noqa: BLE001 - no manifest entry: the plain layout, as the trainer does
        from core.paths import models_dir
        return models_dir() / BASE_MODEL / BASE_FILES[name]


def _model_file(folder: Path, card: dict, name: str) -> Path:
    rel = card.get(f"{name}_path", DEFAULT_FILES[name])
    if not rel:
        return _base_file(name)
    path = Path(str(rel))
    return path if path.is_absolute() else folder / path


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
            created=str(card["created"]), folder=folder, gpt=_model_file(folder, card, "gpt"),
            sovits=_model_file(folder, card, "sovits"), reference=folder / "reference.wav",
            reference_text=str(card.get("reference_text") or "")))
    return sorted(found, key=lambda v: (v.created, v.folder.name), reverse=True)
