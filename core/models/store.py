"""What is installed, what is missing, and the one way a verified file gets into the models folder.

Layout: `models_dir()/<model id>/<file name>`, plus two bookkeeping files at the top:
- `recorded-hashes.json`: SHA-256 of files whose hash the manifest does not know, recorded the first
  time a copy passed the other checks (trust on first use); later copies must match it.
- `.verified.json`: a cache `file -> (size, mtime_ns, sha256)` so that `status()` does not re-hash
  about a gigabyte on every call. A file changed in place keeps neither its size and mtime both, in
  practice; `status(rehash=True)` ignores the cache when in doubt.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Literal

from core.bank.files import read_json, write_json_atomic
from core.models.manifest import Manifest, ModelFile, load_manifest
from core.paths import models_dir

State = Literal["installed", "missing", "wrong size", "unverified", "corrupt"]
RECORDED_NAME = "recorded-hashes.json"
CACHE_NAME = ".verified.json"
PART_SUFFIX = ".part"
CHUNK = 1 << 20
MAX_TEXT = 64 * 1024 * 1024     # a "text" file (g2pW's character table: under 1 MB) is read whole

# Writers in one process (GUI download thread + status poll) must not lose each other's updates.
_lock = threading.RLock()
_default_manifest: Manifest | None = None


class ModelStoreError(Exception):
    """Base for model store errors that carry a message meant for the user."""


class Cancelled(ModelStoreError):
    """The user cancelled; anything partly done is kept where that helps (a download's .part)."""


def default_manifest() -> Manifest:
    global _default_manifest
    if _default_manifest is None:
        _default_manifest = load_manifest()
    return _default_manifest


def _m(manifest: Manifest | None) -> Manifest:
    return manifest if manifest is not None else default_manifest()


def _root(root: Path | None) -> Path:
    return Path(root) if root is not None else models_dir()


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def mb(n: int | None) -> str:
    if n is None:
        return "unknown size"
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


@dataclass(frozen=True)
class FileStatus:
    model: str
    file: str
    path: Path
    state: State
    detail: str
    expected_size: int | None = None
    hash_source: Literal["manifest", "recorded"] | None = None
    recorded_at: str | None = None

    @property
    def installed(self) -> bool:
        return self.state == "installed"

    @property
    def key(self) -> str:
        return f"{self.model}/{self.file}"


# ---------------------------------------------------------------------------------------- paths

def path_of(model: str, file: str, *, manifest: Manifest | None = None, root: Path | None = None) -> Path:
    """Where a manifest file lives (whether or not it is there). KeyError for unknown names."""
    f = _m(manifest).file(model, file)
    return _root(root) / f.model / f.name


def model_dir(model: str, *, manifest: Manifest | None = None, root: Path | None = None) -> Path:
    """The folder of one model (for the feature models: the folder transformers loads)."""
    return _root(root) / _m(manifest).model(model).id


def dest_of(f: ModelFile, root: Path | None = None) -> Path:
    return _root(root) / f.model / f.name


def part_of(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


# ---------------------------------------------------------------------------------------- hashing

def hash_file(path: Path, *, cancel: Callable[[], bool] | None = None,
              progress: Callable[[int], None] | None = None, hasher=None) -> "hashlib._Hash":
    """Feed a file into a SHA-256 hasher (a new one unless given) and return the hasher."""
    h = hasher if hasher is not None else hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            if cancel is not None and cancel():
                raise Cancelled(f"cancelled while checking {path.name}")
            block = fh.read(CHUNK)
            if not block:
                break
            h.update(block)
            if progress is not None:
                progress(len(block))
    return h


def sha256_of(path: Path) -> str:
    return hash_file(path).hexdigest()


# ---------------------------------------------------------------------------------------- recorded hashes

def _recorded_path(root: Path | None) -> Path:
    return _root(root) / RECORDED_NAME


def recorded_hashes(root: Path | None = None) -> dict[str, dict]:
    data = read_json(_recorded_path(root))
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def recorded_entry(f: ModelFile, root: Path | None = None) -> dict | None:
    """The hash recorded for this file, if it was recorded for the same pinned URL."""
    entry = recorded_hashes(root).get(f.key)
    # A record made for another revision's URL says nothing about this one.
    if isinstance(entry, dict) and entry.get("url") == f.url and isinstance(entry.get("sha256"), str):
        return entry
    return None


def record_hash(f: ModelFile, sha256: str, size: int, source: str, root: Path | None = None) -> dict:
    with _lock:
        files = recorded_hashes(root)
        entry = {"sha256": sha256, "size": size, "url": f.url, "recorded_at": _now(), "source": source}
        files[f.key] = entry
        write_json_atomic(_recorded_path(root), {"schema": 1, "files": files})
        return entry


def forget_recorded(f: ModelFile, root: Path | None = None) -> bool:
    """Drop a recorded hash (the user decided the first copy was wrong). True if there was one."""
    with _lock:
        files = recorded_hashes(root)
        if files.pop(f.key, None) is None:
            return False
        write_json_atomic(_recorded_path(root), {"schema": 1, "files": files})
        return True


def expected_hash(f: ModelFile, root: Path | None = None) -> tuple[str | None, str | None, str | None]:
    """(sha256, 'manifest'|'recorded'|None, recorded_at)."""
    if f.sha256:
        return f.sha256, "manifest", None
    entry = recorded_entry(f, root)
    if entry:
        return entry["sha256"], "recorded", entry.get("recorded_at")
    return None, None, None


# ---------------------------------------------------------------------------------------- cache

def _cache_path(root: Path | None) -> Path:
    return _root(root) / CACHE_NAME


def _cache_load(root: Path | None) -> dict[str, dict]:
    data = read_json(_cache_path(root))
    return data if isinstance(data, dict) else {}


def _cache_put(key: str, path: Path, sha256: str, root: Path | None) -> None:
    st = path.stat()
    with _lock:
        cache = _cache_load(root)
        cache[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
        try:
            write_json_atomic(_cache_path(root), cache)
        except OSError:
            pass  # a cache that cannot be written only costs a re-hash later


def _cached_sha(key: str, st: os.stat_result, root: Path | None) -> str | None:
    entry = _cache_load(root).get(key)
    if (isinstance(entry, dict) and entry.get("size") == st.st_size
            and entry.get("mtime_ns") == st.st_mtime_ns and isinstance(entry.get("sha256"), str)):
        return entry["sha256"]
    return None


# ---------------------------------------------------------------------------------------- status

def file_status(f: ModelFile, *, root: Path | None = None, rehash: bool = False) -> FileStatus:
    path = dest_of(f, root)
    sha, source, recorded_at = expected_hash(f, root)

    def st_(state: State, detail: str) -> FileStatus:
        return FileStatus(f.model, f.name, path, state, detail, f.size, source, recorded_at)

    try:
        st = path.stat()
    except FileNotFoundError:
        part = part_of(path)
        if part.exists():
            have = part.stat().st_size
            total = f"of {mb(f.display_size)}" if f.display_size else "downloaded so far"
            return st_("missing", f"partly downloaded ({mb(have)} {total}); downloading again resumes")
        if sha is None:
            return st_("missing", "not installed; no published hash: the first verified copy's hash is "
                                  "recorded and later copies must match it")
        return st_("missing", "not installed")
    if not path.is_file():
        return st_("corrupt", "a folder or special file is in the way of this file")
    if f.size is not None and st.st_size != f.size:
        return st_("wrong size", f"{st.st_size:,} bytes, expected {f.size:,}; import or download it again")
    if sha is None:
        return st_("unverified", "present, but no hash is known for it yet (the manifest lists none and none "
                                 "was recorded); import or download it to check and record it. Not used until then")
    actual = None if rehash else _cached_sha(f.key, st, root)
    if actual is None:
        actual = sha256_of(path)
        _cache_put(f.key, path, actual, root)
    if actual != sha:
        what = "the manifest's" if source == "manifest" else "the hash recorded on first import"
        return st_("corrupt", f"SHA-256 does not match {what}; the file is damaged or a different file. "
                              "Import or download it again")
    if source == "recorded":
        return st_("installed", f"verified against the hash recorded on first import ({recorded_at}); "
                                "the manifest lists none for it")
    return st_("installed", "verified (size and SHA-256)")


def status(models: Iterable[str] | None = None, *, purpose: str | None = None,
           manifest: Manifest | None = None, root: Path | None = None,
           rehash: bool = False, optional: bool = False) -> list[FileStatus]:
    """One FileStatus per manifest file (of the given models; when None, of every required
    model, and of the optional ones too when `optional`)."""
    return [file_status(f, root=root, rehash=rehash) for f in _m(manifest).files(models, purpose, optional)]


def missing(models: Iterable[str] | None = None, *, purpose: str | None = None,
            manifest: Manifest | None = None, root: Path | None = None) -> list[FileStatus]:
    """Every file that is not usable yet (missing, wrong size, unverified or corrupt)."""
    return [s for s in status(models, purpose=purpose, manifest=manifest, root=root) if not s.installed]


def is_ready(models: Iterable[str] | None = None, *, purpose: str | None = None,
             manifest: Manifest | None = None, root: Path | None = None) -> bool:
    return not missing(models, purpose=purpose, manifest=manifest, root=root)


# ---------------------------------------------------------------------------------------- accepting a file

@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    first_use: bool = False  # accepted with no known hash: the caller records it and tells the user


def _format_problem(f: ModelFile, path: Path, root: Path | None = None) -> str | None:
    """Used only when there is no hash to compare against: JSON must parse; text must be UTF-8;
    a torch file must open with the safe loader and match its model's config, an ONNX file must
    be the model it claims to be with no custom code or outside data (core.models.content)."""
    try:
        if f.format == "json":
            with open(path, encoding="utf-8") as fh:
                if not isinstance(json.load(fh), dict):
                    return "not a JSON object"
        elif f.format == "text":
            if path.stat().st_size > MAX_TEXT:
                return f"far larger than a text table ({mb(path.stat().st_size)})"
            path.read_bytes().decode("utf-8")
        elif f.format == "onnx":
            from core.models.content import onnx_problem

            return onnx_problem(f.model, path)
        elif f.format == "torch":
            with open(path, "rb") as fh:
                head = fh.read(4)
            # torch.save writes a zip (PK..) or, in the legacy format, a pickle (0x80 protocol byte).
            if not (head == b"PK\x03\x04" or head[:1] == b"\x80"):
                return "not a PyTorch checkpoint"
            # A zip's directory sits at its end, so this also catches a cut-off copy.
            if head == b"PK\x03\x04" and not zipfile.is_zipfile(path):
                return "an incomplete PyTorch checkpoint (its zip directory is missing)"
            from core.models.content import content_problem

            return content_problem(f.model, f.name, path, dest_of(f, root).parent)
    except (OSError, ValueError) as exc:
        return f"unreadable ({exc.__class__.__name__})"
    return None


def check_candidate(f: ModelFile, path: Path, size: int, sha256: str,
                    root: Path | None = None) -> Verdict:
    """Decide whether a fully written candidate copy (at `path`) may be installed."""
    if f.size is not None and size != f.size:
        return Verdict(False, f"wrong size: {size:,} bytes, expected {f.size:,}")
    if f.sha256 is not None:
        if sha256 != f.sha256:
            return Verdict(False, "SHA-256 does not match the manifest (damaged or a different file)")
        return Verdict(True, "verified (size and SHA-256)")
    entry = recorded_entry(f, root)
    if entry is not None:
        if sha256 != entry["sha256"]:
            return Verdict(False, "SHA-256 differs from the copy recorded on first import "
                                  f"({entry.get('recorded_at')}); a different or damaged file")
        return Verdict(True, "verified against the hash recorded on first import")
    problem = _format_problem(f, path, root)
    if problem:
        return Verdict(False, f"{problem}; the manifest has no hash to check it against")
    return Verdict(True, "no hash known: recorded on first import (checked for size where known and "
                         "file format); later copies must match it", first_use=True)


def install(f: ModelFile, tmp: Path, sha256: str, size: int, verdict: Verdict, source: str,
            root: Path | None = None, dest: Path | None = None) -> Path:
    """Move a verified temporary file into place atomically; record a first-use hash; cache the check.

    `tmp` must be on the same file system as the destination (same folder) for os.replace.
    """
    if not verdict.ok:
        raise ValueError("install() called with a rejected file")
    dest = dest if dest is not None else dest_of(f, root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())  # the bytes are on disk before the name points at them
    if verdict.first_use:
        record_hash(f, sha256, size, source, root)
    os.replace(tmp, dest)
    _cache_put(f.key, dest, sha256, root)
    return dest
