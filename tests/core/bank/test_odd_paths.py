"""A bank in a folder whose name is not UTF-8 (a USB stick from another computer) works: takes
are recorded, listed, processed, exported, backed up and restored."""
from __future__ import annotations

import os
import sys

import pytest

from core.bank.export import backup_speaker, export_dataset
from core.bank.process import process_take
from core.bank.restore import restore_speaker
from core.bank.store import Bank
from tests.core.bank.test_store import record

pytestmark = pytest.mark.skipif(sys.platform == "win32" or sys.getfilesystemencoding() != "utf-8",
                                reason="non-UTF-8 names are a POSIX byte-path case")


def test_a_bank_under_a_non_utf8_folder_name(tmp_path):
    odd = tmp_path / os.fsdecode(b"stick-\xff\xfe")
    bank = Bank(odd / "bank")
    speaker = bank.create_speaker("Anna", ["en"])
    prompt = speaker.prompts()[0]
    take = record(speaker, prompt, seconds=1.0)
    assert take is not None and take.duration_s == pytest.approx(1.0, abs=0.01)
    assert [t.id for t in Bank(odd / "bank").speaker(speaker.id).takes(prompt.id)] == [take.id]
    process_take(speaker, take)
    assert speaker.current_take(prompt.id).grade is not None
    summary = export_dataset(speaker, odd / "dataset", include_red=True)   # a tone is no speech
    assert summary.clips == 1
    backup = backup_speaker(speaker, odd / "anna.zip")
    restored = restore_speaker(Bank(odd / "other"), backup)
    assert restored.current_take(prompt.id).id == take.id
