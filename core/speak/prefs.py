"""The Speak page's choices, remembered per speaker: the voice, speed, volume, text size and
whether Enter alone speaks (Shift+Enter then starts a new line).

A tired user should not have to set them again each time the app starts. A missing or damaged
file simply gives the defaults (the choices are easy to make again; nothing else depends on them).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from core.bank.files import write_json_atomic
from core.speak import speak_folder

PREFS_FILE = "settings.json"


@dataclass
class SpeakPrefs:
    voice_id: str | None = None
    speed: float = 1.0          # 0.5-2.0 x normal
    volume: int = 100           # % at playback; saved audio keeps full level
    text_pt: int = 24           # the page's text size
    enter_speaks: bool = False  # Enter alone speaks the text (else Ctrl+Enter; Enter is a new line)

    def clamped(self) -> "SpeakPrefs":
        return SpeakPrefs(self.voice_id if isinstance(self.voice_id, str) else None,
                          min(max(float(self.speed), 0.5), 2.0), min(max(int(self.volume), 0), 100),
                          min(max(int(self.text_pt), 10), 72), self.enter_speaks is True)


def prefs_path(speaker_folder: Path) -> Path:
    return speak_folder(speaker_folder) / PREFS_FILE


def load_prefs(speaker_folder: Path) -> SpeakPrefs:
    try:
        data = json.loads(prefs_path(speaker_folder).read_text(encoding="utf-8"))
        known = {f.name for f in fields(SpeakPrefs)}
        return SpeakPrefs(**{k: v for k, v in data.items() if k in known}).clamped()
    except (OSError, ValueError, TypeError, AttributeError):
        return SpeakPrefs()


def save_prefs(speaker_folder: Path, prefs: SpeakPrefs) -> None:
    """Raises OSError when the folder cannot be written (the caller says so, once)."""
    path = prefs_path(speaker_folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, asdict(prefs.clamped()), failed="your choices on the Speak page could not be remembered")
