"""The Build page's line for optional base models: plain words, and how to add one."""
from __future__ import annotations

from types import SimpleNamespace

from desktop.build_support import optional_text


def test_optional_models_are_said_in_plain_words():
    missing = [SimpleNamespace(model="g2pw", installed=False), SimpleNamespace(model="g2pw", installed=True)]
    line = optional_text(missing)
    assert line.startswith("\n○ Better reading of Chinese characters with several sounds (g2pw, optional)")
    assert "Everything works without it" in line and "Import a folder" in line
    assert optional_text([SimpleNamespace(model="g2pw", installed=True)]).endswith("(g2pw, optional): installed")
    assert optional_text([]) == ""
