"""Small file helpers the bank relies on for crash safety."""
from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from core.diskspace import FREE_SPACE_THEN_RETRY, atomic_path, write_bytes_atomic


def write_json_atomic(path: Path, data: Any, *, failed: str | None = None) -> None:
    """Write JSON via temp file + fsync + rename: readers see the old or the new file, never half.
    A full disk raises DiskFullError worded with `failed` ("the list of saved phrases could not
    be saved"); the old file is untouched and the temp file removed."""
    text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    write_bytes_atomic(Path(path), text.encode("utf-8"), failed=failed or f"{Path(path).name} could not be saved",
                       advice=FREE_SPACE_THEN_RETRY)


@contextmanager
def atomic_zip(path: Path, comment: bytes = b"", *, failed: str | None = None,
               needed_bytes: int | None = None) -> Iterator[zipfile.ZipFile]:
    """A zip written as a hidden `.part` beside `path` and renamed into place only when complete:
    a crash or error leaves the old file (or none), never half a zip. A full disk raises
    DiskFullError worded with `failed` (what the person asked for)."""
    with atomic_path(path, failed=failed or f"{path.name} could not be written",
                     needed_bytes=needed_bytes) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.comment = comment
            yield zf


def read_json(path: Path) -> Any | None:
    """The parsed file, or None when it is missing or unreadable (the caller decides what that means)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


# -- staging folders: work in progress that a crash may leave behind -----------------------------

STAGING_OWNER = ".owner"     # inside a staging folder: the process id that is filling it
STALE_WITHOUT_OWNER_S = 6 * 3600


def make_staging(parent: Path, prefix: str, suffix: str = "") -> Path:
    """A hidden work folder in `parent` that names its owner process, so that the next start can
    tell a folder some running import is still filling from the leftovers of a killed one."""
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=prefix, suffix=suffix))
    (folder / STAGING_OWNER).write_text(str(os.getpid()), encoding="ascii")
    return folder


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":      # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's live process
        return True
    except OSError:
        return False
    return True


def staging_is_stale(folder: Path, now: float | None = None) -> bool:
    """True when no live process owns this staging folder any more."""
    try:
        pid = int((folder / STAGING_OWNER).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pid = None
    if pid is not None and os.name == "posix":
        return not _process_alive(pid)
    try:   # no owner recorded (older versions), or no way to ask: go by age
        age = (now or time.time()) - folder.stat().st_mtime
    except OSError:
        return False
    return age > STALE_WITHOUT_OWNER_S
