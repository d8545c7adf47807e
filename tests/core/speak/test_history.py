"""History of what was said: newest last, replayable audio, bounded with cleanup."""
from __future__ import annotations

from core.speak.history import History


def test_add_and_reload_keeps_the_audio(tmp_path, make_wav):
    history = History(tmp_path)
    out = history.new_audio_path()
    make_wav(out)
    history.add("Hello there", out, "voice-1")
    own = make_wav(tmp_path / "takes" / "msg-0001" / "take.wav")
    history.add("Please call my wife", own, "own recording", own=True)
    entries = History(tmp_path).entries()
    assert [(e.text, e.own) for e in entries] == [("Hello there", False), ("Please call my wife", True)]
    assert entries[0].audio_path == out and out.is_file()


def test_copy_keeps_a_private_file(tmp_path, make_wav):
    history = History(tmp_path)
    cached = make_wav(tmp_path / "cache" / "k.wav")
    said = history.add("Yes", cached, "voice-1", copy=True)
    cached.unlink()                         # the phrase cache was pruned
    assert said.audio_path.parent == history.audio_dir and said.audio_path.is_file()


def test_bounded_drops_the_oldest_and_their_audio_but_never_a_take(tmp_path, make_wav):
    history = History(tmp_path, max_entries=3)
    own = make_wav(tmp_path / "takes" / "take.wav")
    history.add("mine", own, "own recording", own=True)
    made = []
    for i in range(4):
        out = make_wav(history.new_audio_path())
        made.append(out)
        history.add(f"said {i}", out, "v")
    assert [e.text for e in history.entries()] == ["said 1", "said 2", "said 3"]
    assert own.is_file()                    # the user's recording is never deleted
    assert not made[0].exists() and all(p.exists() for p in made[1:])


def test_damaged_entries_are_skipped(tmp_path, make_wav):
    history = History(tmp_path)
    history.add("ok", make_wav(history.new_audio_path()), "v")
    text = history.file.read_text(encoding="utf-8").replace('"said": [', '"said": [{"text": 1}, ')
    history.file.write_text(text, encoding="utf-8")
    assert [e.text for e in history.entries()] == ["ok"]
    history.clear()
    assert history.entries() == [] and not list(history.audio_dir.glob("*.wav"))
