"""Ways to fill the disk in a test.

- `full_disk(monkeypatch, room)`: in this process, the app's own write paths (os.write, used by
  the take and consent writers, and files from os.fdopen, used by every atomic writer) accept
  `room` more bytes, then fail with ENOSPC the way the kernel does (a short write, then the error);
  deleting a file gives its size back, and core.diskspace.free_bytes reports what is left.
- `run_with_file_size_limit(code, limit)`: a real kernel limit: a child Python with RLIMIT_FSIZE
  set (Python ignores SIGXFSZ, so a write past it fails with EFBIG instead of killing the child).
- `small_tmpfs(path, size)`: a real small filesystem where mounting is allowed (root, not in a
  container that forbids it); None elsewhere, and the test is skipped.
"""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]


class Room:
    def __init__(self, room: int):
        self.left = room
        self.refused = 0       # writes refused so far

    def take(self, n: int) -> int:
        """How many of n bytes fit; raises ENOSPC when none do."""
        if self.left <= 0:
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(n, self.left)
        self.left -= n
        return n


class _LimitedFile:
    def __init__(self, fh, room: Room):
        self._fh, self._room = fh, room

    def write(self, data) -> int:
        if isinstance(data, str):         # a text-mode file: all of it fits, or none
            size = len(data.encode("utf-8"))
            if self._room.take(size) < size:
                self._room.take(1)
            return self._fh.write(data)
        view = memoryview(data).cast("B")
        n = self._room.take(len(view))
        self._fh.write(view[:n])
        if n < len(view):
            self._fh.flush()
            self._room.take(1)            # the rest does not fit: raise like the kernel
        return n

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)


def full_disk(monkeypatch, room: int = 0) -> Room:
    """After this, the app's writers can put `room` more bytes on the disk, then get ENOSPC."""
    state = Room(room)
    real_write, real_fdopen = os.write, os.fdopen

    def write(fd, data):
        if fd <= 2:               # stdout/stderr stay writable
            return real_write(fd, data)
        view = memoryview(data).cast("B")
        n = state.take(len(view))
        return real_write(fd, view[:n])

    def fdopen(fd, mode="r", *args, **kwargs):
        fh = real_fdopen(fd, mode, *args, **kwargs)
        return _LimitedFile(fh, state) if ("w" in mode or "a" in mode) else fh

    def unlink(path, *args, **kwargs):       # deleting a file gives its space back
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
        real_unlink(path, *args, **kwargs)
        state.left = max(state.left, 0) + size

    real_unlink = os.unlink
    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fdopen", fdopen)
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "remove", unlink)
    # what the app reads as free space is this pretend disk's, not the real one's
    monkeypatch.setattr("core.diskspace.free_bytes", lambda path: max(state.left, 0))
    return state


def run_with_file_size_limit(code: str, limit_bytes: int, env: dict | None = None,
                             timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `code` in a child Python whose files cannot grow past `limit_bytes` (EFBIG)."""
    prelude = textwrap.dedent(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({int(limit_bytes)}, resource.RLIM_INFINITY))
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def run_cli_with_file_size_limit(args: list[str], limit_bytes: int, env: dict | None = None,
                                 timeout: float = 300) -> subprocess.CompletedProcess:
    """`voicebank ARGS` in a child with RLIMIT_FSIZE (see run_with_file_size_limit)."""
    return run_with_file_size_limit(
        f"import sys\nfrom voicebank.cli import main\nsys.exit(main({args!r}))", limit_bytes, env, timeout)


@contextmanager
def small_tmpfs(path: Path, size: str = "2m") -> Iterator[Path | None]:
    """Mount a tmpfs of `size` at `path` if this machine allows it; yields None if not."""
    path.mkdir(parents=True, exist_ok=True)
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        yield None
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
