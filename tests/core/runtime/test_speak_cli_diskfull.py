"""`voicebank speak --out` on a full disk: one plain line (never "This is a bug"), no half file."""
from __future__ import annotations

from tests.core.runtime.test_speak_cli import base, run  # noqa: F401
from tests.diskfull import full_disk


def test_out_on_a_full_disk(base, capsys, tmp_path, monkeypatch):  # noqa: F811
    full_disk(monkeypatch, room=2000)
    code, out, err = run(capsys, *base, "--text", "你好。")
    assert code == 1 and not out
    line = err.strip().splitlines()[-1]
    assert line.startswith("voicebank speak: The disk is full, so out.wav could not be written.")
    assert "disk space" in line and "This is a bug" not in err
    assert not (tmp_path / "out.wav").exists() and not list(tmp_path.glob(".out.wav*"))
