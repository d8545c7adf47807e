"""A full disk is an ordinary state, not a crash: one place that recognises it and words it.

Every writer in the app (takes, the cleaned copy, JSON metadata, exports, backups, phrases,
history, `speak --out`) turns an OSError with errno ENOSPC (no space left), EDQUOT (the user's
quota is used up) or EFBIG (the file is larger than the disk or a limit allows) into a
`DiskFullError` whose text says what failed, that nothing was half-written, how much space is
needed and what to do. The text is meant to be read aloud to a tired person: short sentences,
whole words, sizes in MB.

Writers that go through libsndfile get no errno from it ("System error"), so audio is encoded in
memory and written with plain file writes (`write_bytes_atomic`), whose failures carry one.
"""
from __future__ import annotations

import errno
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

# A raw take is 48 kHz 16-bit mono; the RNNoise-cleaned copy beside it is the same size again.
RAW_BYTES_PER_SECOND = 48_000 * 2
RECORDING_BYTES_PER_SECOND = 2 * RAW_BYTES_PER_SECOND
TYPICAL_TAKE_S = 5.0                 # a script sentence read at a calm pace
MB = 1_000_000

# Recording does not start with less free space than about half a minute of speech needs.
MIN_FREE_TO_RECORD = 30 * RECORDING_BYTES_PER_SECOND
# Kept free in the bank folder (see ensure_reserve): released when the disk fills during a
# take, so the take's metadata and quality report can still be saved.
RESERVE_BYTES = 64 * 1024
RESERVE_NAME = ".space-reserve.part"   # ".part": backups and exports never copy it

NOTHING_CHANGED = "Nothing was changed and nothing half-written was left behind."
FREE_SPACE_ADVICE = ("Free some space (empty the wastebasket, or delete large files you no longer "
                     "need), or choose a folder on another disk, then try again.")
# for files whose place the person does not choose (the bank's own files, what was said)
FREE_SPACE_THEN_RETRY = ("Free some space (empty the wastebasket, or delete large files you no longer "
                         "need), then try again.")


class DiskFullError(OSError):
    """No room left to write (disk full, quota used up, file too large). `str()` is the
    plain message for the person; errno and filename are kept for code that needs them."""

    def __init__(self, message: str, *, errno_: int = errno.ENOSPC, path: Path | str | None = None,
                 needed_bytes: int | None = None):
        super().__init__(errno_, message, None if path is None else str(path))
        self.message = message
        self.needed_bytes = needed_bytes

    def __str__(self) -> str:
        return self.message


def is_disk_full(exc: BaseException) -> bool:
    """True for an OSError that means there is no room to write (however deep it was wrapped)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def free_bytes(path: Path | str) -> int | None:
    """Free space for this user on the disk that holds `path` (or would hold it), or None."""
    try:
        return shutil.disk_usage(_existing(Path(path))).free
    except OSError:
        return None


def describe_size(n_bytes: float) -> str:
    """'1 MB' at least (a full disk needs a real figure, never '0 MB'), '1.2 GB' above 1000 MB."""
    mb = max(1, math.ceil(n_bytes / MB))
    if mb >= 1000:
        return f"{mb / 1000:.1f} GB"
    if mb >= 100:
        mb = math.ceil(mb / 10) * 10     # rough figures read better aloud
    return f"{mb} MB"


def describe_free(path: Path | str) -> str:
    free = free_bytes(path)
    if free is None:
        return ""
    if free < MB:
        return "The disk has almost no free space left."
    return f"{describe_size(free)} {'is' if free < 2 * MB else 'are'} free now."


def headline(errno_: int | None) -> str:
    if errno_ == errno.EDQUOT:
        return "Your share of the disk space (the quota) is used up"
    if errno_ == errno.EFBIG:
        return "The file has grown too large for this disk"
    return "The disk is full"


def disk_full_message(failed: str, path: Path | str | None = None, *, needed_bytes: int | None = None,
                      kept: str = NOTHING_CHANGED, advice: str = FREE_SPACE_ADVICE,
                      errno_: int | None = errno.ENOSPC) -> str:
    """'<The disk is full>, so <failed>. <kept> <It needs about X MB; Y are free.> <advice>'"""
    parts = [f"{headline(errno_)}, so {failed}.", kept]
    if needed_bytes is not None:
        parts.append(f"It needs about {describe_size(needed_bytes)} of free disk space.")
    if path is not None and errno_ != errno.EFBIG:
        parts.append(describe_free(path))
    parts.append(advice)
    return " ".join(p for p in parts if p)


def disk_full_error(exc: OSError, failed: str, path: Path | str | None = None, *,
                    needed_bytes: int | None = None, kept: str = NOTHING_CHANGED,
                    advice: str = FREE_SPACE_ADVICE) -> DiskFullError:
    """The DiskFullError to raise `from exc` (whose errno picks the wording)."""
    path = path if path is not None else getattr(exc, "filename", None)
    return DiskFullError(disk_full_message(failed, path, needed_bytes=needed_bytes, kept=kept,
                                           advice=advice, errno_=exc.errno),
                         errno_=exc.errno or errno.ENOSPC, path=path, needed_bytes=needed_bytes)


def disk_full_text(exc: BaseException, failed: str) -> str:
    """The words for a disk-full error caught far from its writer: the writer's own DiskFullError
    text when there is one in the chain, else a plain message saying `failed`."""
    seen: set[int] = set()
    inner: BaseException | None = exc
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, DiskFullError):
            return str(inner)
        if isinstance(inner, OSError) and inner.errno in DISK_FULL_ERRNOS:
            return disk_full_message(failed, inner.filename if isinstance(inner.filename, str) else None,
                                     kept="", errno_=inner.errno)
        inner = inner.__cause__ or inner.__context__
    return disk_full_message(failed, kept="")


@contextmanager
def reporting_disk_full(failed: str, path: Path | str | None = None, *, needed_bytes: int | None = None,
                        kept: str = NOTHING_CHANGED, advice: str = FREE_SPACE_ADVICE) -> Iterator[None]:
    """Turn a disk-full OSError raised inside into a DiskFullError worded for this writer (an
    inner DiskFullError is re-worded too: the outer writer knows better what the person asked for)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_FULL_ERRNOS:
            raise
        needed = needed_bytes if needed_bytes is not None else getattr(exc, "needed_bytes", None)
        raise disk_full_error(exc, failed, path, needed_bytes=needed, kept=kept, advice=advice) from exc


def ensure_space(path: Path | str, needed_bytes: int, failed: str, *,
                 advice: str = FREE_SPACE_ADVICE) -> None:
    """Refuse before writing anything when the disk plainly cannot hold `needed_bytes`."""
    free = free_bytes(path)
    if free is not None and free < needed_bytes:
        raise DiskFullError(disk_full_message(failed, path, needed_bytes=needed_bytes, advice=advice),
                            path=path, needed_bytes=needed_bytes)


def write_bytes_atomic(path: Path, chunks: Iterator[bytes] | list[bytes] | bytes, *,
                       failed: str | None = None, needed_bytes: int | None = None,
                       advice: str = FREE_SPACE_ADVICE) -> Path:
    """Write `path` via a hidden temp file + fsync + rename: a full disk leaves the old file (or
    none), never half of one, and raises DiskFullError (worded with `failed`)."""
    path = Path(path)
    if isinstance(chunks, (bytes, bytearray, memoryview)):
        needed_bytes = memoryview(chunks).nbytes if needed_bytes is None else needed_bytes
        chunks = [chunks]           # written as it is: no copy of a long recording
    with atomic_path(path, failed=failed or f"{path.name} could not be saved",
                     needed_bytes=needed_bytes, advice=advice) as tmp:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
    return path


@contextmanager
def atomic_path(path: Path, *, failed: str, needed_bytes: int | None = None,
                advice: str = FREE_SPACE_ADVICE) -> Iterator[Path]:
    """A hidden temp file beside `path` for the block to write; when the block ends without an
    error it is synced and renamed onto `path`, else removed. A full disk raises DiskFullError
    (worded with `failed`): the old file (or none) stays, never half of one."""
    path = Path(path)
    tmp: str | None = None
    try:
        with reporting_disk_full(failed, path.parent, needed_bytes=needed_bytes, advice=advice):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
            os.close(fd)
            yield Path(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def copy_file_atomic(source: Path, dest: Path, *, failed: str | None = None,
                     advice: str = FREE_SPACE_ADVICE) -> Path:
    """Copy `source` to `dest` with the guarantees of write_bytes_atomic."""
    source, dest = Path(source), Path(dest)
    size = source.stat().st_size

    def chunks() -> Iterator[bytes]:
        with open(source, "rb") as fh:
            while block := fh.read(1 << 20):
                yield block
    return write_bytes_atomic(dest, chunks(), failed=failed, needed_bytes=size, advice=advice)


# -- recording -----------------------------------------------------------------------------------
def recording_bytes(seconds: float) -> int:
    """Disk space for this much recorded speech: the raw take and its cleaned copy."""
    return int(math.ceil(seconds * RECORDING_BYTES_PER_SECOND))


def describe_minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def remaining_need(prompts_left: int, avg_take_s: float | None) -> tuple[int, float]:
    """(bytes, seconds of speech) the prompts still to record need: at least one take's worth."""
    seconds = max(prompts_left, 1) * (avg_take_s or TYPICAL_TAKE_S)
    return max(recording_bytes(seconds), MIN_FREE_TO_RECORD), seconds


def _need(prompts_left: int, avg_take_s: float | None) -> str:
    needed, seconds = remaining_need(prompts_left, avg_take_s)
    if prompts_left <= 1:
        return f"The next sentence needs about {describe_size(needed)} of free disk space."
    return (f"The {prompts_left} sentences still to go need about {describe_size(needed)} of free disk "
            f"space (about {describe_minutes(seconds)} of recording, and a cleaned copy of each).")


RECORDING_ADVICE = ("Free some space, for example by emptying the wastebasket, or ask a helper to move "
                    "the voice bank to a bigger disk. Then press Space to go on.")


def recording_stopped_message(kept_s: float | None, prompts_left: int, avg_take_s: float | None,
                              errno_: int | None = errno.ENOSPC) -> str:
    """What the Record page says when the disk filled during a take. Short sentences: it is read
    by (or to) someone tired, on a small screen."""
    kept = (f"The first {kept_s:.1f} seconds of this take are kept, and every earlier take is safe."
            if kept_s else "Every earlier take is safe.")
    return " ".join((f"{headline(errno_)}, so recording stopped.", kept,
                     _need(prompts_left, avg_take_s), RECORDING_ADVICE))


def recording_space_check(folder: Path | str, prompts_left: int,
                          avg_take_s: float | None) -> tuple[str, str] | None:
    """Before a take or a session: ("error", text) when there is too little space to record at
    all, ("warning", text) when the rest of the script will not fit, else None."""
    free = free_bytes(folder)
    if free is None:
        return None
    needed, _ = remaining_need(prompts_left, avg_take_s)
    if free < MIN_FREE_TO_RECORD:
        state = ("The disk is full" if free < MB else
                 f"The disk is almost full (only {describe_size(free)} {'is' if free < 2 * MB else 'are'} free)")
        return "error", " ".join((
            f"{state}, so recording cannot start: the take could not be saved.",
            _need(prompts_left, avg_take_s), RECORDING_ADVICE))
    if free < needed:
        return "warning", " ".join((
            f"Disk space is running low: {describe_size(free)} free.", _need(prompts_left, avg_take_s),
            "You can go on recording for now, but free some space soon, or ask a helper to move "
            "the voice bank to a bigger disk."))
    return None


# -- the reserve ---------------------------------------------------------------------------------
def ensure_reserve(folder: Path) -> None:
    """Keep RESERVE_BYTES set aside in `folder` (written once). Raises DiskFullError when even
    that cannot be written: the disk is already full, so nothing should start recording."""
    reserve = Path(folder) / RESERVE_NAME
    try:
        if reserve.is_file() and reserve.stat().st_size >= RESERVE_BYTES:
            return
    except OSError:
        return
    try:
        write_bytes_atomic(reserve, bytes(RESERVE_BYTES))
    except DiskFullError as exc:
        raise DiskFullError(disk_full_message(
            "recording cannot start: the take could not be saved", folder,
            needed_bytes=MIN_FREE_TO_RECORD, kept="Every earlier take is safe.",
            advice=RECORDING_ADVICE, errno_=exc.errno), errno_=exc.errno, path=folder,
            needed_bytes=MIN_FREE_TO_RECORD) from exc


def release_reserve(folder: Path) -> bool:
    """Give the reserved space back (the disk just filled up); True if there was one."""
    reserve = Path(folder) / RESERVE_NAME
    try:
        reserve.unlink()
        return True
    except OSError:
        return False
