"""A full disk while recording and while writing the bank: the take stops, what was written is
kept as an interrupted take, earlier takes are intact, nothing half-written is left, and every
message names disk space. Three ways to fill the disk: injected ENOSPC (always), a file-size
limit in a child process (EFBIG from the kernel, always), a real 2 MB tmpfs (where mounting is
allowed)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

import core.diskspace as ds
from core.bank.export import export_dataset
from core.bank.process import process_take
from core.bank.store import Bank
from core.diskspace import DiskFullError
from tests.diskfull import full_disk, run_with_file_size_limit, small_tmpfs

BLOCK = (0.2 * np.sin(np.arange(1024) / 5.0)).astype(np.float32)   # 1024 frames = 2048 bytes on disk


def record(speaker, prompt, session, blocks: int):
    writer = speaker.begin_take(prompt, session)
    for _ in range(blocks):
        writer.append(BLOCK)
    return writer.finish()


def leftovers(folder):
    return [p for p in folder.rglob("*") if p.name.endswith(".part") and p.name != ds.RESERVE_NAME]


def test_disk_full_mid_take_keeps_the_written_part_as_an_interrupted_take(private_bank, monkeypatch):
    speaker = Bank().create_speaker("Ada", ["en"])
    session = speaker.start_session("fake", -60.0, True)
    first, second = speaker.prompts()[:2]
    before = record(speaker, first, session, 20)
    before_bytes = before.raw_path.read_bytes()

    writer = speaker.begin_take(second, session)
    for _ in range(10):
        writer.append(BLOCK)
    room = full_disk(monkeypatch, room=3000)        # one more block and a bit fit, then no more
    writer.append(BLOCK)
    with pytest.raises(DiskFullError) as caught:
        writer.append(BLOCK)
    text = str(caught.value)
    assert text.startswith("The disk is full, so recording stopped.")
    assert "disk space" in text and "The first 0.2 seconds of this take are kept" in text
    refused = room.refused
    for _ in range(50):                             # later blocks are dropped, not written or kept
        writer.append(BLOCK)
    assert room.refused == refused and writer.frames == 11 * 1024 + 476

    take = writer.finish()                          # the reserve gave back room for its details
    assert take is not None and take.interrupted
    assert take.duration_s == pytest.approx((11 * 1024 + 476) / 48000, abs=1e-3)
    assert sf.info(str(take.raw_path)).frames == 11 * 1024 + 476
    assert json.loads(take.meta_path.read_text())["interrupted"] is True
    assert not leftovers(speaker.folder)
    assert before.raw_path.read_bytes() == before_bytes                   # earlier takes intact

    with pytest.raises(DiskFullError, match="cleaned copy of this take could not be written"):
        process_take(speaker, take)                 # graded like any other take, just not cleaned
    again = speaker.current_take(second.id)
    assert again.grade in ("green", "amber", "red") and not again.cleaned and again.interrupted
    assert not again.clean_path.exists() and not leftovers(speaker.folder)

    with pytest.raises(DiskFullError, match="recording cannot start") as refused_start:
        speaker.begin_take(first, session)          # the disk is still full: nothing starts
    assert "Every earlier take is safe" in str(refused_start.value)


def test_bank_json_on_a_full_disk(private_bank, monkeypatch):
    bank = Bank()
    speaker = bank.create_speaker("Ada", ["en"])
    speaker.add_message("I love you")
    full_disk(monkeypatch, room=0)
    with pytest.raises(DiskFullError, match="the list of your own messages could not be saved"):
        speaker.add_message("Good night")
    assert [m.text for m in speaker.messages()] == ["I love you"]
    with pytest.raises(DiskFullError, match="the speaker Bob could not be created"):
        bank.create_speaker("Bob", ["en"])
    assert [s.id for s in bank.speakers()] == ["ada"] and not (private_bank / "bob").exists()
    assert not leftovers(private_bank)


def test_export_on_a_full_disk_leaves_no_half_export(private_bank, tmp_path, monkeypatch):
    speaker = Bank().create_speaker("Ada", ["en"])
    session = speaker.start_session("fake", -60.0, True)
    for prompt in speaker.prompts()[:3]:
        record(speaker, prompt, session, 30)
    full_disk(monkeypatch, room=80_000)             # the first clip fits, the second does not
    monkeypatch.setattr(ds, "free_bytes", lambda path: 10**9)    # (something else fills it meanwhile)
    with pytest.raises(DiskFullError) as caught:
        export_dataset(speaker, tmp_path / "dataset")
    text = str(caught.value)
    assert "the export to" in text and "Nothing was exported" in text and "disk space" in text
    assert not (tmp_path / "dataset").exists() and not list(tmp_path.glob(".dataset*"))
    monkeypatch.undo()
    monkeypatch.setattr(ds, "free_bytes", lambda path: 1000)     # refused before writing anything
    with pytest.raises(DiskFullError, match="It needs about 1 MB of free disk space"):
        export_dataset(speaker, tmp_path / "dataset")
    assert not (tmp_path / "dataset").exists()


CHILD_RECORDS = """
    import json, numpy as np
    from core.bank.store import Bank
    from core.diskspace import DiskFullError
    speaker = Bank().create_speaker("Ada", ["en"])
    session = speaker.start_session("fake", -60.0, True)
    block = (0.2 * np.sin(np.arange(1024) / 5.0)).astype(np.float32)
    first, second = speaker.prompts()[:2]
    writer = speaker.begin_take(first, session)
    for _ in range(20):
        writer.append(block)
    writer.finish()
    writer = speaker.begin_take(second, session)
    errors = []
    for _ in range(400):                 # 8.5 s: far more than a file may hold
        try:
            writer.append(block)
        except DiskFullError as exc:
            errors.append(str(exc))
    take = writer.finish()
    print(json.dumps({"errors": errors, "frames": writer.frames, "take": take.id,
                      "interrupted": take.interrupted}))
"""


def test_file_size_limit_stops_the_take_and_keeps_it(private_bank):
    limit = 200_000
    done = run_with_file_size_limit(CHILD_RECORDS, limit, {"VOICEBANK_HOME": str(private_bank)})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["errors"]) == 1 and "too large for this disk" in result["errors"][0]
    assert result["frames"] == (limit - 44) // 2 and result["interrupted"]
    speaker = Bank().speaker("ada")
    first, second = speaker.prompts()[:2]
    assert sf.info(str(speaker.current_take(first.id).raw_path)).frames == 20 * 1024
    take = speaker.current_take(second.id)
    assert take.interrupted and sf.info(str(take.raw_path)).frames == result["frames"]
    assert not leftovers(speaker.folder)


def test_a_real_small_disk_fills_up(tmp_path):
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (not root, or not allowed in this container)")
        speaker = Bank(disk / "bank").create_speaker("Ada", ["en"])
        session = speaker.start_session("fake", -60.0, True)
        first, second = speaker.prompts()[:2]
        kept = record(speaker, first, session, 50)               # ~1 s, 100 kB
        kept_bytes = kept.raw_path.read_bytes()
        writer = speaker.begin_take(second, session)
        errors = 0
        for _ in range(2000):                                    # ~43 s: more than 2 MB
            try:
                writer.append(BLOCK)
            except DiskFullError as exc:
                errors += 1
                assert "The disk is full" in str(exc) and "disk space" in str(exc)
        assert errors == 1 and writer.frames > 48000
        take = writer.finish()
        assert take is not None and take.interrupted
        assert sf.info(str(take.raw_path)).frames == writer.frames
        with pytest.raises(DiskFullError, match="cleaned copy"):
            process_take(speaker, take)
        assert speaker.current_take(second.id).grade and speaker.current_take(second.id).interrupted
        assert kept.raw_path.read_bytes() == kept_bytes
        assert not leftovers(speaker.folder)
        with pytest.raises(DiskFullError, match="recording cannot start"):
            speaker.begin_take(first, session)
        shutil.rmtree(disk / "bank")
