"""What a speaker still has to record, counted in usable takes.

A prompt is done when its latest take is usable: graded ✓ Good or ! Fair, or not checked yet
(it is being checked; as on the Build page, it counts until it is graded). A take graded red
"too noisy" by older rules that trusted a disturbed room check is being checked again, so it
counts the same way until its new grade is in. A ✗ Redo take is
kept on disk (nothing recorded is deleted) but counts as still to record, so progress, the
resume point and `voicebank speakers` all send the person back to it. A prompt the person
cannot say is skipped: remembered per speaker in `skipped.json`, undoable, and not counted
as still to record. The goal is in usable minutes, with the milestones the build knows:
a first version from one take of 3-10 s, a trained voice from 1 minute, and a voice that
sounds more like you from 5 to 30 minutes.

Nothing here imports the store (the store imports this): speakers and takes are passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from core.bank.files import read_json, write_json_atomic

SKIPPED_FILE = "skipped.json"
REFERENCE_S = (3.0, 10.0)       # a take this long can be the voice's reference (a first version)
TRAINED_MIN = 1.0               # as core.train.ready: the least a trained voice needs
LIKE_YOU_MIN = 5.0              # from here the voice starts to sound more like you...
FULL_MIN = 30.0                 # ...and up to here it keeps getting closer


def graded_noisy_by_old_rules(take) -> bool:
    """A red "too noisy" take graded against the room check before the rules had a number: then
    a room check disturbed by speech made clean takes red. It is checked again, by today's rules
    (core.bank.process), and until then counts as a take being checked."""
    q = take.quality if take is not None and isinstance(take.quality, dict) else {}
    return (q.get("grader") is None and q.get("noise_floor_source") == "session"
            and any(isinstance(p, dict) and p.get("code") == "noisy" for p in q.get("problems") or []))


def awaiting_check(take) -> bool:
    """Not graded yet, or graded by older rules that are being applied again."""
    return take is not None and (not take.grade or graded_noisy_by_old_rules(take))


def is_usable(take) -> bool:
    """A take that goes into the voice: not ✗ Redo, with some sound in it. A take being checked
    counts until its grade is in."""
    return (take is not None and (take.grade != "red" or graded_noisy_by_old_rules(take))
            and (take.duration_s or 0) > 0)


def needs_recording(take) -> bool:
    """No take yet, or the latest is ✗ Redo. A take still being checked is not sent back."""
    return take is None or (take.grade == "red" and not graded_noisy_by_old_rules(take))


@dataclass
class Progress:
    prompts_total: int          # prompts to record: all but the skipped ones
    prompts_done: int           # with a usable latest take (unchecked ones included)
    seconds_recorded: float     # usable audio
    red_takes: int              # prompts whose latest take is ✗ Redo
    skipped: int = 0            # prompts the person cannot say
    unchecked: int = 0          # latest take not checked yet (it is being checked)
    reference_takes: int = 0    # usable takes of 3-10 s (a first version needs one)

    @property
    def minutes_recorded(self) -> float:
        return self.seconds_recorded / 60.0

    @property
    def prompts_left(self) -> int:
        return max(self.prompts_total - self.prompts_done, 0)


def count_progress(prompts: Iterable, current_take: Callable[[str], object],
                   skipped: set[str]) -> Progress:
    """Progress over `prompts`, given each prompt's latest take (current_take(prompt_id))."""
    out = Progress(0, 0, 0.0, 0)
    for prompt in prompts:
        if prompt.id in skipped:
            out.skipped += 1
            continue
        out.prompts_total += 1
        take = current_take(prompt.id)
        if take is None:
            continue
        out.unchecked += awaiting_check(take)
        if is_usable(take):
            out.prompts_done += 1
            out.seconds_recorded += take.duration_s
            out.reference_takes += REFERENCE_S[0] <= take.duration_s <= REFERENCE_S[1]
        elif take.grade == "red":
            out.red_takes += 1
    return out


def next_to_record(prompts: list, current_take: Callable[[str], object], skipped: set[str]) -> int | None:
    """The first prompt not skipped whose latest take is missing or ✗ Redo (None: all done)."""
    for i, prompt in enumerate(prompts):
        if prompt.id not in skipped and needs_recording(current_take(prompt.id)):
            return i
    return None


def resume_index(prompts: list, current_take: Callable[[str], object], skipped: set[str]) -> int:
    """Where a session resumes: `next_to_record`, or the last prompt when every one is done."""
    found = next_to_record(prompts, current_take, skipped)
    return found if found is not None else max(len(prompts) - 1, 0)


# --------------------------------------------------------------------------- skipped prompts

def read_skipped(speaker_folder: Path) -> list[str]:
    data = read_json(Path(speaker_folder) / SKIPPED_FILE)
    ids = data.get("skipped") if isinstance(data, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def write_skipped(speaker_folder: Path, prompt_ids: list[str]) -> None:
    write_json_atomic(Path(speaker_folder) / SKIPPED_FILE, {"skipped": prompt_ids},
                      failed="the list of sentences you skipped could not be saved")


# --------------------------------------------------------------------------- the goal

@dataclass(frozen=True)
class Milestone:
    minutes: float              # where it sits on the meter (the first version: at 0)
    short: str                  # its name on the meter
    reached: str                # said once it is reached


MILESTONES = (
    Milestone(0.0, "First version", "A first version of your voice can be made now (Build page, Ctrl+5)."),
    Milestone(TRAINED_MIN, "1 min: trained voice", "Enough for a trained voice of your own."),
    Milestone(LIKE_YOU_MIN, "5 min: more like you", "Enough for a voice that sounds more like you."),
    Milestone(FULL_MIN, "30 min", "30 minutes: as much as a voice needs. More never hurts."),
)


def _amount(minutes: float) -> str:
    seconds = max(minutes * 60, 0)
    if seconds < 90:
        n = max(int(round(seconds)), 1)
        return f"{n} second{'s' if n != 1 else ''}"
    return f"{minutes:.1f} minutes"


def reached_milestones(progress: Progress) -> list[Milestone]:
    minutes = progress.minutes_recorded
    first = progress.reference_takes > 0 or minutes >= TRAINED_MIN
    return [m for m in MILESTONES if (first if m.minutes == 0 else minutes >= m.minutes)]


def goal_text(progress: Progress) -> str:
    """The goal meter in words: what the usable audio already gives, and the next step."""
    minutes = progress.minutes_recorded
    reached = reached_milestones(progress)
    have = f"{_amount(minutes)} of usable recording." if minutes > 0 else "No usable recording yet."
    if not reached:
        return (f"{have} Next: one good sentence of 3 seconds or more gives a first version of "
                "your voice.")
    done = reached[-1].reached
    following = [m for m in MILESTONES if m not in reached and m.minutes > 0]
    if not following:
        return f"{have} ✓ {done}"
    step = following[0]
    what = "a trained voice" if step.minutes == TRAINED_MIN else (
        "a voice that sounds more like you" if step.minutes == LIKE_YOU_MIN else "the full 30 minutes")
    return f"{have} ✓ {done} Next: {what}, {_amount(step.minutes - minutes)} to go."
