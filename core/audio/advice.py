"""What to fix in a take, in a few plain words: the Review table's "What to fix" column, the
Speaker page's list of messages and the Speak page's note when a recording cannot be used.

`core.audio.quality` writes each problem as a whole sentence (what is wrong and what to do). Here
each problem code gets a short form of the same advice, short enough for a table cell:
"Too quiet: move closer". A code this module does not know yet reads as the first sentence of the
problem's own message, so a new check is never shown as nothing.
"""
from __future__ import annotations

# code -> (what is wrong, what to do). Both short; the table shows "what: do".
SHORT: dict[str, tuple[str, str]] = {
    "too_short": ("Too short", "read the whole sentence"),
    "too_long": ("Too long", "check that recording stopped"),
    "clipping": ("Too loud", "move back or turn the gain down"),
    "near_clipping": ("Nearly too loud", "turn the gain down a little"),
    "dc_offset": ("Faulty cable or sound card", "try another USB port"),
    "no_speech": ("No speech heard", "check the microphone is on"),
    "noisy": ("Too much background noise", "turn off fans, move closer"),
    "some_noise": ("Some background noise", "move closer if you can"),
    "too_quiet": ("Too quiet", "move closer"),
    "quiet": ("A bit quiet", "move a little closer"),
    "narrowband": ("Sounds like a phone", "use a USB microphone"),
    "muffled": ("Sounds muffled", "use a wired microphone"),
    "cut_start": ("Start cut off", "wait a moment before speaking"),
    "long_lead": ("Long wait before speaking", "fine, it is trimmed"),
    "cut_end": ("End cut off", "wait a moment before stopping"),
    "long_trail": ("Long silence at the end", "fine, it is trimmed"),
    "fast": ("Very fast", "read more calmly"),
    "slow": ("Slow or long pauses", "check the whole sentence was read"),
    "unreadable": ("The file cannot be read", "record it again"),
}
INTERRUPTED = ("Cut off", "the microphone stopped; record it again")
NOTHING = "Nothing to fix"
NOT_CHECKED = "Not checked yet"
SEVERITY_ORDER = {"red": 0, "amber": 1}
# The grade in words, the same words as the Record page: colour is never the only sign.
GRADE_WORDS = {"green": "✓ Good", "amber": "! Fair", "red": "✗ Redo"}
NOT_CHECKED_WORDS = "… Not checked"


def _problems(quality: dict | None) -> list[dict]:
    problems = [p for p in (quality or {}).get("problems") or [] if isinstance(p, dict)]
    return sorted(problems, key=lambda p: SEVERITY_ORDER.get(p.get("severity", ""), 2))


def _short(problem: dict) -> tuple[str, str]:
    known = SHORT.get(str(problem.get("code", "")))
    if known is not None:
        return known
    first = str(problem.get("message", "")).split(". ")[0].strip().rstrip(".")
    return (first or "A problem was found", "")


def problem_names(quality: dict | None, interrupted: bool = False) -> list[str]:
    """What is wrong, worst first, a few words each: ["No speech heard", "Too short"]."""
    names = [INTERRUPTED[0]] if interrupted else []
    return names + [_short(p)[0] for p in _problems(quality)]


def what_to_fix(quality: dict | None, interrupted: bool = False, most: int = 2) -> str:
    """The "What to fix" cell: the worst `most` problems, each as "what: do", or that there is
    nothing to fix, or that the take is not checked yet."""
    if not quality or "grade" not in quality:
        return NOT_CHECKED
    parts = [INTERRUPTED] if interrupted else []
    parts += [_short(p) for p in _problems(quality)]
    if not parts:
        return NOTHING
    texts = [f"{what}: {do}" if do else what for what, do in parts[:most]]
    more = len(parts) - most
    return "; ".join(texts) + (f" (and {more} more)" if more > 0 else "")


def full_advice(quality: dict | None) -> list[str]:
    """Every problem's whole sentence, worst first, as the check wrote it."""
    return [str(p.get("message", "")) for p in _problems(quality) if p.get("message")]


def grade_words(grade: str | None) -> str:
    return GRADE_WORDS.get(grade or "", NOT_CHECKED_WORDS)


def is_unusable(grade: str | None) -> bool:
    """A red take cannot go into a voice or be played as the person's own words."""
    return grade == "red"
