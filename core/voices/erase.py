"""The right to erase: deleting a voice or a whole speaker removes every file of it.

Deleting a voice removes
    <speaker>/voices/<id>/                 models, card, reference, sample, its consent copy
    <speaker>/voices/.<id>.part            a half-written copy, if a build or import died
    <speaker>/speak/phrase-cache/          cached phrase audio (keyed by a hash, so all of it;
                                           it is made again on demand in the remaining voices)
    <speaker>/speak/history/<...>.wav      what was said in this voice, and those history entries
    <speaker>/builds/current/              the build's checkpoints, if that build made this voice
    <jobs>/*                               the worker's scratch folders (see below), unless
                                           scratch=False
Deleting a speaker removes
    <bank>/<speaker>/                      everything: speaker.json, messages, sessions, takes
                                           (raw and cleaned), voices, builds (training
                                           checkpoints), .cache (training features), consent,
                                           speak/ (phrases, cache, history), pronunciations.json
    <bank>/.replaced/<speaker>-<time>/     older copies kept aside by `voicebank restore --replace`
    <bank>/.restore-<speaker>-*/           leftovers of an interrupted restore
    <jobs>/*                               the worker's scratch folders (spoken sentences and
                                           self-test files of every speaker: they hold nothing
                                           needed later, and which speaker made them is not
                                           recorded), unless scratch=False
Backups and exported files the user saved elsewhere are theirs and are not touched; the report
says so. Base models are shared and never speaker data, so they stay.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from core.paths import jobs_dir
from core.voices.files import default_build_dir
from core.voices.package import VoicePackageError

KEPT_NOTE = ("Backups (.zip) and exported voices (.voicebank) you saved elsewhere are not touched; "
             "delete those files yourself if you want them gone too.")


@dataclass
class EraseReport:
    removed: list[Path] = field(default_factory=list)   # top-level paths removed
    files: int = 0
    bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"Deleted {self.files} file(s), {self.bytes / 1e6:.1f} MB:"]
        lines += [f"  {p}" for p in self.removed]
        return "\n".join(lines + self.notes)


def _count(path: Path) -> tuple[int, int]:
    if path.is_symlink() or path.is_file():
        return 1, path.lstat().st_size
    files = size = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            files += 1
            try:
                size += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return files, size


def _remove(path: Path, report: EraseReport) -> None:
    if not (path.exists() or path.is_symlink()):
        return
    files, size = _count(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError as exc:
        raise VoicePackageError(f"Could not delete {path} ({exc.strerror or exc}). Close any program "
                                "using it and try again; what was deleted so far is listed above.") from exc
    report.removed.append(path)
    report.files += files
    report.bytes += size


def _voice_history(speaker_folder: Path, voice_id: str, report: EraseReport) -> None:
    """Drop the speak history's entries (and their audio) that were said in this voice."""
    from core.bank.files import read_json, write_json_atomic

    speak = speaker_folder / "speak"
    history_file = speak / "history.json"
    data = read_json(history_file)
    if not isinstance(data, dict) or not isinstance(data.get("said"), list):
        return
    keep = []
    audio_dir = (speak / "history").resolve()
    for item in data["said"]:
        if isinstance(item, dict) and item.get("voice") == voice_id:
            audio = Path(str(item.get("audio") or ""))
            if audio.is_file() and audio.resolve().parent == audio_dir:
                _remove(audio, report)
        else:
            keep.append(item)
    if len(keep) != len(data["said"]):
        write_json_atomic(history_file, {**data, "said": keep})


def _build_made(build_dir: Path, voice_folder: Path) -> bool:
    from core.bank.files import read_json

    job = read_json(build_dir / "job.json")
    return isinstance(job, dict) and (job.get("voice_id") == voice_folder.name
                                      or Path(str(job.get("voice") or "")).name == voice_folder.name)


def _scratch() -> list[Path]:
    jobs = jobs_dir()
    return sorted(jobs.iterdir()) if jobs.is_dir() else []


def delete_voice(voice_folder: str | os.PathLike, *, scratch: bool = True) -> EraseReport:
    """Remove one voice and everything made from it (see the module docstring)."""
    folder = Path(voice_folder)
    if folder.parent.name != "voices" or not (folder / "voice.json").is_file() or folder.is_symlink():
        raise VoicePackageError(f"{folder} is not a voice folder (<speaker>/voices/<id> with a "
                                "voice.json); nothing was deleted.")
    speaker_folder = folder.parent.parent
    report = EraseReport()
    _voice_history(speaker_folder, folder.name, report)
    _remove(speaker_folder / "speak" / "phrase-cache", report)
    build = default_build_dir(speaker_folder)
    if _build_made(build, folder):
        _remove(build, report)
    _remove(folder.parent / f".{folder.name}.part", report)
    for path in _scratch() if scratch else []:
        _remove(path, report)      # sentences spoken in this voice sit here, unlabelled
    _remove(folder, report)
    report.notes.append(KEPT_NOTE)
    return report


def speaker_files(bank, speaker_id: str, scratch: bool = True) -> list[Path]:
    """Every top-level path delete_speaker would remove, for a confirmation prompt."""
    speaker = bank.speaker(speaker_id)                  # BankError if there is no such speaker
    root = Path(bank.root)
    paths = [Path(speaker.folder)]
    # Exact name patterns: speaker "anna" must not take "anna-2"'s copies with it.
    kept_copy = re.compile(rf"{re.escape(speaker.id)}-\d{{4}}-\d\d-\d\dT\d{{6}}")
    staging = re.compile(rf"\.restore-{re.escape(speaker.id)}-[a-z0-9_]{{8}}")
    if (root / ".replaced").is_dir():
        paths += sorted(p for p in (root / ".replaced").iterdir() if kept_copy.fullmatch(p.name))
    paths += sorted(p for p in root.iterdir() if staging.fullmatch(p.name))
    return paths + (_scratch() if scratch else [])


def delete_speaker(bank, speaker_id: str, *, scratch: bool = True) -> EraseReport:
    """Remove a speaker and every file of theirs (see the module docstring)."""
    report = EraseReport()
    for path in speaker_files(bank, speaker_id, scratch):
        _remove(path, report)
    replaced = Path(bank.root) / ".replaced"
    if replaced.is_dir() and not any(replaced.iterdir()):
        replaced.rmdir()
    report.notes.append(KEPT_NOTE)
    return report
