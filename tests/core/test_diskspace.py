"""core.diskspace: one set of words for a full disk, and atomic writes that never leave half a file."""
from __future__ import annotations

import errno
import json

import pytest

import core.diskspace as ds
from core.bank.files import atomic_zip, write_json_atomic
from core.diskspace import (DiskFullError, describe_size, disk_full_error, is_disk_full,
                            recording_space_check, recording_stopped_message, reporting_disk_full,
                            write_bytes_atomic)
from tests.diskfull import full_disk


def test_sizes_read_well_aloud():
    assert describe_size(0) == "1 MB"                 # never "0 MB": a full disk needs a real figure
    assert describe_size(2_400_000) == "3 MB"
    assert describe_size(123_000_000) == "130 MB"
    assert describe_size(2_345_000_000) == "2.3 GB"


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "The disk is full"),
                                         (errno.EDQUOT, "quota"),
                                         (errno.EFBIG, "too large for this disk")])
def test_each_kind_of_no_room_is_worded(code, words, tmp_path):
    exc = disk_full_error(OSError(code, "x"), "the backup could not be written", tmp_path,
                          needed_bytes=5_000_000)
    text = str(exc)
    assert isinstance(exc, OSError) and exc.errno == code and is_disk_full(exc)
    assert words in text and "the backup could not be written" in text
    assert "disk space" in text and "5 MB" in text and "Free some space" in text
    assert "Traceback" not in text and "Errno" not in text


def test_is_disk_full_looks_through_wrapping():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("libsndfile said so") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)
    assert not is_disk_full(OSError(errno.EACCES, "no"))
    assert not is_disk_full(ValueError())


def test_reporting_rewords_for_the_outer_writer(tmp_path):
    with pytest.raises(DiskFullError) as caught:
        with reporting_disk_full("the export could not be written", tmp_path, needed_bytes=10):
            raise DiskFullError("inner words", path=tmp_path)
    assert str(caught.value).startswith("The disk is full, so the export could not be written.")
    with pytest.raises(PermissionError):            # other errors pass through untouched
        with reporting_disk_full("x"):
            raise PermissionError(errno.EACCES, "no")


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "phrases.json"
    write_json_atomic(target, {"version": 1, "old": True})
    room = full_disk(monkeypatch, room=10)            # part of the new file fits, not all
    with pytest.raises(DiskFullError) as caught:
        write_json_atomic(target, {"version": 1, "new": "x" * 5000}, failed="the list could not be saved")
    assert "the list could not be saved" in str(caught.value)
    assert "Nothing was changed and nothing half-written was left behind" in str(caught.value)
    assert json.loads(target.read_text()) == {"version": 1, "old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["phrases.json"]     # no temp file
    assert room.refused >= 1


def test_atomic_zip_on_a_full_disk_leaves_no_zip(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 100_000)
    with pytest.raises(DiskFullError) as caught:
        with atomic_zip(tmp_path / "out.zip", failed="the backup could not be written",
                        needed_bytes=100_000) as zf:
            zf.write(tmp_path / "a.bin", "a.bin")
            raise OSError(errno.ENOSPC, "No space left on device")   # (zipfile writes with open())
    assert "the backup could not be written" in str(caught.value) and "1 MB" in str(caught.value)
    assert not (tmp_path / "out.zip").exists() and not list(tmp_path.glob(".*.part"))


def test_write_bytes_atomic_writes_every_chunk(tmp_path):
    out = write_bytes_atomic(tmp_path / "f.bin", iter([b"ab", b"cd"]))
    assert out.read_bytes() == b"abcd" and not list(tmp_path.glob(".*"))


def test_recording_space_check_refuses_warns_or_stays_quiet(tmp_path, monkeypatch):
    monkeypatch.setattr(ds, "free_bytes", lambda path: 2 * ds.MB)
    kind, text = recording_space_check(tmp_path, 120, 5.0)
    assert kind == "error"
    assert text.startswith("The disk is almost full (only 2 MB are free), so recording cannot start")
    assert "The 120 sentences still to go need about 120 MB of free disk space (about 10 minutes" in text
    monkeypatch.setattr(ds, "free_bytes", lambda path: 50 * ds.MB)
    kind, text = recording_space_check(tmp_path, 120, 5.0)
    assert kind == "warning" and text.startswith("Disk space is running low: 50 MB free.")
    monkeypatch.setattr(ds, "free_bytes", lambda path: 5_000 * ds.MB)
    assert recording_space_check(tmp_path, 120, 5.0) is None


def test_recording_stopped_message_says_what_is_kept_needed_and_to_do():
    text = recording_stopped_message(4.2, 30, 6.0)
    # 30 sentences x 6 s = 3 minutes; raw + cleaned copy at 48 kHz 16-bit = 192 kB/s -> 35 MB
    assert text == ("The disk is full, so recording stopped. The first 4.2 seconds of this take are kept, "
                    "and every earlier take is safe. The 30 sentences still to go need about 35 MB of free "
                    "disk space (about 3 minutes of recording, and a cleaned copy of each). Free some "
                    "space, for example by emptying the wastebasket, or ask a helper to move the voice "
                    "bank to a bigger disk. Then press Space to go on.")
    one = recording_stopped_message(None, 1, None)
    assert "Every earlier take is safe. The next sentence needs about 6 MB of free disk space." in one
