"""The GPT-SoVITS v2 phone symbol table (732 symbols; index = embedding row)."""
from __future__ import annotations

import json
from functools import lru_cache

from core.paths import resources_dir


@lru_cache(maxsize=1)
def _load() -> tuple[str, ...]:
    path = resources_dir() / "engine" / "symbols_v2.json"
    symbols = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(symbols, list) or len(symbols) != 732:
        raise RuntimeError(f"{path} is not the 732-symbol v2 table")
    return tuple(symbols)


SYMBOLS: tuple[str, ...] = _load()
symbol_to_id: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}

PAD = "_"
UNK = "UNK"
PUNCTUATION = ("!", "?", "…", ",", ".", "-")


def phones_to_ids(phones: list[str]) -> list[int]:
    """Map phones to ids; a phone outside the table becomes UNK (as the original does)."""
    unk = symbol_to_id[UNK]
    return [symbol_to_id.get(p, unk) for p in phones]
