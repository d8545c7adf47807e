"""After a take is recorded: check its quality and write the RNNoise-cleaned copy beside it.

A take whose check never finished (the app was killed, the power went) has no grade, or no
cleaned copy; `recheck_ungraded` finds and checks them again when the app starts, as it does a
take graded red "too noisy" by the older rules that trusted a disturbed room check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.audio import denoise as denoise_module
from core.audio.denoise import DenoiserUnavailable, denoise, protect_clean_speech
from core.audio.io import AudioFileError, read_audio, write_wav
from core.audio.quality import Problem, QualityThresholds, analyze
from core.bank.progress import graded_noisy_by_old_rules
from core.bank.store import Bank, Speaker, Take
from core.diskspace import RECORDING_ADVICE, RESERVE_BYTES, DiskFullError, ensure_space, reporting_disk_full


def process_take(speaker: Speaker, take: Take,
                 thresholds: QualityThresholds = QualityThresholds()) -> Take:
    """Fill in take.quality and take.cleaned; the raw WAV is only read, never written. The take's
    session gives the room check's noise floor (and whether the room check was disturbed).

    When the disk is too full for the cleaned copy, the take is still checked and its report
    saved (the raw recording is used instead of a cleaned one); then DiskFullError says so."""
    try:
        clip = read_audio(take.raw_path)
    except AudioFileError as exc:
        take.quality = {"grade": "red", "problems": [
            {"code": "unreadable", "severity": "red", "message": f"{exc} Press R to record it again."}]}
        take.save()
        return take
    session = speaker.session(take.session_id) if take.session_id else None
    noise_floor = session.noise_floor_dbfs if session else None
    disturbed = bool(session and session.room_disturbed)
    result = None
    try:
        # One RNNoise pass: its voice probability feeds the analysis, and the careful SNR from
        # the analysis then decides how much cleanup a take that is already clean should get.
        result = denoise(clip.samples, clip.sample_rate, protect_clean=False)
    except DenoiserUnavailable:
        pass   # the raw take still counts; it is just not cleaned
    report = analyze(clip.samples, clip.sample_rate, noise_floor_dbfs=noise_floor, text=take.text,
                     vad_prob=result.vad_prob if result else None, room_disturbed=disturbed,
                     thresholds=thresholds)
    if clip.cut_off:    # the file lost its end (an interrupted copy): usable as far as it goes
        report.problems.append(Problem("file_cut_off", "amber", f"{clip.cut_off_message()} What is "
                                       "there is used; if the end of the sentence is missing, press R "
                                       "to record it again."))
        report.grade = "red" if report.grade == "red" else "amber"
    no_room: DiskFullError | None = None
    if result is not None:
        cleaned, take.cleanup_mix = protect_clean_speech(clip.samples, result.cleaned, report.snr_db)
        try:
            with reporting_disk_full(
                    "the cleaned copy of this take could not be written", take.folder,
                    needed_bytes=len(cleaned) * 2,
                    kept="The recording itself is kept and checked; it is used as it is, uncleaned.",
                    advice=RECORDING_ADVICE):
                # leave room for the take's report: a copy that would use the last of the space
                # is not made (the report matters more than the cleanup)
                ensure_space(take.folder, len(cleaned) * 2 + RESERVE_BYTES, "")
                write_wav(take.clean_path, cleaned, clip.sample_rate)
        except DiskFullError as exc:
            no_room, result, take.cleanup_mix = exc, None, None
    take.cleaned = result is not None
    take.quality = report.to_dict()
    take.save()
    if no_room is not None:
        raise no_room
    return take


def needs_check(take: Take, *, can_clean: bool = True) -> bool:
    """True for a take whose check did not finish: no grade, or no cleaned copy although one
    was made (or can be made now that RNNoise is there)."""
    if take.quality is None or not take.grade:
        return True
    if graded_noisy_by_old_rules(take):
        return True
    if take.cleaned and not take.clean_path.exists():
        return True
    unreadable = any(p.get("code") == "unreadable" for p in take.quality.get("problems", [])
                     if isinstance(p, dict))
    return can_clean and not take.cleaned and not unreadable


def ungraded_takes(speaker: Speaker, *, before: float | None = None,
                   can_clean: bool | None = None) -> list[Take]:
    """Every take of `speaker` (current or older, of any prompt) that `needs_check`. Only
    finished takes count: `<id>.wav.part` is a take still being recorded (or one to recover),
    never one to check. `before` (a time.time()): leave out takes written after it, which
    the recording page is checking itself."""
    if can_clean is None:
        can_clean = denoise_module.available()
    folder = speaker.folder / "takes"
    out: list[Take] = []
    for prompt_dir in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not prompt_dir.is_dir() or prompt_dir.name.startswith("."):
            continue
        for take in speaker.takes(prompt_dir.name):
            if before is not None and _mtime(take.raw_path) >= before:
                continue
            if needs_check(take, can_clean=can_clean):
                out.append(take)
    return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@dataclass
class RecheckSummary:
    checked: list[Take] = field(default_factory=list)
    failed: list[tuple[Take | None, str]] = field(default_factory=list)   # the take, what went wrong
    stopped: bool = False

    def describe(self) -> str:
        """For the user, '' when there was nothing to do."""
        parts = []
        if self.checked:
            parts.append(f"{len(self.checked)} take(s) left unchecked last time were checked now.")
        if self.failed:
            parts.append(f"{len(self.failed)} take(s) could not be checked ({self.failed[0][1]}). "
                         "They are kept as recorded and are checked again the next time the app starts.")
        return " ".join(parts)


def recheck_ungraded(bank: Bank, *, before: float | None = None,
                     on_done: Callable[[Take, str | None], None] | None = None,
                     should_stop: Callable[[], bool] | None = None) -> RecheckSummary:
    """Check again, one after the other, every take in the bank that `needs_check`. A failure
    is reported per take (on_done(take, message)) and the others go on; nothing is deleted."""
    summary = RecheckSummary()
    can_clean = denoise_module.available()
    for speaker in bank.speakers():
        try:
            takes = ungraded_takes(speaker, before=before, can_clean=can_clean)
        except OSError as exc:      # the speaker's folder cannot be listed: the others go on
            summary.failed.append((None, f"{speaker.id}: {exc.strerror or exc}"))
            continue
        for take in takes:
            if should_stop is not None and should_stop():
                summary.stopped = True
                return summary
            try:
                checked, error = process_take(speaker, take), None
                summary.checked.append(checked)
            except Exception as exc:    # never lose a take over a failed check: it stays as it is
                # (DiskFullError: the take is graded, only its cleaned copy is missing; its text
                # is the worded message)
                plain = isinstance(exc, OSError) and not isinstance(exc, DiskFullError) and exc.strerror
                checked, error = take, (exc.strerror if plain else str(exc)) or type(exc).__name__
                summary.failed.append((take, error))
            if on_done is not None:
                on_done(checked, error)
    return summary
