"""Torch-free helpers for the Build page: what the bank holds, what the model store holds, which
sentence to play as a sample, the wording of progress, and a background call for slow file work.

Nothing here imports torch or core.train: the GUI counts usable audio from the bank's own quality
grades (a take graded red is left out, as the training does by default).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from core.bank.files import read_json, write_json_atomic
from core.bank.store import Speaker, Take
from core.timefmt import format_eta

STAGES = {"features": (1, "Preparing your recordings"),
          "sovits": (2, "Learning the sound of your voice"),
          "gpt": (3, "Learning how you speak"),
          "export": (4, "Saving your voice")}
MIN_MINUTES = 1.0           # as core.train.ready (not imported: the GUI never loads core.train)
SAMPLE_SECONDS = 4.0
SAMPLE_WAV, SAMPLE_JSON = "sample.wav", "sample.json"   # in the voice folder: the comparison sentence


@dataclass(frozen=True)
class AudioSummary:
    minutes: float
    takes: int
    red: int

    def text(self) -> str:
        if not self.takes and not self.red:
            return "No recordings yet. Record some prompts first (Ctrl+3)."
        amount = (f"{self.minutes * 60:.0f} seconds" if self.minutes < 1 else f"{self.minutes:.1f} minutes")
        words = f"{amount} of usable audio in {self.takes} take{'s' if self.takes != 1 else ''}."
        if self.red == 1:
            words += (" 1 take marked ✗ Redo is left out; record it again on the Record page "
                      "(Ctrl+3) to use it.")
        elif self.red:
            words += (f" {self.red} takes marked ✗ Redo are left out; record them again on the "
                      "Record page (Ctrl+3) to use them.")
        if not self.takes:
            return words + " A first version needs one usable recording, and a trained voice " \
                           f"at least {MIN_MINUTES:g} minute of speech."
        if self.minutes < MIN_MINUTES:
            return words + (f" A trained voice needs at least {MIN_MINUTES:g} minute of speech (5-30 "
                            "minutes sound more like you); a first version can be made already.")
        return words + " The more you record, the more the voice sounds like you."


def usable_takes(speaker: Speaker) -> list[Take]:
    """The current take of each prompt, unless it is graded red (unchecked takes count)."""
    return [t for t in speaker.current_takes().values() if t.grade != "red" and t.duration_s > 0]


def audio_summary(speaker: Speaker) -> AudioSummary:
    takes = list(speaker.current_takes().values())
    usable = [t for t in takes if t.grade != "red" and t.duration_s > 0]
    return AudioSummary(sum(t.duration_s for t in usable) / 60.0, len(usable),
                        sum(t.grade == "red" for t in takes))


def choose_sample(takes: list[Take], reference: str | None = None) -> Take | None:
    """A recorded sentence to say in the new voice: not the reference take, about 4 s, green first."""
    candidates = [t for t in takes if t.text.strip() and reference not in (t.id, t.prompt_id)]
    if not candidates:
        candidates = [t for t in takes if t.text.strip()]
    if not candidates:
        return None
    return min(candidates, key=lambda t: (t.grade != "green", abs(t.duration_s - SAMPLE_SECONDS), t.id))


def latest_sample(speaker: Speaker) -> tuple[Path, Take, Path] | None:
    """(voice folder, take, sample WAV) of the newest voice whose sample was made on this page.

    Read from the voice folders' plain files (voice.json, sample.json, sample.wav), never through
    core.train, which would bring torch into the GUI."""
    found = []
    for card_file in (Path(speaker.folder) / "voices").glob("*/voice.json"):
        voice = card_file.parent
        sample, card = read_json(voice / SAMPLE_JSON), read_json(card_file)
        if voice.name.startswith(".") or not isinstance(sample, dict) or not isinstance(card, dict):
            continue
        if not (voice / SAMPLE_WAV).exists():
            continue
        take = next((t for t in speaker.takes(str(sample.get("prompt_id", "")))
                     if t.id == sample.get("take_id")), None)
        if take is not None:
            found.append((str(card.get("created", "")), voice, take))
    if not found:
        return None
    _, voice, take = max(found, key=lambda f: (f[0], f[1].name))
    return voice, take, voice / SAMPLE_WAV


def remember_sample(voice_dir: Path, take: Take) -> None:
    write_json_atomic(Path(voice_dir) / SAMPLE_JSON,
                      {"take_id": take.id, "prompt_id": take.prompt_id, "text": take.text})


def model_status(purpose: str = "train") -> list[Any]:
    """FileStatus of every base file needed for `purpose` (may hash files the first time: slow)."""
    from core.models.store import status
    return status(purpose=purpose)


def optional_model_status() -> list[Any]:
    """FileStatus of the optional base models' files (g2pW): shown, never required."""
    from core.models.store import default_manifest, status
    optional = [m.id for m in default_manifest().models if m.optional]
    return status(optional) if optional else []


def optional_text(states: list[Any]) -> str:
    """One line per optional model, for the end of the page's list ("" when there is none)."""
    lines = []
    for model in dict.fromkeys(st.model for st in states):
        what = OPTIONAL_WORDS.get(model, model)
        if all(st.installed for st in states if st.model == model):
            lines.append(f"✓ {what} ({model}, optional): installed")
        else:
            lines.append(f"○ {what} ({model}, optional): not installed. Everything works without "
                         f"it. To add it: “Import a folder…”, or `voicebank models download {model}`")
    return "".join("\n" + line for line in lines)


# What an optional model does, in the person's words (the manifest's titles are for engineers).
OPTIONAL_WORDS = {"g2pw": "Better reading of Chinese characters with several sounds"}


def models_text(states: list[Any]) -> tuple[bool, str]:
    """(all installed, words for the page: one line per model, symbol + words)."""
    by_model: dict[str, list[Any]] = {}
    for st in states:
        by_model.setdefault(st.model, []).append(st)
    lines = []
    for model, files in by_model.items():
        bad = [f for f in files if not f.installed]
        if not bad:
            lines.append(f"✓ {model}: installed")
        else:
            what = ", ".join(f.file if f.state == "missing" else f"{f.file} ({f.state})" for f in bad)
            lines.append(f"✗ {model}: missing {what}")
    ready = bool(states) and all(st.installed for st in states)
    return ready, "\n".join(lines) if lines else "No base model files are listed."


def progress_text(event: dict[str, Any]) -> str:
    """One line a person can read: stage n of 4, what it does, step, loss, time left."""
    stage = str(event.get("stage", ""))
    number, words = STAGES.get(stage, (0, str(event.get("message") or stage)))
    parts = [f"Stage {number} of 4: {words}" if number else words]
    step, total = event.get("step") or 0, event.get("total") or 0
    if total:
        parts.append(f"step {step} of {total}")
    if event.get("loss") is not None:
        parts.append(f"loss {float(event['loss']):.3g}")
    eta = format_eta(event.get("eta_s"))
    if eta:
        parts.append(eta)
    return "  ·  ".join(parts)


def bar_format(event: dict[str, Any]) -> str:
    """The text inside the progress bar (the bar shows the current stage)."""
    number = STAGES.get(str(event.get("stage", "")), (0, ""))[0]
    return f"Stage {number} of 4:  %p%" if number else "%p%"


def failure_title(kind: str) -> str:
    return {"build": "The build stopped", "zero_shot": "The first version could not be made",
            "speak": "The sample sentence could not be said"}.get(kind, "The job failed")


def cancelled_text(kind: str) -> str:
    if kind == "build":
        return "Build stopped. The work so far is saved: press Build my voice (B) to continue where it stopped."
    return "Stopped."


def worker_died_text(kind: str) -> str:
    resume = (" Press Build my voice (B) to start it again: it continues from its last saved step."
              if kind == "build" else " Try again.")
    return ("The background process that builds the voice stopped unexpectedly." + resume
            + " If it keeps happening, restart the computer and look at the log below.")


class LogThrottle:
    """Which progress events go to the log: each new stage, every tenth of a stage, its end,
    and any new message, so a build of thousands of steps leaves a readable log."""

    def __init__(self) -> None:
        self.key: tuple[Any, int] | None = None
        self.message = ""

    def wanted(self, event: dict[str, Any]) -> bool:
        step, total = int(event.get("step") or 0), int(event.get("total") or 0)
        tenth = (10 * step) // total if total else step
        key = (event.get("stage"), tenth)
        message = str(event.get("message") or "")
        new = key != self.key or (total and step >= total) or (message and message != self.message)
        self.key, self.message = key, message
        return bool(new)


class BackgroundCall(QObject):
    """`start(tag, fn)` runs fn off the GUI thread; `done(tag, result, error)` comes back on it."""

    done = Signal(str, object, object)      # tag, result, Exception | None

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._threads: dict[str, threading.Thread] = {}

    def busy(self, tag: str) -> bool:
        thread = self._threads.get(tag)
        return thread is not None and thread.is_alive()

    def start(self, tag: str, fn: Callable[[], Any]) -> bool:
        if self.busy(tag):
            return False
        thread = threading.Thread(target=self._run, args=(tag, fn), daemon=True)
        self._threads[tag] = thread
        thread.start()
        return True

    def _run(self, tag: str, fn: Callable[[], Any]) -> None:
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - shown to the user in the page's banner
            self.done.emit(tag, None, exc)
        else:
            self.done.emit(tag, result, None)

    def wait(self, timeout_s: float = 5.0) -> None:
        for thread in list(self._threads.values()):
            thread.join(timeout_s)
