"""Consent: the speaker reads a statement aloud before a voice is made, and the build checks
that the recordings are the voice of the person who consented.

    <speaker>/consent/<id>.wav    the statement as recorded (raw, never modified)
    <speaker>/consent/<id>.json   ConsentRecord: text, date, language, role, names, embedding

Every recording is kept (a record of consent over time); the newest one counts. A recording is
written to `<id>.wav.part` and renamed when it ends, its JSON written atomically, as takes are.

Policy when the speaker-check weights are not installed: the consent recording is still
required (it is the safeguard), the similarity check is not run, and the build goes on with a
warning that says what to install; the warning is kept in the voice's voice.json. A patient must
not lose the chance to bank their voice over a missing 16 MB package.

The threshold (0.75, consent recording vs the mean of up to 24 takes) is meant to catch a
clearly different person, not to be a biometric lock: a false "different" would stop a patient
whose voice changed between the prompts and the consent (ALS is progressive), and the consent
recording itself is the main safeguard. Measured with the pretrained weights on synthetic voices
(tests/core/trust/voices.py; no real recordings were available): the same voice scores
0.967-0.991 (consent vs mean of takes) and 0.86-0.95 take against take; voices with different
pitch and formants 0.71-0.96 (synthetic voices share one source model, so this encoder puts them
close together; only the most distant pairs, 0.71-0.73, fall below 0.75). 0.75 stays below
every same-voice figure with a margin for microphone, room and day, and must be confirmed on
real recordings of several people.

This module imports no torch: the GUI uses it for the statements and the files.
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from datetime import date as Date
from pathlib import Path

import numpy as np
import soundfile as sf

from core.audio.io import sf_path
from core.audio.wavstream import open_recording, recording_write_error
from core.bank.files import read_json, write_json_atomic
from core.bank.store import BankError, _new_id, now_iso
from core.textcheck import text_problem

CONSENT = "consent"
THRESHOLD = 0.75           # cosine similarity; why this value: the module docstring
MAX_TAKES = 24             # takes compared (spread over the bank): enough for a stable mean
MAX_TAKE_S = 20.0          # seconds of each take used
MIN_CONSENT_S = 3.0
# Voice needed in a consent recording, found by the same voice-activity analysis as takes
# (core.audio.quality.analyze). The statement is several sentences (20-40 s read aloud), so
# 1 s is far below any real reading, even a slow, weak one, while silence, hum, a tone, a
# square wave or noise score 0 s (tests/core/trust/test_consent_speech.py).
MIN_CONSENT_SPEECH_S = 1.0
SPEECH_CHUNK_S = 20.0      # analysed piece by piece; a real reading is accepted after the first
NO_SPEECH = ("No speech was heard in the recording, so it was not kept. The consent statement "
             "must be read aloud by {name}. Check that the right microphone is chosen and not "
             "muted, then record the statement again.")
NOT_NUMBERS = ("The recording is damaged: {count} of its samples are not numbers (NaN or infinity), "
               "so it cannot be used as consent and was not kept. Record the statement again, or "
               "save it again from the program that made it as a 16-bit WAV.")
ROLES = ("self", "donor")
NEED_CONSENT = ("Record the consent statement first (Speaker page, “Consent” button, or "
                "`voicebank consent --speaker ID --record`): the person whose voice is recorded "
                "reads it aloud once.")

# Written for this project. {name}: the person recorded; {patient}: who the voice is for; {date}.
STATEMENTS = {
    ("en", "self"): (
        "My name is {name}. Today is {date}. I am recording my own voice so that this computer can "
        "make a voice that sounds like me, for me to speak with when my own voice is hard to hear "
        "or gone. I agree to this. My recordings and the voice made from them stay on this "
        "computer and are not sent anywhere. I can delete them whenever I wish. The voice is for "
        "me, and for the people I choose to help me speak."),
    ("en", "donor"): (
        "My name is {name}. Today is {date}. I am giving my voice to {patient}. I am recording it "
        "so that this computer can make a voice for {patient} to speak with, when {patient}'s own "
        "voice is hard to hear or gone. I agree to this. My recordings and the voice made from "
        "them stay on this computer and are not sent anywhere. {patient} or I can delete them "
        "whenever we wish. The voice is for {patient} to speak with, and for nothing else."),
    ("zh", "self"): (
        "我叫{name}。今天是{date}。我录下自己的声音，是为了让这台电脑做出一个像我的声音，"
        "在我说话困难或者说不出话的时候，用它来说话。我同意这样做。我的录音和用它做出的声音"
        "只保存在这台电脑上，不会发送到任何地方。我随时可以把它们删除。这个声音只给我本人，"
        "以及我选定的帮我说话的人使用。"),
    ("zh", "donor"): (
        "我叫{name}。今天是{date}。我把我的声音捐给{patient}。我录下自己的声音，是为了让这台"
        "电脑做出一个声音，在{patient}说话困难或者说不出话的时候，让{patient}用它来说话。我同意"
        "这样做。我的录音和用它做出的声音只保存在这台电脑上，不会发送到任何地方。{patient}或者"
        "我随时可以把它们删除。这个声音只用来帮{patient}说话，不作别的用途。"),
}


class ConsentError(Exception):
    """No consent, or recordings that are not the consenting person's voice (worded for the user)."""


class NoSpeechError(ConsentError):
    """The consent recording holds no speech (silence, noise, a tone): nothing was kept."""


def _check_names(**names: str) -> None:
    """Refuse a name or text that cannot be stored, before any file is made."""
    labels = {"name": "The name", "patient": "The name of the person the voice is for",
              "text": "The statement"}
    for key, value in names.items():
        if problem := text_problem(value, labels.get(key, "The text")):
            raise ConsentError(problem)


def format_date(day: Date, language: str) -> str:
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {day:%B} {day.year}"


def statement(language: str, name: str, day: Date | None = None, *, role: str = "self",
              patient: str = "") -> str:
    """The consent text to read aloud. role "donor": `name` gives their voice to `patient`."""
    language = language if language in ("zh", "en") else "en"
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if role == "donor" and not patient.strip():
        raise ConsentError("Give the name of the person the voice is for.")
    _check_names(name=name, patient=patient)
    return STATEMENTS[(language, role)].format(
        name=name.strip(), patient=patient.strip(), date=format_date(day or Date.today(), language))


@dataclass
class ConsentRecord:
    id: str
    language: str
    role: str                  # "self": the speaker; "donor": a relative gives their voice
    name: str                  # who is speaking in the recording
    patient: str               # who the voice is for (the speaker's name)
    date: str                  # the date read aloud, ISO (YYYY-MM-DD)
    text: str
    recorded: str
    duration_s: float
    sample_rate: int
    embedding: list[float] | None = None
    encoder: str = ""
    folder: Path = field(default=Path("."), repr=False, compare=False)

    @property
    def wav_path(self) -> Path:
        return self.folder / f"{self.id}.wav"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.id}.json"

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("folder")
        return data

    def describe(self) -> str:
        who = self.name if self.role == "self" else f"{self.name}, voice donor for {self.patient}"
        return f"Consent recorded by {who} on {self.date} ({self.duration_s:.0f} s)."


def consent_folder(speaker) -> Path:
    return Path(speaker.folder) / CONSENT


def consents(speaker) -> list[ConsentRecord]:
    """Every consent recording with its JSON, oldest first."""
    out = []
    folder = consent_folder(speaker)
    for meta in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = read_json(meta)
        if not isinstance(data, dict) or data.get("id") != meta.stem:
            continue
        fields_ = {k: data[k] for k in ConsentRecord.__dataclass_fields__ if k in data and k != "folder"}
        try:
            record = ConsentRecord(**fields_, folder=folder)
        except TypeError:
            continue
        if record.wav_path.is_file():
            out.append(record)
    return out


def current_consent(speaker) -> ConsentRecord | None:
    found = consents(speaker)
    return found[-1] if found else None


class ConsentWriter:
    """A Recorder sink: streams the statement to `<id>.wav.part`; `finish` makes it the consent."""

    def __init__(self, speaker, text: str, language: str, capture_rate: int, *, role: str = "self",
                 name: str = "", patient: str = "", day: Date | None = None):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        self.speaker = speaker
        self.text, self.language, self.role = text, language, role
        self.name = (name or speaker.name).strip()
        self.patient = (patient or speaker.name).strip()
        self.day = day or Date.today()
        self.rate = int(capture_rate)
        _check_names(name=self.name, patient=self.patient, text=self.text)
        self.id = _new_id("c")
        self.folder = consent_folder(speaker)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BankError(f"Cannot write in {self.folder} ({exc.strerror}). Check the disk and "
                            "its permissions, then record again.") from exc
        self.part_path = self.folder / f"{self.id}.wav.part"
        # plain writes (not libsndfile): a full disk stops the recording with a worded error
        self._file = open_recording(self.part_path, self.rate, Path(speaker.folder).parent)
        self.frames = 0
        self.nonfinite = 0         # NaN/inf samples given (a float source): refused at finish
        self.speech_checked = False    # record_consent checked the whole recording up front
        self.cut_off = False       # a write failed (disk full): what was written is not consent
        self.closed = False

    def append(self, block: np.ndarray) -> None:
        block = np.asarray(block)
        if block.ndim == 2:
            block = block[:, 0]
        if block.dtype.kind == "f":
            bad = ~np.isfinite(block)
            if bad.any():       # casting NaN to int16 is undefined: count it, write silence
                self.nonfinite += int(bad.sum())
                block = np.where(bad, 0.0, block)
            block = np.round(np.clip(block, -1, 1) * 32767).astype(np.int16)
        if self._file.closed:
            return      # the disk filled up: the recording already stopped, nothing piles up
        try:
            self._file.write(block.astype(np.int16, copy=False))
        except OSError as exc:
            self.frames = self._file.frames
            self.cut_off = True
            # A statement cut off is not consent: the page discards it (abort), so say so.
            raise recording_write_error(exc, self._file, Path(self.speaker.folder).parent,
                                        what="the statement", again="record the statement again",
                                        kept="The statement was cut off, so it was not kept: consent "
                                             "needs the whole statement.") from exc
        self.frames += len(block)

    def abort(self) -> None:
        if not self.closed:
            self._file.close()
            self.closed = True
        self.part_path.unlink(missing_ok=True)

    def finish(self) -> ConsentRecord:
        """Keep the recording. Raises ConsentError (and keeps nothing) when it is too short, holds
        samples that are not numbers, or no speech (NoSpeechError). Takes up to a second or two
        for a long recording without speech: the GUI calls it off its thread."""
        if not self.closed:
            self._file.close()
            self.closed = True
        seconds = self.frames / self.rate
        if self.cut_off:
            self.part_path.unlink(missing_ok=True)
            raise ConsentError("The statement was cut off when the recording stopped, so it was not "
                               "kept: consent needs the whole statement. Record it again.")
        if seconds < MIN_CONSENT_S:
            self.part_path.unlink(missing_ok=True)
            raise ConsentError(f"The recording is only {seconds:.1f} s long. Read the whole statement "
                               "aloud, then stop.")
        if self.nonfinite:
            self.part_path.unlink(missing_ok=True)
            raise ConsentError(NOT_NUMBERS.format(count=self.nonfinite))
        try:
            voiced = MIN_CONSENT_SPEECH_S if self.speech_checked else speech_seconds(self.part_path)
        except Exception:   # the check itself failed: keep the reading (the build still compares voices)
            voiced = MIN_CONSENT_SPEECH_S
        if voiced < MIN_CONSENT_SPEECH_S:
            self.part_path.unlink(missing_ok=True)
            raise NoSpeechError(NO_SPEECH.format(name=self.name))
        wav = self.folder / f"{self.id}.wav"
        shutil.move(str(self.part_path), wav)
        return save_record(ConsentRecord(
            id=self.id, language=self.language, role=self.role, name=self.name, patient=self.patient,
            date=self.day.isoformat(), text=self.text, recorded=now_iso(),
            duration_s=round(seconds, 3), sample_rate=self.rate, folder=self.folder))


def speech_seconds(path: Path, enough_s: float = MIN_CONSENT_SPEECH_S) -> float:
    """Seconds of voice in a recording, by the takes' voice-activity analysis, read in pieces
    and stopping once `enough_s` is found (a real reading stops after the first piece)."""
    with sf.SoundFile(sf_path(path)) as fh:
        rate = fh.samplerate
        pieces = (b.mean(axis=1) for b in fh.blocks(blocksize=int(SPEECH_CHUNK_S * rate),
                                                      dtype="float32", always_2d=True))
        return _speech_in(pieces, rate, enough_s)


def _speech_in(pieces, rate: int, enough_s: float) -> float:
    from core.audio.quality import analyze      # scipy/RNNoise: only when a recording ends

    found = 0.0
    for piece in pieces:
        found += analyze(piece, rate).speech_s
        if found >= enough_s:
            break
    return found


def save_record(record: ConsentRecord) -> ConsentRecord:
    write_json_atomic(record.meta_path, record.to_json())
    return record


def record_consent(speaker, samples: np.ndarray, sample_rate: int, language: str = "", *,
                   role: str = "self", name: str = "", patient: str = "",
                   day: Date | None = None) -> ConsentRecord:
    """Store a whole consent recording at once (the CLI and tests; the GUI streams)."""
    samples = np.asarray(samples, np.float32)
    if (bad := int(np.count_nonzero(~np.isfinite(samples)))):
        raise ConsentError(NOT_NUMBERS.format(count=bad))       # refused before any file is made
    language = language or (speaker.info.languages or ["en"])[0]
    text = statement(language, name or speaker.name, day, role=role, patient=patient or speaker.name)
    if len(samples) >= MIN_CONSENT_S * sample_rate:             # (shorter: finish says "too short")
        step = int(SPEECH_CHUNK_S * sample_rate)
        try:
            voiced = _speech_in((samples[i:i + step] for i in range(0, len(samples), step)),
                                sample_rate, MIN_CONSENT_SPEECH_S)
        except Exception:       # the check itself failed: keep the reading, as finish() does
            voiced = MIN_CONSENT_SPEECH_S
        if voiced < MIN_CONSENT_SPEECH_S:                       # also refused before any file is made
            raise NoSpeechError(NO_SPEECH.format(name=(name or speaker.name).strip()))
    writer = ConsentWriter(speaker, text, language, sample_rate, role=role, name=name,
                           patient=patient, day=day)
    writer.speech_checked = True
    try:
        writer.append(samples)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


# ---------------------------------------------------------------------------------- the check


@dataclass
class SpeakerCheck:
    verdict: str               # "same" | "different" | "not checked" | "no consent"
    ok: bool                   # the build may go on
    similarity: float | None   # cosine, consent recording vs the takes' mean embedding
    threshold: float
    takes: int                 # takes compared
    message: str               # for the user: what was found and what to do
    consent_id: str = ""
    role: str = ""
    encoder: str = ""

    @property
    def percent(self) -> int | None:
        return None if self.similarity is None else round(100 * max(self.similarity, 0.0))

    def to_dict(self) -> dict:
        return asdict(self)


def consent_blockers(speaker) -> list[str]:
    """What stops a build on the consent side, cheaply (no model): [] when consent is recorded."""
    return [] if current_consent(speaker) is not None else [NEED_CONSENT]


def _spread(items: list, n: int) -> list:
    if len(items) <= n:
        return list(items)
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in sorted(set(idx))]


def default_takes(speaker, include_red: bool = False) -> list:
    return [t for t in speaker.current_takes().values()
            if (include_red or t.grade != "red") and (t.duration_s or 0) >= 1.0
            and t.best_audio_path().exists()]


def _embed_path(path: Path, encoder) -> np.ndarray:
    from core.audio.io import read_audio

    from .speaker import embed_audio

    clip = read_audio(path)
    return embed_audio(clip.samples[: int(MAX_TAKE_S * clip.sample_rate)], clip.sample_rate, encoder)


def check_speaker(speaker, takes: list | None = None, *, include_red: bool = False, encoder=None,
                  threshold: float = THRESHOLD) -> SpeakerCheck:
    """Do the recordings (default: the takes a build uses) sound like the consent recording?"""
    record = current_consent(speaker)
    if record is None:
        return SpeakerCheck("no consent", False, None, threshold, 0, NEED_CONSENT)
    base = dict(consent_id=record.id, role=record.role)
    chosen = _spread(takes if takes is not None else default_takes(speaker, include_red), MAX_TAKES)
    if not chosen:
        return SpeakerCheck("not checked", True, None, threshold, 0,
                            "There are no recordings to compare with the consent yet.", **base)
    if encoder is None:
        from .speaker import EncoderMissing, load_encoder

        try:
            encoder = load_encoder()
        except EncoderMissing as exc:
            return SpeakerCheck("not checked", True, None, threshold, len(chosen),
                                f"Warning: the recordings were not compared with the consent "
                                f"recording. {exc}", **base)
    from .speaker import cosine, mean_embedding

    consent_vec = _embed_path(record.wav_path, encoder)
    if record.embedding is None or record.encoder != encoder.source:
        record.embedding, record.encoder = [round(float(v), 6) for v in consent_vec], encoder.source
        try:
            save_record(record)
        except OSError:
            pass            # a cache only; the check itself is done
    takes_vec = mean_embedding([_embed_path(t.best_audio_path(), encoder) for t in chosen])
    similarity = round(cosine(consent_vec, takes_vec), 4)
    who = record.name if record.role == "self" else f"{record.name} (voice donor)"
    figure = f"similarity {100 * max(similarity, 0):.0f} %, {100 * threshold:.0f} % needed"
    if similarity >= threshold:
        return SpeakerCheck("same", True, similarity, threshold, len(chosen),
                            f"The recordings match the consent recording by {who} ({figure}).",
                            encoder=encoder.source, **base)
    return SpeakerCheck(
        "different", False, similarity, threshold, len(chosen),
        f"The recordings do not sound like the person who recorded the consent statement, {who} "
        f"({figure}, over {len(chosen)} recording(s)). If someone else read the prompts, that "
        "person records their own consent statement as a voice donor (Speaker page, “Consent”). "
        "If it is the same person, record the consent statement again with the same microphone "
        "and in the same room as the prompts.", encoder=encoder.source, **base)


def require_consent(speaker, takes: list | None = None, *, include_red: bool = False,
                    encoder=None) -> SpeakerCheck:
    """check_speaker, raising ConsentError when the build must stop."""
    result = check_speaker(speaker, takes, include_red=include_red, encoder=encoder)
    if not result.ok:
        raise ConsentError(result.message)
    return result
