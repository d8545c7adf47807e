"""Where a voice's files are: the rules shared by everything that reads a voice folder (the
trainer that writes it, the Speak page, the voice package). No torch and no training code, so the
GUI can use it.

    <speaker>/voices/<id>/voice.json      the card; gpt_path / sovits_path are relative to the
                                          folder (or absolute), and "" means the base model
    <speaker>/builds/current/             the voice being built (checkpoints), until it is done
"""
from __future__ import annotations

from pathlib import Path

VOICES = "voices"
BASE_MODEL = "gpt-sovits-v2"
BASE_FILES = {"gpt": "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", "sovits": "s2G2333k.pth"}
DEFAULT_FILES = {"gpt": "gpt.ckpt", "sovits": "sovits.pth"}


def default_build_dir(speaker_folder: Path) -> Path:
    """Where a speaker's build keeps its checkpoints: the same folder every time, so that a build
    started again (after a cancel, a crash or a power cut) resumes. Cleared after a success.
    Here because the worker, `voicebank build` and erasing a voice all need it."""
    return Path(speaker_folder) / "builds" / "current"


def base_model_file(name: str) -> Path:
    """The base GPT ("gpt") or SoVITS generator ("sovits") file in the model store."""
    from core.models.store import path_of
    try:
        return path_of(BASE_MODEL, BASE_FILES[name])
    except Exception:       # noqa: BLE001 - no manifest entry (should not happen): the plain layout
        from core.paths import models_dir
        return models_dir() / BASE_MODEL / BASE_FILES[name]


def card_model_path(folder: Path, rel: str) -> Path | None:
    """A model path as a card writes it, resolved against the voice folder; None for "" (base)."""
    if not rel:
        return None
    path = Path(str(rel))
    return path if path.is_absolute() else Path(folder) / path


def model_file(folder: Path, card: dict, name: str) -> Path:
    """The "gpt" or "sovits" file a voice speaks with, from its card as read from voice.json."""
    return (card_model_path(folder, card.get(f"{name}_path", DEFAULT_FILES[name]))
            or base_model_file(name))
