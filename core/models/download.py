"""Download one manifest file: resumable, checked, and visible only once verified.

Bytes go to `<dest>.part`. An existing part is resumed with an HTTP Range request (its bytes are
hashed first so the SHA-256 still covers the whole file). The finished part is checked (size, then
SHA-256 or the first-use rules in store.check_candidate) and only then renamed into place. A part that
fails the check is deleted; a part left by a lost connection or a cancel is kept for the next try.
Only the standard library is used so that this works in a frozen build with no extra transport.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from core.models.manifest import Manifest, ModelFile
from core.models.store import (Cancelled, ModelStoreError, check_candidate, dest_of, file_status,
                               hash_file, install, mb, part_of, recorded_entry, _m)

NET_CHUNK = 1 << 16
USER_AGENT = "voicebank-model-store/1"
DISK_MARGIN = 64 * 1024 * 1024
IMPORT_HINT = "or import the files from a folder or .zip you already have (voicebank models import PATH)"

Progress = Callable[[int, "int | None"], None]
Cancel = Callable[[], bool]


class DownloadError(ModelStoreError):
    """The download failed; the message says why and what the user can do."""


class DownloadCancelled(Cancelled):
    """The user cancelled; the .part file is kept and the next download resumes it."""


@dataclass(frozen=True)
class DownloadResult:
    file: ModelFile
    path: Path
    sha256: str
    size: int
    resumed_from: int       # bytes already in the .part when this call started (0: fresh)
    transferred: int        # bytes received over the network by this call
    first_use: bool         # no hash was known: this download's hash was recorded
    detail: str


class _Restart(Exception):
    """Internal: throw the part away and fetch the whole file again."""


def _network_message(f: ModelFile, exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
        why = "the server did not answer in time"
    elif isinstance(reason, ConnectionRefusedError):
        why = "the connection was refused (the server is not reachable)"
    else:
        why = str(reason) or reason.__class__.__name__
    return (f"Could not download {f.key}: {why}. Check the internet connection and try again "
            f"(the download continues where it stopped), {IMPORT_HINT}.")


def _http_message(f: ModelFile, code: int, reason: str) -> str:
    if code == 404:
        return (f"The server has no {f.repo_path} at the pinned revision (HTTP 404). The app's model "
                f"list may be out of date; {IMPORT_HINT}.")
    if code in (401, 403):
        return f"The server refused access to {f.repo_path} (HTTP {code} {reason}); {IMPORT_HINT}."
    if code >= 500:
        return (f"The download server had a problem with {f.repo_path} (HTTP {code} {reason}). "
                f"Try again later, {IMPORT_HINT}.")
    return f"Unexpected answer for {f.repo_path}: HTTP {code} {reason}; {IMPORT_HINT}."


_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$")


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(start, total) from a Content-Range header; None where absent or '*'."""
    m = _CONTENT_RANGE.match(value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) else None
    total = int(m.group(3)) if m.group(3) and m.group(3) != "*" else None
    return start, total


def _open(f: ModelFile, offset: int, timeout: float):
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(f.url, headers=headers)
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        try:
            if exc.code == 416:
                # Range past the end: complete already if the server's length equals what we have.
                _, total = _content_range(exc.headers.get("Content-Range"))
                return ("416", total)
            raise DownloadError(_http_message(f, exc.code, str(exc.reason))) from None
        finally:
            exc.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # URLError (refused, no route, DNS), TimeoutError, resets, malformed answers.
        raise DownloadError(_network_message(f, exc)) from None


def _check_space(folder: Path, need: int | None) -> None:
    if not need:
        return
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < need + DISK_MARGIN:
        raise DownloadError(f"Not enough disk space in {folder}: {mb(need)} needed, {mb(free)} free. "
                            "Free some space or point VOICEBANK_MODELS at a larger drive.")


def download(file: ModelFile, dest: Path | None = None, *, progress: Progress | None = None,
             cancel: Cancel | None = None, timeout: float = 30.0,
             root: Path | None = None) -> DownloadResult:
    """Fetch one file into place (default: its models-folder path). See the module docstring.

    progress(done, total) is called with bytes of the whole file (total None when unknown);
    cancel() is polled between blocks. `timeout` bounds the connect and each read.
    """
    dest = Path(dest) if dest is not None else dest_of(file, root)
    part = part_of(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    restarted = False
    while True:
        try:
            return _attempt(file, dest, part, progress, cancel, timeout, root)
        except _Restart:
            part.unlink(missing_ok=True)
            if restarted:
                raise DownloadError(f"The server keeps sending {file.key} inconsistently; "
                                    f"try again later, {IMPORT_HINT}.") from None
            restarted = True


def _attempt(f: ModelFile, dest: Path, part: Path, progress: Progress | None,
             cancel: Cancel | None, timeout: float, root: Path | None) -> DownloadResult:
    have = part.stat().st_size if part.exists() else 0
    if f.size is not None and have > f.size:
        raise _Restart()
    hasher = hashlib.sha256()
    if have:
        try:
            hash_file(part, cancel=cancel, hasher=hasher)
        except Cancelled as exc:
            raise DownloadCancelled(str(exc)) from None
    resumed_from = have
    if f.size is not None and have == f.size:
        return _finish(f, dest, part, hasher, resumed_from, 0, root)

    resp = _open(f, have, timeout)
    if isinstance(resp, tuple):  # 416
        _, total = resp
        if have and total == have:
            return _finish(f, dest, part, hasher, resumed_from, 0, root)
        raise _Restart()

    with resp:
        code = resp.status
        mode = "ab"
        if have and code == 200:
            # The server ignored Range and sends the whole file: start the part and the hash over.
            have, hasher, mode = 0, hashlib.sha256(), "wb"
        elif code == 206:
            start, _ = _content_range(resp.headers.get("Content-Range"))
            if start != have:
                raise _Restart()
        elif code != 200:
            raise DownloadError(_http_message(f, code, str(resp.reason)))
        if not have:
            mode = "wb"
        length_hdr = resp.headers.get("Content-Length")
        length = int(length_hdr) if length_hdr and length_hdr.isdigit() else None
        offered = have + length if length is not None else None
        if f.size is not None and offered is not None and offered != f.size:
            raise DownloadError(f"The server offers {offered:,} bytes for {f.key}, the manifest expects "
                                f"{f.size:,}: not the expected file. Try again later, {IMPORT_HINT}.")
        total = f.size if f.size is not None else offered
        if total is None and f.sha256 is None and recorded_entry(f, root) is None:
            # Nothing could tell a cut-off copy from a whole one, and its hash would be recorded.
            raise DownloadError(f"The server did not say how large {f.key} is and no hash is known for it, "
                                f"so a complete copy could not be told from a cut-off one. Try again later, "
                                f"{IMPORT_HINT}.")
        _check_space(dest.parent, (total - have) if total is not None else None)

        done, transferred, overflow = have, 0, False
        if progress:
            progress(done, total)
        with open(part, mode) as out:
            try:
                while True:
                    if cancel is not None and cancel():
                        raise DownloadCancelled(f"Download of {f.key} cancelled; "
                                                f"{mb(done)} kept, the next download resumes it.")
                    block = resp.read(NET_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    hasher.update(block)
                    done += len(block)
                    transferred += len(block)
                    if f.size is not None and done > f.size:
                        overflow = True
                        break
                    if progress:
                        progress(done, total)
            except (OSError, http.client.HTTPException) as exc:
                out.flush()
                raise DownloadError(f"The connection was lost after {mb(done)} of {f.key} "
                                    f"({_network_message(f, exc)})") from None
            out.flush()
            os.fsync(out.fileno())
    if overflow:
        part.unlink(missing_ok=True)
        raise DownloadError(f"The server sent more than the expected {f.size:,} bytes for {f.key}; "
                            f"the copy was deleted. Try again later, {IMPORT_HINT}.")
    # http.client returns b"" (no error) when the peer closes early, so count the bytes ourselves.
    short = (length is not None and transferred < length) or (f.size is not None and done < f.size)
    if short:
        raise DownloadError(f"The connection was lost after {mb(done)} of {mb(total)} of {f.key}. "
                            f"Check the internet connection and try again (the download continues "
                            f"where it stopped), {IMPORT_HINT}.")
    return _finish(f, dest, part, hasher, resumed_from, transferred, root)


def _finish(f: ModelFile, dest: Path, part: Path, hasher, resumed_from: int, transferred: int,
            root: Path | None) -> DownloadResult:
    size = part.stat().st_size
    sha = hasher.hexdigest()
    verdict = check_candidate(f, part, size, sha, root)
    if not verdict.ok:
        part.unlink(missing_ok=True)
        raise DownloadError(f"The download of {f.key} failed its check: {verdict.reason}. The bad copy "
                            f"was deleted; try again, {IMPORT_HINT}.")
    path = install(f, part, sha, size, verdict, source=f"download {f.url}", root=root, dest=dest)
    detail = ("no hash was known for it: its SHA-256 was recorded on this first download"
              if verdict.first_use else verdict.reason)
    return DownloadResult(f, path, sha, size, resumed_from, transferred, verdict.first_use, detail)


def download_missing(models: Iterable[str] | None = None, *, purpose: str | None = None,
                     manifest: Manifest | None = None, root: Path | None = None,
                     progress: Callable[[ModelFile, int, "int | None"], None] | None = None,
                     cancel: Cancel | None = None, timeout: float = 30.0) -> list[DownloadResult]:
    """Download every file of the given models that is not installed; stops at the first error.
    With no models named, the optional ones are left out (name them to get them)."""
    man = _m(manifest)
    results = []
    archives: dict[str, list[ModelFile]] = {}
    for f in man.files(models, purpose):
        if file_status(f, root=root).installed:
            continue
        if f.in_archive:        # fetched once per archive, below
            archives.setdefault(f.url, []).append(f)
            continue
        cb = (lambda done, total, f=f: progress(f, done, total)) if progress else None
        results.append(download(f, progress=cb, cancel=cancel, timeout=timeout, root=root))
    for url, members in archives.items():
        results.append(_from_archive(man, url, members, root, progress, cancel, timeout))
    return results


def _from_archive(man: Manifest, url: str, members: list[ModelFile], root: Path | None,
                  progress: Callable[[ModelFile, int, "int | None"], None] | None,
                  cancel: Cancel | None, timeout: float) -> DownloadResult:
    """Files published only inside a zip (g2pW's G2PWModel.zip): download the zip like any file
    (resumable; its hash recorded on first use, later copies must match), import the members
    from it with every check an import makes, then delete it."""
    from core.models.importer import import_from

    first = members[0]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", urllib.parse.unquote(url.rsplit("/", 1)[-1])) or "archive.zip"
    archive = ModelFile(model=first.model, name=name, repo_path=name, url=url, size=None, sha256=None)
    dest = dest_of(first, root).parent / f".download-{name}"
    cb = (lambda done, total: progress(archive, done, total)) if progress else None
    got = download(archive, dest, progress=cb, cancel=cancel, timeout=timeout, root=root)
    try:
        report = import_from(dest, manifest=man, root=root, models=[first.model], cancel=cancel)
    finally:
        dest.unlink(missing_ok=True)
    taken = {i.file for i in report.items}
    bad = [f"{i.file}: {i.reason}" for i in report.rejected] + [
        f"{f.name}: not in the archive" for f in members if f.name not in taken]
    if bad:
        raise DownloadError(f"The download of {archive.key} did not give the expected files ({'; '.join(bad)}); "
                            f"{IMPORT_HINT}.")
    unpacked = ", ".join(i.file for i in report.imported) or "nothing new"
    return DownloadResult(archive, dest.parent, got.sha256, got.size, got.resumed_from, got.transferred,
                          got.first_use or bool(report.recorded),
                          "; ".join([got.detail, f"unpacked {unpacked}"] + report.notes))
