"""Time in words for progress displays (the CLI and the GUI say it the same way)."""
from __future__ import annotations


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:   # None, NaN or nonsense: say nothing
        return ""
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"
