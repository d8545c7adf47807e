"""A short tone for a take's grade, for someone who is not looking at the screen while reading:
two rising notes for ✓ Good, one middle note for ! Fair, two falling low notes for ✗ Redo.
Each is under half a second, soft, with gentle edges (no click)."""
from __future__ import annotations

import numpy as np

from core.audio import playback
from core.audio.capture import AudioDeviceError

RATE = 48000
LEVEL = 0.2                       # soft: well under the voice it follows
NOTES = {                         # (frequency Hz, seconds) in order
    "green": ((660.0, 0.11), (880.0, 0.16)),
    "amber": ((587.0, 0.2),),
    "red": ((392.0, 0.16), (262.0, 0.26)),
}


def tone(grade: str | None) -> np.ndarray | None:
    """The samples (float32 at RATE) for a grade; None for a take not checked."""
    notes = NOTES.get(grade or "")
    if notes is None:
        return None
    parts = []
    for freq, seconds in notes:
        t = np.arange(int(seconds * RATE)) / RATE
        edge = min(int(0.015 * RATE), len(t) // 2)
        env = np.ones(len(t))
        env[:edge] = np.linspace(0.0, 1.0, edge)
        env[-edge:] = np.linspace(1.0, 0.0, edge)
        parts.append(LEVEL * env * np.sin(2 * np.pi * freq * t))
        parts.append(np.zeros(int(0.03 * RATE)))
    return np.concatenate(parts).astype(np.float32)


def play_grade(grade: str | None) -> str | None:
    """Play the grade's tone; returns what went wrong, in words, or None."""
    samples = tone(grade)
    if samples is None:
        return None
    try:
        playback.play(samples, RATE)
    except AudioDeviceError as exc:
        # playback's words are about a take: say what did not sound, and that the screen still shows it
        words = str(exc).replace("The take could not be played", "The grade tone could not be played", 1)
        return words + " The grade is still shown on the screen; press T to stop the tone."
    return None
