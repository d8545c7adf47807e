"""Text that will be stored or printed must be valid Unicode that UTF-8 can hold.

Two kinds of string cannot be: names and arguments that came from bytes that are not UTF-8
(Python keeps each such byte as a "surrogate escape", U+DC80..U+DCFF), and lone UTF-16
surrogates from a bad paste or a broken program. Writing either to a UTF-8 JSON file or to the
terminal raises UnicodeEncodeError halfway through, so they are refused where they enter
(a command-line argument, a speaker name, a message, a phrase) before anything is created, and
shown with � in messages.
"""
from __future__ import annotations

import os

REPLACEMENT = "\ufffd"      # what a person sees in place of a character that cannot be shown


def storable(text: str) -> bool:
    """True when `text` can be written as UTF-8 (no surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(value: str | os.PathLike | bytes) -> str:
    """`value` (text, a path, bytes) as text that can always be printed or shown: every
    character that cannot be is replaced by �."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if storable(text):
        return text
    return "".join(REPLACEMENT if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def text_problem(text: str, what: str, *, limit: int = 60) -> str | None:
    """None when `text` can be stored; else a plain sentence saying so, e.g. for what="The name":
    'The name “Tom�” has a character the app cannot save (shown as �). Please type it again.'"""
    if storable(text):
        return None
    shown = printable(text)
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return (f"{what} “{shown}” has a character the app cannot save (shown as {REPLACEMENT}). "
            "Please type it again with the keyboard.")
