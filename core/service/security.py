"""What keeps the speech service the person's own: a secret token, loopback only, limits, and
one service at a time.

- The token: 32 random bytes (URL-safe text) made on first use, in the user's config folder
  (core.settings.config_dir(); VOICEBANK_CONFIG overrides it), readable by the user alone (0600).
  Every request needs `Authorization: Bearer <token>`; it is compared in constant time.
- Host and Origin: a request whose Host is not 127.0.0.1, localhost or [::1], or that carries an
  Origin other than those, is refused (a web page cannot reach the service through DNS
  rebinding or a cross-site form). No CORS header is ever sent.
- A rate limit (a token bucket over all callers: everything comes from this computer).
- The lock: a file in the config folder held (flock / msvcrt) for as long as the service runs.
- service.json: {"port", "pid", "protocol"} next to the token while the service listens (0600,
  written atomically, removed on a clean stop), so clients (voicebank/say_client.py) find the port.
"""
from __future__ import annotations

import hmac
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from core.settings import config_dir

TOKEN_FILE = "service-token"
LOCK_FILE = "service.lock"
SERVICE_FILE = "service.json"
PROTOCOL = 1
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def token_path() -> Path:
    return config_dir() / TOKEN_FILE


def load_or_create_token() -> str:
    """The service's token, made on first use; the file is (made again) readable by the user alone."""
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        token = path.read_text(encoding="ascii").strip()
        if len(token) >= 32:
            return token
        path.unlink()               # damaged or emptied: make a new one
        return load_or_create_token()
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")
    return token


def token_ok(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode("utf-8", "replace"), token.encode("ascii"))


def _hostname(value: str) -> str | None:
    try:
        return urlsplit(f"//{value}").hostname
    except ValueError:
        return None


def host_ok(host: str | None) -> bool:
    return bool(host) and _hostname(host) in LOOPBACK_HOSTS


def origin_ok(origin: str | None) -> bool:
    """No Origin (a program, curl) is fine; a browser page's must be the loopback itself."""
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS


class RateLimit:
    """A token bucket: `per_minute` requests a minute, bursts of up to `burst`."""

    def __init__(self, per_minute: float, burst: int):
        self.rate, self.burst = per_minute / 60.0, float(burst)
        self.level, self.at = float(burst), time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may go on, else seconds until one may."""
        with self._lock:
            now = time.monotonic()
            self.level = min(self.burst, self.level + (now - self.at) * self.rate)
            self.at = now
            if self.level >= 1:
                self.level -= 1
                return 0.0
            return (1 - self.level) / self.rate if self.rate > 0 else 60.0


class ServiceLocked(Exception):
    """Another service holds the lock."""


class ServiceLock:
    """Held while one service runs; a second `acquire` (any process) raises ServiceLocked."""

    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / LOCK_FILE
        self._file = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        try:
            if sys.platform == "win32":
                import msvcrt
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise ServiceLocked(f"another voicebank service is running (its lock {self.path} is taken)") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            self._file.close()      # closing drops the lock
            self._file = None


def service_file() -> Path:
    return config_dir() / SERVICE_FILE


def write_service_file(port: int) -> Path:
    """Say where this service listens: written atomically (a temporary file, then renamed), 0600."""
    path = service_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".service-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"port": int(port), "pid": os.getpid(), "protocol": PROTOCOL}, out)
        if os.name == "posix":
            os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def remove_service_file() -> None:
    """On a clean stop: remove service.json, if it is still this process's."""
    path = service_file()
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass
