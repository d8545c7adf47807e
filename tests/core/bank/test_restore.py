"""Restore: limits checked before anything is written, and a restore cut short at any point
finished or undone on the next start (core.bank.recovery), as are killed voice imports."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from core.bank import restore as restore_module
from core.bank.export import backup_speaker
from core.bank.files import make_staging
from core.bank.recovery import recover
from core.bank.restore import journal_path, restore_speaker
from core.bank.store import Bank, BankError
from core.diskspace import DiskFullError
from tests.core.bank.test_store import record

ROOT = Path(__file__).resolve().parents[3]


def _speaker(bank: Bank, name: str = "Anna", takes: int = 3):
    sp = bank.create_speaker(name, ["en"])
    session = sp.start_session("mic", -65.0, True)
    for prompt in sp.prompts()[:takes]:
        record(sp, prompt, session=session)
    return sp


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def setup(tmp_path):
    """A bank with Anna (3 takes) and a backup of Anna with 4 takes: restoring replaces her."""
    source = Bank(tmp_path / "source")
    newer = _speaker(source, takes=4)
    backup = backup_speaker(newer, tmp_path / "anna.zip")
    bank = Bank(tmp_path / "bank")
    current = _speaker(bank, takes=3)
    assert current.id == newer.id
    return bank, backup, _files(current.folder), _files(newer.folder)


def _leftovers(bank: Bank) -> list[str]:
    return sorted(p.name for p in bank.root.iterdir() if p.name.startswith(".restore"))


# ------------------------------------------------------------------------------ limits


def test_a_backup_that_would_fill_the_disk_is_refused_before_writing(setup, monkeypatch):
    bank, backup, old, _ = setup
    monkeypatch.setattr(restore_module, "free_bytes", lambda path: 10_000)
    with pytest.raises(DiskFullError) as info:
        restore_speaker(bank, backup, replace=True)
    message = str(info.value)
    assert "The disk is full, so anna.zip cannot be restored" in message
    assert "Nothing in your voice bank was changed" in message and "MB of free disk space" in message
    assert _files(bank.speaker("anna").folder) == old and _leftovers(bank) == []


def test_a_backup_declaring_more_than_the_cap_is_refused(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("anna/speaker.json", "{}")
        zf.writestr("anna/takes/big.wav", bytes(5_000_000))     # 5 MB of zeros: a few kB zipped
    assert bomb.stat().st_size < 50_000
    monkeypatch.setattr(restore_module, "MAX_RESTORE_BYTES", 1_000_000)
    bank = Bank(tmp_path / "bank")
    with pytest.raises(BankError, match=r"would unpack to 6 MB.*Nothing in your voice bank was changed"):
        restore_speaker(bank, bomb)
    assert not bank.root.exists() or _leftovers(bank) == []


def test_a_disk_filling_during_unpacking_leaves_nothing(setup, monkeypatch):
    bank, backup, old, _ = setup
    real_copy = restore_module.shutil.copyfileobj
    calls = []

    def full_after_two(src, dst, length=0):
        calls.append(1)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        real_copy(src, dst, length)
    monkeypatch.setattr(restore_module.shutil, "copyfileobj", full_after_two)
    with pytest.raises(DiskFullError, match="anna.zip could not be restored"):
        restore_speaker(bank, backup, replace=True)
    assert _files(bank.speaker("anna").folder) == old and _leftovers(bank) == []


@pytest.mark.parametrize("name", ["anna/../../evil.txt", "/abs/evil.txt", "anna\\evil.txt"])
def test_unsafe_names_are_refused(tmp_path, name):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("anna/speaker.json", "{}")
        zf.writestr(name, "x")
    with pytest.raises(BankError):
        restore_speaker(Bank(tmp_path / "bank"), evil)
    assert not (tmp_path / "evil.txt").exists()


def test_links_are_refused(tmp_path):
    evil = tmp_path / "link.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("anna/speaker.json", "{}")
        info = zipfile.ZipInfo("anna/takes/link.wav")
        info.external_attr = (0o120777 << 16)     # a symlink
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(BankError, match="link"):
        restore_speaker(Bank(tmp_path / "bank"), evil)


def test_folders_and_missing_files_get_their_own_words(tmp_path):
    with pytest.raises(BankError, match="is a folder"):
        restore_speaker(Bank(tmp_path / "bank"), tmp_path)
    with pytest.raises(BankError, match="does not exist"):
        restore_speaker(Bank(tmp_path / "bank"), tmp_path / "nope.zip")


# ------------------------------------------------------------------------------ interruptions


def test_an_error_between_the_two_renames_puts_the_speaker_back_at_once(setup, monkeypatch):
    bank, backup, old, _ = setup

    def broken(src, dst):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(restore_module.os, "replace", broken)
    with pytest.raises(OSError):
        restore_speaker(bank, backup, replace=True)
    assert _files(bank.speaker("anna").folder) == old
    assert _leftovers(bank) == [] and not journal_path(bank.root, "anna").exists()


_KILL_AT = """
import os, sys
from pathlib import Path
from core.bank import restore
from core.bank.store import Bank
point = sys.argv[3]
real_rename = Path.rename
if point == "after-keep":        # the current speaker is in .replaced/, the backup not yet in place
    Path.rename = lambda self, target: (real_rename(self, target), os._exit(9))
elif point == "before-keep":     # the journal is written, nothing moved
    Path.rename = lambda self, target: os._exit(9)
elif point == "unpacking":
    restore._check_model_files = lambda *a: os._exit(9)
restore.restore_speaker(Bank(Path(sys.argv[1])), Path(sys.argv[2]), replace=True)
"""


def _killed_restore(bank: Bank, backup: Path, point: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _KILL_AT, str(bank.root), str(backup), point],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)
    assert proc.returncode == 9, proc.stderr.decode()


def test_killed_after_the_speaker_was_moved_aside_the_restore_is_finished(setup):
    bank, backup, _, new = setup
    _killed_restore(bank, backup, "after-keep")
    assert bank.speakers() == []                       # the state the issue saw: "No speakers yet"
    report = recover(bank.root)
    assert report.finished == ["Anna"] and "has been finished" in report.messages()[0]
    assert _files(bank.speaker("anna").folder) == new
    assert _leftovers(bank) == []
    assert len(list((bank.root / ".replaced").iterdir())) == 1      # the old one is kept aside


def test_killed_after_the_speaker_was_moved_aside_without_the_staged_copy_it_is_undone(setup):
    bank, backup, old, _ = setup
    _killed_restore(bank, backup, "after-keep")
    journal = json.loads(journal_path(bank.root, "anna").read_text())
    import shutil
    shutil.rmtree(bank.root / journal["staging"])      # e.g. the staged copy was lost
    report = recover(bank.root)
    assert report.undone == ["Anna"] and "back as it was" in report.messages()[0]
    assert _files(bank.speaker("anna").folder) == old
    assert _leftovers(bank) == [] and not (bank.root / ".replaced").exists() or \
        not list((bank.root / ".replaced").iterdir())


@pytest.mark.parametrize("point", ["before-keep", "unpacking"])
def test_killed_before_anything_moved_leaves_the_speaker_and_no_leftovers(setup, point):
    bank, backup, old, _ = setup
    _killed_restore(bank, backup, point)
    assert _leftovers(bank)                            # what the kill left behind ...
    report = recover(bank.root)
    assert report.finished == [] and report.undone == []
    assert _files(bank.speaker("anna").folder) == old
    assert _leftovers(bank) == []                      # ... is gone on the next start


def test_random_kills_never_lose_the_speaker(setup):
    bank, backup, old, new = setup
    rng = random.Random(7)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c",
                                 "import sys; from pathlib import Path; from core.bank.restore import "
                                 "restore_speaker; from core.bank.store import Bank; "
                                 "restore_speaker(Bank(Path(sys.argv[1])), Path(sys.argv[2]), replace=True)",
                                 str(bank.root), str(backup)], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        recover(bank.root)
        assert _files(bank.speaker("anna").folder) in (old, new)
        assert _leftovers(bank) == []


def test_a_live_restore_is_not_cleaned_away(tmp_path):
    bank = Bank(tmp_path / "bank")
    bank.ensure()
    ours = make_staging(bank.root, ".restore-anna-")    # owned by this (live) process
    assert recover(bank.root).removed == [] and ours.is_dir()


# ------------------------------------------------------------------------------ voice imports


def test_a_killed_voice_import_leaves_nothing_after_the_next_start(tmp_path):
    bank = Bank(tmp_path / "bank")
    sp = bank.create_speaker("Anna", ["zh"])
    voices = Path(sp.folder) / "voices"
    voices.mkdir()
    dead = make_staging(voices, ".import-", ".part")
    (dead / "voice").mkdir()
    (dead / "voice" / "gpt.ckpt").write_bytes(bytes(1000))
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (dead / ".owner").write_text(proc.stdout.strip())        # a process that has exited
    live = make_staging(voices, ".import-", ".part")
    report = recover(bank.root)
    assert report.removed == [dead] and not dead.exists() and live.exists()
    assert report.messages() == []                             # tidying the person need not hear of
