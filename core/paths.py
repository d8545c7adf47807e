"""Where things live: the shipped resources, the user's bank, the models and the worker's jobs."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "voicebank"


def resources_dir() -> Path:
    # A frozen build unpacks data next to the executable (PyInstaller's _MEIPASS).
    base = getattr(sys, "_MEIPASS", None)
    if base:
        return Path(base) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def default_bank_dir() -> Path:
    """VOICEBANK_HOME overrides (tests, a USB stick); else the platform's user data folder."""
    override = os.environ.get("VOICEBANK_HOME")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "bank"


def models_dir() -> Path:
    """Base models (GPT-SoVITS v2 files, chinese-hubert-base, chinese-roberta-wwm-ext-large).

    VOICEBANK_MODELS overrides; else `models/` in the user data folder (kept outside any bundle).
    """
    override = os.environ.get("VOICEBANK_MODELS")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


def jobs_dir() -> Path:
    """The worker's scratch: one folder per job. VOICEBANK_JOBS overrides (tests); else `jobs/`
    in the user data folder. Here, not in core.worker, because erasing a voice clears it too."""
    override = os.environ.get("VOICEBANK_JOBS")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "jobs"
