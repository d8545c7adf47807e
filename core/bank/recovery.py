"""On every start: settle what a killed restore or voice import left behind.

- a restore journal (`<bank>/.restore-<id>.journal.json`): the restore is finished or undone
  (`core.bank.restore.settle_journal`), so a speaker is never left only in `.replaced/`;
- a restore staging folder (`<bank>/.restore-<id>-XXXXXXXX/`) no live process owns: deleted;
- a voice import staging folder (`<speaker>/voices/.import-*.part/`) no live process owns: deleted.
Nothing a person recorded is touched: takes, their `.wav.part` files and `.replaced/` stay.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from core.bank.files import read_json, staging_is_stale
from core.bank.restore import JOURNAL_SUFFIX, settle_journal

_RESTORE_STAGING = re.compile(r"\.restore-.+-[a-z0-9_]{8}")
_IMPORT_STAGING = re.compile(r"\.import-[a-z0-9_]{8}\.part")


@dataclass
class RecoveryReport:
    finished: list[str] = field(default_factory=list)     # speakers (names) whose restore was finished
    undone: list[str] = field(default_factory=list)       # speakers (names) put back as they were
    removed: list[Path] = field(default_factory=list)     # leftover work folders deleted

    def messages(self) -> list[str]:
        """What to tell the person (nothing for tidying they need not know about)."""
        out = [f"The restore of {s} that was interrupted last time has been finished." for s in self.finished]
        out += [f"The restore of {s} that was interrupted last time was undone: {s} is back as it was "
                "before. You can restore the backup again." for s in self.undone]
        return out


def _remove(folder: Path, report: RecoveryReport) -> None:
    if folder.is_dir() and not folder.is_symlink() and staging_is_stale(folder):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            report.removed.append(folder)


def recover(bank_root: Path) -> RecoveryReport:
    """Settle interrupted restores and delete stale staging folders under `bank_root`."""
    root = Path(bank_root)
    report = RecoveryReport()
    if not root.is_dir():
        return report
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return report
    for journal in (p for p in entries if p.name.startswith(".restore-") and p.name.endswith(JOURNAL_SUFFIX)):
        speaker_id = journal.name[len(".restore-"):-len(JOURNAL_SUFFIX)]
        try:
            outcome = settle_journal(root, journal)
        except OSError:
            continue    # e.g. read-only bank: left for a later start
        info = read_json(root / speaker_id / "speaker.json")
        speaker = info.get("name") if isinstance(info, dict) and isinstance(info.get("name"), str) else speaker_id
        if outcome == "finished":
            report.finished.append(speaker)
        elif outcome == "undone":
            report.undone.append(speaker)
    for folder in entries:
        if _RESTORE_STAGING.fullmatch(folder.name) and folder.exists():
            _remove(folder, report)
        elif not folder.name.startswith(".") and (folder / "voices").is_dir():
            try:
                leftovers = [p for p in (folder / "voices").iterdir() if _IMPORT_STAGING.fullmatch(p.name)]
            except OSError:
                continue
            for staging in leftovers:
                _remove(staging, report)
    return report
