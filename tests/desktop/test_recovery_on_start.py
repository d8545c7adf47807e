"""The window's start settles a restore a kill cut short: the speaker is there, and the Speaker
page says what happened in words."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.bank.export import backup_speaker
from core.bank.store import Bank
from desktop.app import MainWindow
from tests.core.bank.test_store import record
from tests.desktop.conftest import OUTPUT

ROOT = Path(__file__).resolve().parents[2]
KILLED_BETWEEN_RENAMES = """
import os, sys
from pathlib import Path
from core.bank import restore
from core.bank.store import Bank
real = Path.rename
Path.rename = lambda self, target: (real(self, target), os._exit(9))
restore.restore_speaker(Bank(Path(sys.argv[1])), Path(sys.argv[2]), replace=True)
"""


def test_an_interrupted_restore_is_finished_when_the_window_opens(qtbot, private_bank, tmp_path):
    from desktop.app import make_app

    source = Bank(tmp_path / "elsewhere").create_speaker("Ada", ["en"])
    session = source.start_session("mic", -60.0, True)
    for prompt in source.prompts()[:3]:
        record(source, prompt, session=session)
    backup = backup_speaker(source, tmp_path / "ada.zip")
    bank = Bank(private_bank)
    bank.create_speaker("Ada", ["en"])
    proc = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_RENAMES, str(bank.root), str(backup)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 9 and bank.speakers() == []       # only in .replaced/ now

    make_app([])
    window = MainWindow(bank=bank, list_devices=lambda: [])
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    banner = window.speaker_page.banner
    assert banner.isVisible() and "The restore of Ada that was interrupted last time has been finished" in banner.text()
    assert [s.id for s in bank.speakers()] == ["ada"] and bank.speaker("ada").progress().prompts_done == 3
    OUTPUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUTPUT / "restore_recovered.png"))
    window.close()
