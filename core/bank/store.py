"""The voice bank on disk: one folder per speaker, plain WAV and JSON a person can read and back up.

    <bank>/<speaker-id>/speaker.json            name, languages, created
    <bank>/<speaker-id>/messages.json           the user's own prompts (message banking)
    <bank>/<speaker-id>/sessions/<id>.json      one per recording session: device, room noise floor
    <bank>/<speaker-id>/takes/<prompt-id>/<take-id>.wav        raw take, 48 kHz mono PCM16, never modified
    <bank>/<speaker-id>/takes/<prompt-id>/<take-id>.clean.wav  RNNoise-cleaned copy
    <bank>/<speaker-id>/takes/<prompt-id>/<take-id>.json       metadata + quality report

A take is recorded into `<take-id>.wav.part` and renamed when it ends, so a crash or power cut
loses at most the take in progress; a finished WAV whose JSON never got written is recovered
from the WAV itself when the bank is read.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf

from core.audio.io import BANK_SAMPLE_RATE, resample, sf_path, to_int16, write_wav
from core.audio.wavstream import open_recording, recording_write_error
from core.bank.files import read_json, write_json_atomic
from core.diskspace import (MIN_FREE_TO_RECORD, RECORDING_ADVICE, DiskFullError, disk_full_error,
                            is_disk_full, recording_bytes, release_reserve, reporting_disk_full)
from core.bank.progress import Progress, count_progress, read_skipped, resume_index, write_skipped
from core.bank.prompts import MAX_MESSAGE_CHARS, Prompt, guess_language, interleave, load_script
from core.paths import default_bank_dir
from core.textcheck import text_problem

BANK_FORMAT = 1


class BankError(Exception):
    """A problem with the bank on disk, worded for the user."""


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _new_id(prefix: str) -> str:
    now = datetime.now()
    # millisecond stamp first so that names sort in recording order
    return f"{prefix}{now:%Y%m%d-%H%M%S}{now.microsecond // 1000:03d}-{secrets.token_hex(2)}"


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:40] or "speaker"


@dataclass
class SpeakerInfo:
    id: str
    name: str
    languages: list[str]
    created: str
    format: int = BANK_FORMAT


@dataclass
class Session:
    id: str
    started: str
    device: str = ""
    noise_floor_dbfs: float | None = None
    room_ok: bool | None = None
    room_disturbed: bool | None = None     # the room check heard speech or a sudden sound


@dataclass
class Take:
    id: str
    prompt_id: str
    text: str
    session_id: str
    created: str
    duration_s: float
    sample_rate: int = BANK_SAMPLE_RATE
    capture_rate: int = BANK_SAMPLE_RATE
    interrupted: bool = False      # the microphone stopped mid-take; what came is kept
    quality: dict | None = None    # QualityReport.to_dict()
    cleaned: bool = False
    cleanup_mix: float | None = None   # share of RNNoise output in the cleaned copy (0 = left as recorded)
    recovered: bool = False        # rebuilt from a WAV whose JSON was lost in a crash
    folder: Path = field(default=Path("."), repr=False, compare=False)

    @property
    def raw_path(self) -> Path:
        return self.folder / f"{self.id}.wav"

    @property
    def clean_path(self) -> Path:
        return self.folder / f"{self.id}.clean.wav"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.id}.json"

    @property
    def grade(self) -> str | None:
        return (self.quality or {}).get("grade")

    def best_audio_path(self) -> Path:
        return self.clean_path if self.cleaned and self.clean_path.exists() else self.raw_path

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("folder")
        return data

    def save(self) -> None:
        write_json_atomic(self.meta_path, self.to_json(), failed="the details of this take could not be saved")


class TakeWriter:
    """Streams a take to `<id>.wav.part` while it is recorded; `finish` makes it a real take.

    When a write fails (the disk is full, a USB stick was pulled out) the take stops there: what
    reached the disk stays a valid WAV, `append` raises one worded error and ignores later
    blocks, and `finish` keeps the written part as an interrupted take, graded like any other.
    """

    def __init__(self, speaker: "Speaker", prompt: Prompt, session: Session, capture_rate: int):
        self.speaker = speaker
        self.prompt = prompt
        self.session = session
        self.capture_rate = int(capture_rate)
        self.take_id = _new_id("t")
        self.folder = speaker.folder / "takes" / prompt.id
        self.part_path = self.folder / f"{self.take_id}.wav.part"
        self.frames = 0
        self.closed = False
        self.failed: OSError | None = None     # the worded error that stopped the take
        self.reserve_folder = speaker.folder.parent
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.closed = True
            if is_disk_full(exc):
                raise disk_full_error(exc, "recording cannot start: the take could not be saved",
                                      speaker.folder, needed_bytes=MIN_FREE_TO_RECORD,
                                      kept="Every earlier take is safe.", advice=RECORDING_ADVICE) from exc
            raise BankError(f"Cannot write in {self.folder} ({exc.strerror or exc}). Check the disk "
                            "and its permissions, then record again.") from exc
        # Space is set aside (one file in the bank folder, outside every speaker's folder) so
        # that, if the disk fills during this take, its details and quality report can still be
        # written: recording_write_error releases it.
        try:
            self._file = open_recording(self.part_path, self.capture_rate, self.reserve_folder)
        except OSError:
            self.closed = True
            raise

    @property
    def seconds(self) -> float:
        return self.frames / self.capture_rate

    def append(self, block: np.ndarray) -> None:
        if self.failed is not None or self.closed:
            return      # the take already stopped: nothing more is written or kept in memory
        block = np.asarray(block)
        if block.ndim == 2:
            block = block.mean(axis=1) if block.dtype.kind == "f" else block[:, 0]
        if block.dtype.kind == "f":
            block = to_int16(block)
        try:
            self._file.write(block.astype(np.int16, copy=False))
            self.frames = self._file.frames
            if self.frames % (self.capture_rate // 2) < len(block):
                self._file.flush()  # about twice a second: a crash keeps most of a long take readable
        except OSError as exc:
            self.failed = recording_write_error(exc, self._file, self.reserve_folder)
            self.frames = self._file.frames
            raise self.failed from exc

    def abort(self) -> None:
        """Discard the take in progress (the user pressed Esc, or nothing was captured)."""
        if not self.closed:
            self._file.salvage()
            self.closed = True
        self.part_path.unlink(missing_ok=True)

    def finish(self, *, interrupted: bool = False) -> Take | None:
        """Close, convert to 48 kHz if the device could not record at it, rename, write the JSON.
        A take stopped by a write error is kept (interrupted) like one cut off by the microphone."""
        if self.closed:
            return None
        self.closed = True
        interrupted = interrupted or self.failed is not None
        try:
            self._file.close()
        except OSError:
            self._file.salvage()     # the header could not be updated in place; cut back to it
            self.frames = self._file.frames
        if self.frames == 0:
            self.part_path.unlink(missing_ok=True)
            return None
        raw = self.folder / f"{self.take_id}.wav"
        if self.capture_rate != BANK_SAMPLE_RATE:
            data, _ = sf.read(sf_path(self.part_path), dtype="float32")
            with reporting_disk_full("this take could not be converted to 48 kHz", self.folder,
                                     needed_bytes=recording_bytes(self.seconds),
                                     kept=f"Its sound is kept in {self.part_path}.",
                                     advice=RECORDING_ADVICE):
                write_wav(raw, resample(data, self.capture_rate, BANK_SAMPLE_RATE), BANK_SAMPLE_RATE)
            self.part_path.unlink(missing_ok=True)
        else:
            os.replace(self.part_path, raw)     # same folder: a rename, needs no space
        take = Take(
            id=self.take_id, prompt_id=self.prompt.id, text=self.prompt.text,
            session_id=self.session.id, created=now_iso(),
            duration_s=round(sf.info(sf_path(raw)).duration, 3),
            capture_rate=self.capture_rate, interrupted=interrupted, folder=self.folder,
        )
        try:
            take.save()
        except DiskFullError:
            # The sound is safe under its final name (the bank finds it again without its
            # JSON); use the reserved space for its details if it is still there.
            if not release_reserve(self.reserve_folder):
                raise
            take.save()
        return take


class Speaker:
    def __init__(self, folder: Path, info: SpeakerInfo):
        self.folder = folder
        self.info = info

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    # prompts -----------------------------------------------------------------
    def messages(self) -> list[Prompt]:
        data = read_json(self.folder / "messages.json") or []
        return [Prompt(m["id"], m["text"], m.get("language", "mixed"), "message") for m in data]

    def add_message(self, text: str) -> Prompt:
        text = " ".join(text.split())
        if not text:
            raise BankError("The message is empty. Type the words you want to record.")
        if problem := text_problem(text, "The message"):
            raise BankError(problem)        # before messages.json is touched
        if len(text) > MAX_MESSAGE_CHARS:
            raise BankError(f"The message is {len(text)} characters long; keep it under "
                            f"{MAX_MESSAGE_CHARS} so it can be read in one go, or split it in two.")
        existing = self.messages()
        numbers = [int(m.id.split("-")[1]) for m in existing if m.id.split("-")[-1].isdigit()]
        prompt = Prompt(f"msg-{max(numbers, default=0) + 1:04d}", text, guess_language(text), "message")
        self._save_messages(existing + [prompt])
        return prompt

    def remove_message(self, prompt_id: str) -> None:
        """Drop a message from the prompt list; its takes stay on disk (nothing recorded is deleted)."""
        self._save_messages([m for m in self.messages() if m.id != prompt_id])

    def _save_messages(self, prompts: list[Prompt]) -> None:
        write_json_atomic(self.folder / "messages.json",
                          [{"id": p.id, "text": p.text, "language": p.language} for p in prompts],
                          failed="the list of your own messages could not be saved")

    def prompts(self) -> list[Prompt]:
        """The user's messages first (they matter most), then the chosen scripts, taken in turn
        (one Mandarin, one English, ...) so that a bilingual speaker records both from the start."""
        scripts = []
        for language in self.info.languages:
            try:
                scripts.append(load_script(language))
            except (OSError, ValueError) as exc:
                raise BankError(f"The recording script for {language!r} is missing or damaged ({exc}). "
                                "Reinstall voicebank to get it back; your recordings are not affected.") from exc
        return list(self.messages()) + interleave(scripts)

    def skipped(self) -> set[str]:
        """Prompts the person cannot say ("I can't say this one"): not asked for, not counted."""
        return set(read_skipped(self.folder))

    def set_skipped(self, prompt_id: str, skipped: bool = True) -> None:
        """Skip a prompt, or (skipped=False) bring it back. Its takes, if any, are kept."""
        ids = [i for i in read_skipped(self.folder) if i != prompt_id]
        write_skipped(self.folder, ids + [prompt_id] if skipped else ids)

    # sessions ----------------------------------------------------------------
    def start_session(self, device: str = "", noise_floor_dbfs: float | None = None,
                      room_ok: bool | None = None) -> Session:
        session = Session(_new_id("s"), now_iso(), device, noise_floor_dbfs, room_ok)
        self.save_session(session)
        return session

    def save_session(self, session: Session) -> None:
        write_json_atomic(self.folder / "sessions" / f"{session.id}.json", asdict(session),
                          failed="the recording session could not be started")

    def sessions(self) -> list[Session]:
        out = []
        for path in sorted((self.folder / "sessions").glob("*.json")):
            data = read_json(path)
            if isinstance(data, dict) and "id" in data:
                out.append(Session(**{k: data.get(k) for k in Session.__dataclass_fields__}))
        return out

    def session(self, session_id: str) -> Session | None:
        data = read_json(self.folder / "sessions" / f"{session_id}.json")
        if not isinstance(data, dict):
            return None
        return Session(**{k: data.get(k) for k in Session.__dataclass_fields__})

    # takes -------------------------------------------------------------------
    def begin_take(self, prompt: Prompt, session: Session, capture_rate: int = BANK_SAMPLE_RATE) -> TakeWriter:
        return TakeWriter(self, prompt, session, capture_rate)

    def takes(self, prompt_id: str) -> list[Take]:
        """All finished takes of a prompt, oldest first (ids sort by time)."""
        folder = self.folder / "takes" / prompt_id
        if not folder.is_dir():
            return []
        takes = []
        for wav in sorted(folder.glob("*.wav")):
            if wav.name.endswith(".clean.wav"):
                continue
            take = self._load_take(wav, prompt_id)
            if take is not None:
                takes.append(take)
        return takes

    def current_take(self, prompt_id: str) -> Take | None:
        takes = self.takes(prompt_id)
        return takes[-1] if takes else None

    def current_takes(self) -> dict[str, Take]:
        out = {}
        for prompt in self.prompts():
            take = self.current_take(prompt.id)
            if take is not None:
                out[prompt.id] = take
        return out

    def _load_take(self, wav: Path, prompt_id: str) -> Take | None:
        take_id = wav.name[: -len(".wav")]
        data = read_json(wav.with_suffix(".json"))
        if isinstance(data, dict) and data.get("id") == take_id:
            fields = {k: data[k] for k in Take.__dataclass_fields__ if k in data and k != "folder"}
            return Take(**fields, folder=wav.parent)
        # The WAV was renamed into place but the crash came before its JSON: rebuild it.
        try:
            info = sf.info(sf_path(wav))
        except Exception:
            return None
        prompt = next((p for p in self.prompts() if p.id == prompt_id), None)
        return Take(id=take_id, prompt_id=prompt_id, text=prompt.text if prompt else "",
                    session_id="", created="", duration_s=round(info.duration, 3),
                    sample_rate=info.samplerate, recovered=True, folder=wav.parent)

    def progress(self) -> Progress:
        """Counted in usable takes (✓ Good or ! Fair); skipped prompts are left out."""
        return count_progress(self.prompts(), self.current_take, self.skipped())

    def first_unrecorded_index(self) -> int:
        """Where a session resumes: the first prompt, not skipped, with no take or a ✗ Redo one
        (or the last one when all are done)."""
        return resume_index(self.prompts(), self.current_take, self.skipped())

    def leftover_parts(self) -> list[Path]:
        """Takes that were being recorded when the app died; shown to the user, never silently deleted."""
        return sorted((self.folder / "takes").glob("*/*.wav.part"))


class Bank:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_bank_dir()

    def ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BankError(f"Cannot create the bank folder {self.root} ({exc.strerror}). "
                            "Choose another folder with --bank or check its permissions.") from exc

    def speakers(self) -> list[Speaker]:
        if not self.root.is_dir():
            return []
        out = []
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith("."):   # staging and replaced copies, not speakers
                continue
            speaker = self._load(folder)
            if speaker is not None:
                out.append(speaker)
        return out

    def _load(self, folder: Path) -> Speaker | None:
        data = read_json(folder / "speaker.json")
        if not isinstance(data, dict) or "id" not in data:
            return None
        info = SpeakerInfo(**{k: data[k] for k in SpeakerInfo.__dataclass_fields__ if k in data})
        return Speaker(folder, info)

    def create_speaker(self, name: str, languages: list[str]) -> Speaker:
        name = name.strip()
        if not name:
            raise BankError("Give the speaker a name (it is only used to label the folder).")
        if problem := text_problem(name, "The name"):
            raise BankError(problem)        # checked before the folder is made: no empty speaker
        bad = [lang for lang in languages if lang not in ("zh", "en")]
        if bad or not languages:
            raise BankError("Choose the languages to record: zh (Mandarin), en (English) or both.")
        self.ensure()
        base = slugify(name)
        speaker_id, n = base, 2
        while (self.root / speaker_id).exists():
            speaker_id, n = f"{base}-{n}", n + 1
        folder = self.root / speaker_id
        info = SpeakerInfo(speaker_id, name, list(languages), now_iso())
        try:
            write_json_atomic(folder / "speaker.json", asdict(info), failed=f"the speaker {name} could not be created")
        except DiskFullError:
            with contextlib.suppress(OSError):
                folder.rmdir()          # made just now and still empty: leave no half speaker
            raise
        return Speaker(folder, info)

    def speaker(self, speaker_id: str) -> Speaker:
        speaker = self._load(self.root / speaker_id)
        if speaker is None:
            known = ", ".join(s.id for s in self.speakers()) or "none yet"
            raise BankError(f"No speaker called {speaker_id!r} in {self.root} (speakers: {known}).")
        return speaker
