"""A voice's card (voice.json) and a speaker's finished voices, as the trainer leaves them.

    list_voices(speaker)               [(folder, VoiceCard)], oldest first
    voice_model_paths(folder, card)    (gpt, sovits) files the voice speaks with

The card lives here, below the trainer (core.train.build writes it; the voice package, the
command line and the worker read it), so that reading a voice never imports training code.
No torch: the GUI side can use it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from core.bank.files import read_json
from core.voices.files import VOICES, base_model_file, card_model_path

__all__ = ["VoiceCard", "card_from_dict", "list_voices", "voice_model_paths"]


@dataclass
class VoiceCard:
    id: str
    name: str
    kind: str             # "fine-tuned" | "zero-shot"
    base_model: str
    data_minutes: float
    takes: int
    sovits_steps: int
    gpt_steps: int
    created: str
    reference_take: str
    reference_text: str
    device: str
    precision: str
    gpt_path: str = "gpt.ckpt"        # relative to the voice folder; "" = the base model (store)
    sovits_path: str = "sovits.pth"
    format: int = 1


def card_from_dict(data: dict) -> VoiceCard:
    """The card from voice.json's fields; keys a newer app added are ignored (TypeError when a
    required field is missing)."""
    names = {f.name for f in fields(VoiceCard)}
    return VoiceCard(**{k: v for k, v in data.items() if k in names})


def list_voices(speaker) -> list[tuple[Path, VoiceCard]]:
    """The speaker's finished voices, oldest first (unreadable cards are skipped)."""
    root = Path(speaker.folder) / VOICES
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        data = read_json(folder / "voice.json")
        if not isinstance(data, dict):
            continue
        try:
            out.append((folder, card_from_dict(data)))
        except TypeError:
            continue
    return sorted(out, key=lambda fc: fc[1].created)


def voice_model_paths(folder: Path, card: VoiceCard | None = None) -> tuple[Path, Path]:
    """(gpt, sovits) files of a voice; a zero-shot voice's are the base models of the store."""
    folder = Path(folder)
    if card is None:
        card = card_from_dict(read_json(folder / "voice.json") or {})
    return (card_model_path(folder, card.gpt_path) or base_model_file("gpt"),
            card_model_path(folder, card.sovits_path) or base_model_file("sovits"))
