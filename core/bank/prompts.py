"""Prompts: the shipped recording scripts and the user's own messages."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.paths import resources_dir

SCRIPT_LANGUAGES = ("zh", "en")
MAX_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class Prompt:
    id: str            # zh-0001, en-0042, msg-0003
    text: str
    language: str      # zh, en, or "mixed" for user messages
    kind: str = "script"   # "script" or "message" (message banking: kept exactly as recorded)

    @property
    def is_message(self) -> bool:
        return self.kind == "message"


def script_path(language: str) -> Path:
    return resources_dir() / "scripts" / f"{language}.txt"


@lru_cache(maxsize=None)
def load_script(language: str) -> tuple[Prompt, ...]:
    """Parse resources/scripts/<language>.txt: `id<TAB>sentence` lines, `#` comments."""
    if language not in SCRIPT_LANGUAGES:
        raise ValueError(f"no recording script for language {language!r}; choose from {SCRIPT_LANGUAGES}")
    prompts = []
    for line in script_path(language).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pid, _, text = line.partition("\t")
        if not text:
            raise ValueError(f"{script_path(language)}: line without a TAB: {line[:40]!r}")
        prompts.append(Prompt(pid.strip(), text.strip(), language))
    return tuple(prompts)


def interleave(scripts: list) -> list[Prompt]:
    """Several scripts taken in turn, one prompt of each (a, b, a, b, ...); the longer one's
    rest at the end. One script comes back as it is."""
    out: list[Prompt] = []
    for i in range(max((len(s) for s in scripts), default=0)):
        out.extend(s[i] for s in scripts if i < len(s))
    return out


def guess_language(text: str) -> str:
    has_han = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    has_latin = any(ch.isascii() and ch.isalpha() for ch in text)
    if has_han and has_latin:
        return "mixed"
    return "zh" if has_han else "en"
