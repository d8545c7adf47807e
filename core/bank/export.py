"""The user owns their recordings: LJSpeech-style export and zip backup of a speaker (restore:
core.bank.restore)."""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from core.audio.io import resample, sf_path, write_wav
from core.bank.files import atomic_zip
from core.bank.store import BankError, Speaker, now_iso
from core.diskspace import ensure_space, reporting_disk_full, write_bytes_atomic



@dataclass
class ExportSummary:
    folder: Path
    clips: int
    seconds: float
    skipped_red: int


def export_dataset(speaker: Speaker, out_dir: Path, *, use_clean: bool = True,
                   include_red: bool = False, sample_rate: int | None = None) -> ExportSummary:
    """Write `out_dir/wavs/<prompt-id>.wav` and `out_dir/metadata.csv` (`id|text|text`, LJSpeech).

    Everything is written into a hidden folder beside `out_dir` and renamed into place at the
    end, so a full disk (DiskFullError) or any other failure leaves no half export behind."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BankError(f"{out_dir} is not empty. Choose a new folder so nothing in it is overwritten.")
    chosen, skipped, needed = [], 0, 4096
    for prompt_id, take in speaker.current_takes().items():
        if take.grade == "red" and not include_red:
            skipped += 1
            continue
        source = take.best_audio_path() if use_clean else take.raw_path
        chosen.append((prompt_id, take, source))
        try:
            info = sf.info(sf_path(source))
            needed += 44 + 2 * int(info.frames * (sample_rate or info.samplerate) / info.samplerate)
        except Exception:
            pass     # read below, where an unreadable take gets its own message
        needed += 2 * len(take.text.encode("utf-8")) + 64
    failed = f"the export to {out_dir} could not be written"
    kept = "Nothing was exported and the part already written was removed; your recordings are unchanged."
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    ensure_space(out_dir.parent, needed, failed)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".part"))
    rows, seconds = [], 0.0
    try:
        with reporting_disk_full(failed, out_dir.parent, needed_bytes=needed, kept=kept):
            wavs = staging / "wavs"
            wavs.mkdir()
            for prompt_id, take, source in chosen:
                data, rate = sf.read(sf_path(source), dtype="float32")
                if sample_rate and sample_rate != rate:
                    data, rate = resample(data, rate, sample_rate), sample_rate
                write_wav(wavs / f"{prompt_id}.wav", data, rate)
                text = " ".join(take.text.replace("|", " ").split())
                rows.append((prompt_id, text, text))
                seconds += len(data) / rate
            table = io.StringIO()
            writer = csv.writer(table, delimiter="|", quoting=csv.QUOTE_NONE, escapechar="\\",
                                lineterminator="\n")
            writer.writerows(rows)
            write_bytes_atomic(staging / "metadata.csv", table.getvalue().encode("utf-8"))
            if out_dir.exists():
                out_dir.rmdir()          # empty (checked above): the finished export takes its place
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportSummary(out_dir, len(rows), seconds, skipped)


def backup_speaker(speaker: Speaker, zip_path: Path) -> Path:
    """Zip the whole speaker folder (raw takes, cleaned copies, JSON). Written atomically; a full
    disk raises DiskFullError and leaves no half zip."""
    zip_path = Path(zip_path)
    files = [p for p in sorted(speaker.folder.rglob("*")) if p.is_file() and not p.name.endswith(".part")]
    total = sum(p.stat().st_size for p in files) + 1024 * (len(files) + 1)
    failed = f"the backup {zip_path.name} could not be written"
    # WAV barely compresses: a disk with less than ~80 % of the folder's size cannot hold the zip
    ensure_space(zip_path.parent, int(0.8 * total), failed)
    with atomic_zip(zip_path, f"voicebank speaker backup {speaker.id} {now_iso()}".encode(),
                    failed=failed, needed_bytes=total) as zf:
        for path in files:
            zf.write(path, f"{speaker.id}/{path.relative_to(speaker.folder).as_posix()}")
    return zip_path
