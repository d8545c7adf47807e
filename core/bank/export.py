"""The user owns their recordings: LJSpeech-style export, zip backup and restore of a speaker."""
from __future__ import annotations

import csv
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import soundfile as sf

from core.audio.io import resample, write_wav
from core.bank.files import atomic_zip, read_json
from core.bank.store import Bank, BankError, Speaker, now_iso

MAX_RESTORE_BYTES = 50 * 1024**3   # a zip claiming more than this unpacked is refused (zip bomb)


@dataclass
class ExportSummary:
    folder: Path
    clips: int
    seconds: float
    skipped_red: int


def export_dataset(speaker: Speaker, out_dir: Path, *, use_clean: bool = True,
                   include_red: bool = False, sample_rate: int | None = None) -> ExportSummary:
    """Write `out_dir/wavs/<prompt-id>.wav` and `out_dir/metadata.csv` (`id|text|text`, LJSpeech)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BankError(f"{out_dir} is not empty. Choose a new folder so nothing in it is overwritten.")
    wavs = out_dir / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    rows, seconds, skipped = [], 0.0, 0
    for prompt_id, take in speaker.current_takes().items():
        if take.grade == "red" and not include_red:
            skipped += 1
            continue
        source = take.best_audio_path() if use_clean else take.raw_path
        data, rate = sf.read(str(source), dtype="float32")
        if sample_rate and sample_rate != rate:
            data, rate = resample(data, rate, sample_rate), sample_rate
        write_wav(wavs / f"{prompt_id}.wav", data, rate)
        text = " ".join(take.text.replace("|", " ").split())
        rows.append((prompt_id, text, text))
        seconds += len(data) / rate
    with open(out_dir / "metadata.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="|", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
        writer.writerows(rows)
    return ExportSummary(out_dir, len(rows), seconds, skipped)


def backup_speaker(speaker: Speaker, zip_path: Path) -> Path:
    """Zip the whole speaker folder (raw takes, cleaned copies, JSON). Written atomically."""
    zip_path = Path(zip_path)
    with atomic_zip(zip_path, f"voicebank speaker backup {speaker.id} {now_iso()}".encode()) as zf:
        for path in sorted(speaker.folder.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                zf.write(path, f"{speaker.id}/{path.relative_to(speaker.folder).as_posix()}")
    return zip_path


def restore_speaker(bank: Bank, zip_path: Path, *, replace: bool = False) -> Speaker:
    """Unpack a backup into the bank. An existing speaker is kept unless `replace` is given."""
    zip_path = Path(zip_path)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BankError(f"{zip_path.name} is not a voicebank backup (not a readable zip file).") from exc
    with zf:
        names = zf.namelist()
        tops = {PurePosixPath(n).parts[0] for n in names if n.strip("/")}
        if len(tops) != 1 or f"{next(iter(tops))}/speaker.json" not in names:
            raise BankError(f"{zip_path.name} is not a voicebank backup: it has no single speaker "
                            "folder with a speaker.json. Nothing was changed.")
        speaker_id = next(iter(tops))
        for name in names:
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or "\\" in name:
                raise BankError(f"{zip_path.name} contains an unsafe path ({name!r}); refused. Nothing was changed.")
        if sum(i.file_size for i in zf.infolist()) > MAX_RESTORE_BYTES:
            raise BankError(f"{zip_path.name} would unpack to more than 50 GB; refused.")
        bank.ensure()
        target = bank.root / speaker_id
        if target.exists() and not replace:
            raise BankError(f"The bank already has a speaker {speaker_id!r}. Nothing was changed. "
                            "Use --replace to put the backup in its place (the current one is moved "
                            "to the bank's .replaced folder, not deleted).")
        staging = Path(tempfile.mkdtemp(dir=bank.root, prefix=f".restore-{speaker_id}-"))
        try:
            try:
                zf.extractall(staging)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise BankError(f"{zip_path.name} is damaged ({exc}). Nothing was changed.") from exc
            if not isinstance(read_json(staging / speaker_id / "speaker.json"), dict):
                raise BankError(f"{zip_path.name}: its speaker.json is damaged. Nothing was changed.")
            if target.exists():
                # Keep the old folder rather than deleting a person's recordings.
                kept = bank.root / ".replaced" / f"{speaker_id}-{now_iso()[:19].replace(':', '')}"
                kept.parent.mkdir(exist_ok=True)
                target.rename(kept)
            os.replace(staging / speaker_id, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return bank.speaker(speaker_id)
