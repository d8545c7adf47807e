"""A stand-in for core.train.build with its API (no torch): resumable steps, cancel, errors.

`install(monkeypatch, **behaviour)` puts it in sys.modules as core.train.build, so the build
job and `voicebank build` can be tested for what they do around the training: progress, cancel,
resume, blockers, failures. The real training is tested end to end where it exists.
"""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

# The real API types (core.train.build imports no torch at module level), so the fake
# cannot drift from what the job and the CLI are given in production.
from core.train.build import BuildCancelled, BuildConfig, BuildError, BuildProgress, VoiceCard


def make(blockers: list[str] | None = None, fail_at: int | None = None, total: int = 6,
         on_step: Callable[[int], None] | None = None) -> types.ModuleType:
    mod = types.ModuleType("core.train.build")
    mod.BuildConfig, mod.BuildProgress, mod.VoiceCard = BuildConfig, BuildProgress, VoiceCard
    mod.BuildError, mod.BuildCancelled = BuildError, BuildCancelled
    mod.calls = []          # (function name, args) for the tests to inspect

    def usable_audio(speaker, include_red=False):
        return 1.5, 12

    def check_ready(cfg):
        mod.calls.append(("check_ready", cfg))
        return list(blockers or [])

    def _voice(speaker_folder: Path, kind: str, steps: int) -> Path:
        voice = Path(speaker_folder) / "voices" / f"{kind}-1"
        voice.mkdir(parents=True, exist_ok=True)
        (voice / "voice.ckpt").write_bytes(b"gpt")
        (voice / "voice.pth").write_bytes(b"sovits")
        sf.write(voice / "reference.wav", np.zeros(32000, np.float32), 32000)
        card = VoiceCard(voice.name, "Ada's voice", kind, "gpt-sovits-v2", 1.5, 12, steps, steps,
                         "2026-11-24T20:00:00", None, "你好", "cpu", "fp32")
        (voice / "card.json").write_text(json.dumps(card.__dict__), encoding="utf-8")
        return voice

    def build_voice(cfg, job_dir, progress=None, cancel=None):
        mod.calls.append(("build_voice", cfg, Path(job_dir)))
        ckpt = Path(job_dir) / "checkpoint.json"
        done = json.loads(ckpt.read_text())["step"] if ckpt.exists() else 0
        mod.calls.append(("resumed_at", done))
        end = min(total, done + cfg.max_steps) if cfg.max_steps else total
        for step in range(done + 1, end + 1):
            if cancel is not None and cancel():
                raise BuildCancelled(f"stopped at step {step - 1}")
            if on_step is not None:
                on_step(step)
            if step == fail_at:
                raise BuildError(f"Training failed on purpose at step {step}.")
            stage = "sovits" if step <= total // 2 else "gpt"
            if progress is not None:
                progress(BuildProgress(stage, step, total, 1, 1.0 / step, float(total - step), f"step {step}"))
            ckpt.write_text(json.dumps({"step": step}))
        if end < total:
            raise BuildCancelled(f"stopped after the step limit at {end}")
        bank = Path(cfg.bank_root) if cfg.bank_root else None
        return _voice(bank / cfg.speaker_id, "trained", total)

    def make_zero_shot_voice(speaker, take=None, name=None):
        mod.calls.append(("make_zero_shot_voice", speaker.id, None if take is None else take.id))
        return _voice(speaker.folder, "zero_shot", 0)

    def list_voices(speaker):
        out = []
        for card_file in sorted((Path(speaker.folder) / "voices").glob("*/card.json")):
            out.append((card_file.parent, VoiceCard(**json.loads(card_file.read_text()))))
        return out

    for fn in (usable_audio, check_ready, build_voice, make_zero_shot_voice, list_voices):
        setattr(mod, fn.__name__, fn)
    return mod


def install(monkeypatch, **behaviour) -> types.ModuleType:
    mod = make(**behaviour)
    monkeypatch.setitem(sys.modules, "core.train.build", mod)
    return mod
