"""The app's own settings: window size, text size, continuous mode, the grade tone, whether other
programs may use the voice, and the last speaker per bank.

A small JSON file in the user's config folder (VOICEBANK_CONFIG overrides it, for tests), never in
the bank: a bank on a USB stick carries recordings, not how one computer's window was laid out.
A missing or damaged file gives the defaults; nothing else depends on it.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

from core.paths import APP_NAME

SETTINGS_FILE = "settings.json"
TEXT_SIZES = ("normal", "large", "largest")


@dataclass
class AppSettings:
    width: int = 0                  # the window's last normal size (0: the app's default)
    height: int = 0
    maximized: bool = False
    text_size: str = "normal"       # one of TEXT_SIZES
    continuous: bool = False        # the Record page's continuous mode
    last_speaker: dict[str, str] = field(default_factory=dict)     # bank folder -> speaker id
    grade_tone: bool = False        # the Record page sounds each take's grade
    share_voice: bool = False       # the Speak page's "Let other programs … use my voice"

    def clamped(self) -> "AppSettings":
        def number(value) -> int:
            return min(max(int(value), 0), 20000) if isinstance(value, (int, float)) else 0

        def switch(value) -> bool:
            return value if isinstance(value, bool) else False     # only a real yes turns it on

        speakers = self.last_speaker if isinstance(self.last_speaker, dict) else {}
        return AppSettings(number(self.width), number(self.height), switch(self.maximized),
                           self.text_size if self.text_size in TEXT_SIZES else "normal",
                           switch(self.continuous),
                           {str(k): str(v) for k, v in speakers.items() if isinstance(v, str)},
                           grade_tone=switch(self.grade_tone), share_voice=switch(self.share_voice))

    def speaker_for(self, bank_root: Path) -> str | None:
        return self.last_speaker.get(str(Path(bank_root).resolve()))

    def remember_speaker(self, bank_root: Path, speaker_id: str | None) -> None:
        key = str(Path(bank_root).resolve())
        if speaker_id:
            self.last_speaker[key] = speaker_id
        else:
            self.last_speaker.pop(key, None)


def config_dir() -> Path:
    """VOICEBANK_CONFIG overrides (tests); else the platform's user config folder."""
    override = os.environ.get("VOICEBANK_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> AppSettings:
    try:
        data = json.loads((path or settings_path()).read_text(encoding="utf-8"))
        known = {f.name for f in fields(AppSettings)}
        return AppSettings(**{k: v for k, v in data.items() if k in known}).clamped()
    except (OSError, ValueError, TypeError, AttributeError):
        return AppSettings()


def save_settings(settings: AppSettings, path: Path | None = None) -> None:
    """Written atomically (a temporary file, then renamed). Raises OSError when it cannot be."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(settings.clamped()), indent=1, ensure_ascii=False)
    handle, temp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
