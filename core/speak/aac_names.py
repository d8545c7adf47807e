"""File names made from what a message says, safe on Windows, macOS and Linux.

AAC software (Grid 3, TD Snap and others) imports a banked message as a sound file whose name is
the message, so the name should read like the words: "I love you.wav", "我爱你.wav". A name must
also survive being copied to a Windows computer or a USB stick (FAT32/exFAT), so:

- characters Windows forbids (`< > : " / \\ | ? *`) and control characters are replaced or left
  out; the path separators of every system are among them;
- no trailing dot or space (Windows drops them silently), no leading dot (hidden on macOS/Linux);
- no reserved device name (CON, PRN, AUX, NUL, COM1..9, LPT1..9, also before an extension:
  "nul.wav" is the device on Windows);
- length-limited: at most MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes of UTF-8 before
  ".wav" (Linux and macOS count bytes, a Chinese character is 3), cut at a space when there is one;
- two messages that would get the same name (also when they differ only in case or Unicode
  form, which Windows and macOS treat as the same file) are numbered: "Yes.wav", "Yes (2).wav".

Chinese and every other script is kept as it is (in NFC form).
"""
from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 60          # the full text is in the index; a long name only gets in the way
MAX_NAME_BYTES = 150         # well under the 255 bytes of ext4/APFS, leaving room for " (12).wav"
FALLBACK_NAME = "message"

# Windows forbids these in names. What replaces each keeps the words readable.
_REPLACE = {"/": "-", "\\": "-", "|": "-", ":": "-", '"': "'", "<": "(", ">": ")", "?": "", "*": ""}
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{n}" for n in "123456789¹²³"), *(f"LPT{n}" for n in "123456789¹²³")}


def _clean_char(char: str) -> str:
    if char in _REPLACE:
        return _REPLACE[char]
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Co", "Cn") or category in ("Zl", "Zp"):
        return " "                          # control, surrogate, private, unassigned, line breaks
    if category == "Cf" and char not in "\u200c\u200d":     # keep the joiners some scripts need
        return ""
    if category == "Zs":
        return " "                          # no-break and other spaces become plain ones
    return char


def _cut(text: str) -> str:
    """At most MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes, at a space when one is near."""
    if len(text) <= MAX_NAME_CHARS and len(text.encode("utf-8")) <= MAX_NAME_BYTES:
        return text
    cut = text[:MAX_NAME_CHARS]
    while len(cut.encode("utf-8")) > MAX_NAME_BYTES:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space >= len(cut) // 2:              # words are not cut in half, unless one is very long
        cut = cut[:space]
    return cut


def _trimmed(text: str) -> str:
    return text.strip(" .").lstrip("-").strip(" .")


def is_reserved(stem: str) -> bool:
    """True when Windows reads `stem` (or `stem.anything`) as a device, not a file."""
    return stem.split(".")[0].strip(" ").upper() in _RESERVED


def safe_stem(text: str) -> str:
    """The file name (without extension) for a message that says `text`."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(_clean_char(ch) for ch in text)
    text = " ".join(text.split())
    text = _trimmed(_cut(_trimmed(text)))
    if not text:
        return FALLBACK_NAME
    if is_reserved(text):
        text = f"{text} (message)"
    return text


def _key(name: str) -> str:
    """Names the same on a case-insensitive system that also folds Unicode forms (Windows, macOS)."""
    return unicodedata.normalize("NFC", name).casefold()


def unique_name(stem: str, taken: set[str], suffix: str = ".wav") -> str:
    """`stem + suffix`, or `stem (2) + suffix`... the first whose key is not in `taken` (which
    this adds it to)."""
    name, n = f"{stem}{suffix}", 2
    while _key(name) in taken:
        name, n = f"{stem} ({n}){suffix}", n + 1
    taken.add(_key(name))
    return name


def message_file_names(texts: list[str], reserved: tuple[str, ...] = ()) -> list[str]:
    """One safe, distinct WAV name per text, in order. `reserved` names (the index file) are
    never given to a message."""
    taken = {_key(name) for name in reserved}
    return [unique_name(safe_stem(text), taken) for text in texts]
