"""Import base model files the user already has: a folder (e.g. GPT-SoVITS's
`GPT_SoVITS/pretrained_models`), a .zip of one, or a single file.

Every file is copied (hashing as it goes) to a temporary name next to its destination, checked
against the manifest (size, SHA-256; first-use rules where no hash is known) and only then renamed
into place. Nothing from a zip is ever written under a path taken from the zip: members are only
read, and only those whose names the manifest asks for.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterable, Iterator, Literal

from core.models.manifest import Manifest, ModelFile
from core.models.store import (Cancelled, ModelStoreError, check_candidate, dest_of, file_status,
                               install, _m)

COPY_CHUNK = 1 << 20
MAX_ZIP_TOTAL = 8 * 1024**3         # the whole v2 base set is about 1.3 GB
MAX_ZIP_MEMBERS = 100_000
MAX_MEMBER_UNKNOWN_SIZE = 2 * 1024**3  # cap for files whose exact size the manifest does not know

Outcome = Literal["imported", "skipped", "rejected"]


class ModelImportError(ModelStoreError):
    """The source cannot be imported at all (missing, not a zip, an unsafe zip)."""


class ImportCancelled(Cancelled):
    """The user cancelled; files imported before the cancel stay, nothing half-copied is left."""


@dataclass(frozen=True)
class ImportItem:
    model: str
    file: str
    outcome: Outcome
    reason: str
    source: str = ""          # where in the folder / zip the copy came from
    first_use: bool = False   # no hash was known: this copy's hash was recorded

    @property
    def key(self) -> str:
        return f"{self.model}/{self.file}"


@dataclass
class ImportReport:
    source: Path
    items: list[ImportItem] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)  # still-needed files the source did not hold
    notes: list[str] = field(default_factory=list)      # e.g. g2pW made ready

    def _by(self, outcome: Outcome) -> list[ImportItem]:
        return [i for i in self.items if i.outcome == outcome]

    @property
    def imported(self) -> list[ImportItem]:
        return self._by("imported")

    @property
    def skipped(self) -> list[ImportItem]:
        return self._by("skipped")

    @property
    def rejected(self) -> list[ImportItem]:
        return self._by("rejected")

    @property
    def recorded(self) -> list[ImportItem]:
        return [i for i in self.items if i.first_use]

    def summary(self) -> str:
        lines = [f"Import from {self.source}:"]
        for i in self.items:
            lines.append(f"  {i.outcome:<8} {i.key}: {i.reason}" + (f"  [{i.source}]" if i.source else ""))
        for k in self.not_found:
            lines.append(f"  missing  {k}: not in this source")
        if self.recorded:
            lines.append(f"  Note: no published hash is known for {len(self.recorded)} file(s); their SHA-256 was "
                         "recorded on this first import and later copies are checked against it.")
        if not self.items and not self.not_found:
            lines.append("  nothing to do")
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Entry:
    parts: tuple[str, ...]   # folder names leading to the file (root's own name first), then the name
    label: str               # for messages
    size: int
    open: Callable[[], BinaryIO]


_DRIVE = re.compile(r"^[A-Za-z]:")


def _zip_entries(zf: zipfile.ZipFile, zip_path: Path) -> list[_Entry]:
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ModelImportError(f"{zip_path.name} has {len(infos):,} entries; refusing to import it.")
    total = 0
    entries: list[_Entry] = []
    for info in infos:
        name = info.filename
        pp = PurePosixPath(name)
        # Refuse the whole archive on any unsafe name: a crafted zip is not a model pack.
        if (name.startswith(("/", "\\")) or "\\" in name or _DRIVE.match(name) or ".." in pp.parts
                or "\x00" in name):
            raise ModelImportError(f"{zip_path.name} contains an unsafe path ({name!r}); refusing to "
                                   "import anything from it.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ModelImportError(f"{zip_path.name} contains a symbolic link ({name!r}); refusing to "
                                   "import anything from it.")
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise ModelImportError(f"{zip_path.name} is encrypted; unpack it yourself and import the folder.")
        total += info.file_size
        if total > MAX_ZIP_TOTAL:
            raise ModelImportError(f"{zip_path.name} unpacks to more than {MAX_ZIP_TOTAL // 1024**3} GB; "
                                   "refusing to import it.")
        entries.append(_Entry(("",) + pp.parts, f"{zip_path.name}:{name}", info.file_size,
                              lambda info=info: zf.open(info)))
    return entries


def _folder_entries(folder: Path) -> Iterator[_Entry]:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(folder).parts
        for name in filenames:
            if name.endswith(".part"):
                continue
            p = Path(dirpath) / name
            try:
                st = p.stat()  # follows a symlink: the user's own folder may link to its files
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            yield _Entry((folder.name,) + rel + (name,), str(p), st.st_size, lambda p=p: open(p, "rb"))


def _matches(f: ModelFile, e: _Entry, name_counts: Counter) -> bool:
    if e.parts[-1] != f.name:
        return False
    # config.json / pytorch_model.bin exist in both feature models: then the folder must say which.
    return name_counts[f.name] == 1 or f.model in e.parts[:-1]


def _copy_candidate(f: ModelFile, e: _Entry, root: Path | None, cancel: Callable[[], bool] | None,
                    progress: Callable[[str, int, "int | None"], None] | None) -> tuple[str | None, bool]:
    """Copy one candidate into place if it verifies.

    Returns (None, first_use) on success, else (the reason it was rejected, False).
    """
    if f.size is not None and e.size != f.size:
        return f"wrong size: {e.size:,} bytes, expected {f.size:,}", False
    limit = f.size if f.size is not None else MAX_MEMBER_UNKNOWN_SIZE
    if e.size > limit:
        return f"too large ({e.size:,} bytes)", False
    dest = dest_of(f, root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{f.name}.import-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        done = 0
        with os.fdopen(fd, "wb") as out, e.open() as src:
            while True:
                if cancel is not None and cancel():
                    raise ImportCancelled(f"Import cancelled while copying {f.key}.")
                block = src.read(COPY_CHUNK)
                if not block:
                    break
                done += len(block)
                if done > limit:  # never trust a declared size (zip bombs, growing files)
                    return f"more data than expected (over {limit:,} bytes)", False
                out.write(block)
                h.update(block)
                if progress:
                    progress(f.key, done, e.size)
        verdict = check_candidate(f, tmp, done, h.hexdigest(), root)
        if not verdict.ok:
            return verdict.reason, False
        install(f, tmp, h.hexdigest(), done, verdict, source=f"import {e.label}", root=root)
        return None, verdict.first_use
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        return f"could not be read ({exc})", False
    finally:
        tmp.unlink(missing_ok=True)


def import_from(path: Path | str, *, manifest: Manifest | None = None, root: Path | None = None,
                cancel: Callable[[], bool] | None = None,
                progress: Callable[[str, int, "int | None"], None] | None = None,
                models: Iterable[str] | None = None) -> ImportReport:
    """Import every manifest file found in a folder, a .zip or a single file (of `models`, else
    of every model, the optional ones included). See the module docstring."""
    src = Path(path).expanduser()
    man = _m(manifest)
    wanted = man.files(models, optional=True)
    optional = {m.id for m in man.models if m.optional}
    report = ImportReport(src)
    if not src.exists():
        raise ModelImportError(f"{src} does not exist.")
    zf: zipfile.ZipFile | None = None
    try:
        wanted_names = {f.name for f in wanted}
        if src.is_dir():
            entries = list(_folder_entries(src))
        elif src.is_file() and src.name in wanted_names:
            # Checked before the zip test: a torch checkpoint is itself a zip file.
            entries = [_Entry((src.parent.name, src.name), str(src), src.stat().st_size,
                              lambda: open(src, "rb"))]
        elif zipfile.is_zipfile(src):
            try:
                zf = zipfile.ZipFile(src)
                entries = _zip_entries(zf, src)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ModelImportError(f"{src.name} is not a readable zip file ({exc}).") from None
        elif src.is_file():
            entries = []  # neither a zip nor a file the manifest names: nothing to import
        else:
            raise ModelImportError(f"{src} is neither a folder, a zip nor a file.")

        counts = Counter(f.name for f in wanted)
        # An optional model (g2pW) is worth a "missing" line only where the source had part of it.
        seen = {f.model for f in wanted for e in entries if _matches(f, e, counts)}
        for f in wanted:
            candidates = [e for e in entries if _matches(f, e, counts)]
            current = file_status(f, root=root)
            if not candidates:
                if not current.installed and (f.model not in optional or f.model in seen):
                    report.not_found.append(f.key)
                continue
            if current.installed:
                report.items.append(ImportItem(f.model, f.name, "skipped", "already installed",
                                               candidates[0].label))
                continue
            reasons = []
            for e in candidates:
                why, first_use = _copy_candidate(f, e, root, cancel, progress)
                if why is None:
                    reason = ("no hash was known: its SHA-256 was recorded on this first import"
                              if first_use else "verified and installed")
                    report.items.append(ImportItem(f.model, f.name, "imported", reason, e.label, first_use))
                    break
                reasons.append(f"{e.label}: {why}" if len(candidates) > 1 else why)
            else:
                report.items.append(ImportItem(f.model, f.name, "rejected", "; ".join(reasons),
                                               candidates[0].label if len(candidates) == 1 else ""))
    finally:
        if zf is not None:
            zf.close()
    report.notes += prepare_after_install(man, [i.model for i in report.imported], root)
    return report


def prepare_after_install(man: Manifest, models: Iterable[str], root: Path | None) -> list[str]:
    """g2pW, once all its files are in place: its int8 copy is written and checked now (a few
    seconds) instead of at the first sentence. Only for the models folder the app reads."""
    if root is not None or "g2pw" not in set(models) or "g2pw" not in {m.id for m in man.models}:
        return []
    if not all(file_status(f).installed for f in man.files(["g2pw"])):
        return []
    from core.text import g2pw

    return [g2pw.prepare(dest_of(man.files(["g2pw"])[0]).parent).message]

