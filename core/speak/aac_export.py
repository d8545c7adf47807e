"""The person's own recorded messages as a message bank for AAC software.

Grid 3, TD Snap and other AAC programs import banked messages as a folder of sound files, each
named by what it says. `export_messages` writes exactly that:

    <OUT>/I love you.wav            one 16-bit mono WAV per message with a usable take
    <OUT>/我爱你.wav                 (names: core.speak.aac_names)
    <OUT>/index.csv                 text, file, duration_s, recorded (UTF-8 with a BOM, for Excel)

Only takes graded ✓ Good or ! Fair go in (the RNNoise-cleaned copy when there is one, else the
raw take), never ✗ Redo, a take not checked yet, or one whose file is missing; those messages are
listed as "not exported" with what to do. Each clip loses long silence at its start and end and
is brought to the same loudness (TARGET_LUFS, BS.1770), with its peaks kept under
PEAK_CEILING_DBFS so nothing clips: messages played one after another sound equally loud.

Everything is written into a hidden folder beside OUT and renamed into place at the end, so a full
disk (DiskFullError) or a folder the person may not write in (BankError) leaves no half export.
"""
from __future__ import annotations

import csv
import io
import math
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from core.audio.io import resample, sf_path, write_wav
from core.audio.measures import frame_powers, loudness_lufs, power_db
from core.bank.store import BankError, Speaker
from core.diskspace import DISK_FULL_ERRNOS, ensure_space, reporting_disk_full, write_bytes_atomic
from core.speak.aac_names import message_file_names, safe_stem, unique_name
from core.speak.messages import MessageRecording, message_recordings
from core.textcheck import printable

TARGET_LUFS = -20.0          # speech at a comfortable level, with room for the peaks
LOUDNESS_RANGE = (-40.0, -9.0)
PEAK_CEILING_DBFS = -1.0     # no sample above this after the gain: nothing clips
MAX_GAIN_DB = 30.0           # a very quiet take is not pushed up into its own noise
KEEP_BEFORE_S = 0.20         # silence kept before the first and after the last sound
KEEP_AFTER_S = 0.30          # (the end of a word fades slowly)
SILENCE_BELOW_LOUDEST_DB = 40.0
FADE_S = 0.010               # a cut edge fades in/out so it never clicks
INDEX_NAME = "index.csv"
INDEX_COLUMNS = ("text", "file", "duration_s", "recorded")


@dataclass(frozen=True)
class ExportedMessage:
    text: str
    file: str                  # the WAV's name inside the folder
    duration_s: float
    recorded: str              # YYYY-MM-DD, or "" when not known
    loudness_lufs: float | None


@dataclass(frozen=True)
class LeftOut:
    text: str
    what_to_do: str            # "record again", "record it", "wait for its check"
    why: str = ""              # "No speech heard"

    def line(self) -> str:
        """'not exported: record again: “I love you” (No speech heard)'"""
        why = f" ({self.why})" if self.why else ""
        return f"not exported: {self.what_to_do}: “{self.text}”{why}"


@dataclass
class MessageExport:
    folder: Path
    exported: list[ExportedMessage] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(m.duration_s for m in self.exported)

    def describe(self) -> str:
        """What happened, in sentences for the banner."""
        count = len(self.exported)
        text = (f"Saved {count} of your messages to {printable(self.folder)}: "
                f"one sound file each, named by its words, and {INDEX_NAME} listing them. In your "
                "AAC software (Grid 3, TD Snap…) import this folder as message banking recordings.")
        if self.left_out:
            text += (f" Not exported ({len(self.left_out)}): "
                     + "; ".join(f"“{m.text}” ({m.what_to_do})" for m in self.left_out) + ".")
        return text


# -- the sound -------------------------------------------------------------------------------
def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """`samples` without long silence at either end (KEEP_BEFORE_S / KEEP_AFTER_S are kept);
    unchanged when nothing stands out of the background."""
    hop = max(1, int(rate * 0.01))
    if len(samples) // hop < 3:
        return samples
    level = power_db(frame_powers(np.asarray(samples, np.float64), hop))
    threshold = max(float(level.max()) - SILENCE_BELOW_LOUDEST_DB, -70.0)
    sound = np.flatnonzero(level > threshold)
    if sound.size == 0:
        return samples
    start = max(0, int(sound[0]) * hop - int(KEEP_BEFORE_S * rate))
    end = min(len(samples), (int(sound[-1]) + 1) * hop + int(KEEP_AFTER_S * rate))
    if start == 0 and end == len(samples):
        return samples
    out = np.array(samples[start:end], dtype=np.float32)
    fade = min(int(FADE_S * rate), len(out) // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        if start:
            out[:fade] *= ramp
        if end < len(samples):
            out[-fade:] *= ramp[::-1]
    return out


def _loudness(samples: np.ndarray, rate: int) -> float | None:
    measured = loudness_lufs(samples.astype(np.float64), rate)
    if measured is not None:
        return measured
    # shorter than one 400 ms BS.1770 block ("Yes"): the plain mean square, the same scale
    power = float(np.mean(np.square(samples, dtype=np.float64))) if len(samples) else 0.0
    return -0.691 + 10.0 * math.log10(power) if power > 1e-10 else None


def match_loudness(samples: np.ndarray, rate: int,
                   target_lufs: float = TARGET_LUFS) -> tuple[np.ndarray, float | None]:
    """(samples at `target_lufs`, their loudness); the gain is lowered as far as needed to keep
    every peak at or under PEAK_CEILING_DBFS, so the result never clips."""
    measured = _loudness(samples, rate)
    if measured is None:
        return samples.astype(np.float32), None
    gain = 10.0 ** (min(target_lufs - measured, MAX_GAIN_DB) / 20.0)
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    ceiling = 10.0 ** (PEAK_CEILING_DBFS / 20.0)
    if peak * gain > ceiling:
        gain = ceiling / peak
    return (samples * gain).astype(np.float32), round(measured + 20.0 * math.log10(gain), 1)


def prepare_clip(path: Path, *, target_lufs: float = TARGET_LUFS,
                 sample_rate: int | None = None) -> tuple[np.ndarray, int, float | None]:
    """(samples, rate, loudness) of one take, ready to write."""
    data, rate = sf.read(sf_path(path), dtype="float32", always_2d=True)
    samples = data.mean(axis=1)
    if sample_rate and sample_rate != rate:
        samples, rate = resample(samples, rate, sample_rate), sample_rate
    samples, loudness = match_loudness(trim_silence(samples, rate), rate, target_lufs)
    return samples, rate, loudness


# -- which messages ------------------------------------------------------------------------
def recorded_date(recording: MessageRecording) -> str:
    take = recording.take
    created = (take.created or "")[:10] if take is not None else ""
    try:
        datetime.strptime(created, "%Y-%m-%d")
        return created
    except ValueError:
        pass
    try:        # a take rebuilt after a crash has no date of its own: its file's
        stamp = take.raw_path.stat().st_mtime if take is not None else None
    except OSError:
        stamp = None
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d") if stamp else ""


def left_out(recording: MessageRecording) -> LeftOut | None:
    """Why this message is not exported, or None when its take can go in."""
    text = recording.message.text
    if recording.state == "none":
        return LeftOut(text, "record it", "not recorded yet")
    if recording.state == "missing":
        return LeftOut(text, "record again", "the recording file is missing")
    if recording.state == "unusable":
        return LeftOut(text, "record again", recording.reason or "it did not pass the check")
    if recording.take is None or recording.take.grade not in ("green", "amber"):
        return LeftOut(text, "wait for its check", "just recorded: export again in a minute")
    return None


def _refuse_folder(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise BankError(f"{printable(out_dir)} is a file, not a folder. Give a new folder's name.")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise BankError(f"{printable(out_dir)} is not empty. Choose a new folder so nothing in it is "
                        "overwritten.")


def not_writable(folder: Path, exc: OSError) -> BankError:
    return BankError(f"Your messages could not be saved in {printable(folder)} "
                     f"({exc.strerror or exc}). Nothing was exported. Choose another folder (one "
                     "in your home folder, or a USB stick that is not write-protected), then try again.")


def export_folder_in(parent: Path, speaker_name: str) -> Path:
    """A new folder in `parent` for a speaker's export: "Ada - messages", "Ada - messages (2)"..."""
    parent = Path(parent)
    taken = {p.name.casefold() for p in parent.iterdir()} if parent.is_dir() else set()
    return parent / unique_name(f"{safe_stem(speaker_name)} - messages", taken, suffix="")


def export_messages(speaker: Speaker, out_dir: Path, *, target_lufs: float = TARGET_LUFS,
                    sample_rate: int | None = None) -> MessageExport:
    """Write the usable messages of `speaker` into the new (or empty) folder `out_dir`."""
    out_dir = Path(out_dir)
    if not LOUDNESS_RANGE[0] <= target_lufs <= LOUDNESS_RANGE[1]:
        raise BankError(f"Choose a loudness from {LOUDNESS_RANGE[0]:g} to {LOUDNESS_RANGE[1]:g} LUFS "
                        f"({TARGET_LUFS:g} suits most AAC software).")
    if sample_rate is not None and not 8000 <= sample_rate <= 96000:
        raise BankError("Choose a sample rate from 8000 to 96000 Hz (most AAC software takes 22050, "
                        "44100 or 48000), or leave it out to keep 48000.")
    _refuse_folder(out_dir)
    recordings = message_recordings(speaker)
    if not recordings:
        raise BankError("There are no messages to export yet. Add your own messages on the Speaker "
                        "page (“I love you”, names…) and record them first.")
    result = MessageExport(out_dir)
    clips = []
    for recording in recordings:
        reason = left_out(recording)
        if reason is None:
            try:
                clip = prepare_clip(recording.take.best_audio_path(), target_lufs=target_lufs,
                                    sample_rate=sample_rate)
            except Exception:      # a damaged file: this message only, the others still go
                reason = LeftOut(recording.message.text, "record again", "the recording could not be read")
        if reason is not None:
            result.left_out.append(reason)
        else:
            clips.append((recording, clip))
    if not clips:
        raise BankError("None of your messages has a usable recording yet, so nothing was exported. "
                        + " ".join(m.line()[0].upper() + m.line()[1:] + "." for m in result.left_out))
    names = message_file_names([r.message.text for r, _ in clips], reserved=(INDEX_NAME,))
    needed = 4096 + sum(44 + 2 * len(samples) + 600 for _, (samples, _r, _l) in clips)
    failed = f"your messages could not be exported to {printable(out_dir)}"
    kept = "Nothing was exported and the part already written was removed; your recordings are unchanged."
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        ensure_space(out_dir.parent, needed, failed)
        staging = out_dir.parent / f".{out_dir.name}.{secrets.token_hex(4)}.part"
        with reporting_disk_full(failed, out_dir.parent, needed_bytes=needed, kept=kept):
            staging.mkdir()
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise
        raise not_writable(out_dir.parent, exc) from exc
    try:
        with reporting_disk_full(failed, out_dir.parent, needed_bytes=needed, kept=kept):
            for (recording, (samples, rate, loudness)), name in zip(clips, names):
                write_wav(staging / name, samples, rate)
                result.exported.append(ExportedMessage(recording.message.text, name,
                                                       round(len(samples) / rate, 2),
                                                       recorded_date(recording), loudness))
            write_bytes_atomic(staging / INDEX_NAME, index_csv(result.exported))
            if out_dir.exists():
                out_dir.rmdir()          # empty (checked above): the finished export takes its place
            os.replace(staging, out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno in DISK_FULL_ERRNOS:
            raise
        raise not_writable(out_dir.parent, exc) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def index_csv(messages: list[ExportedMessage]) -> bytes:
    """The index: one row per file, with a header; UTF-8 with a BOM so Excel shows Chinese."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\r\n")
    writer.writerow(INDEX_COLUMNS)
    for m in messages:
        writer.writerow((" ".join(m.text.split()), m.file, f"{m.duration_s:.2f}", m.recorded))
    return table.getvalue().encode("utf-8-sig")
