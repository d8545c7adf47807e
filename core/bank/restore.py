"""Putting a speaker backup back, with every file checked before anything in the bank changes.

The steps, each safe to interrupt (`core.bank.recovery` tidies up on the next start):
1. Check the zip without unpacking: one speaker folder with a speaker.json; safe names only
   (no absolute paths, `..`, backslashes or links); plain, unencrypted files; what it unpacks to
   within a sane cap and within the free disk space.
2. Unpack into a hidden staging folder `<bank>/.restore-<id>-XXXXXXXX/`, which names its owner.
3. Check what was unpacked: speaker.json, and every model file with the rules a voice import
   uses (`core.torchfile`: no code, no unknown classes, sizes bounded; voice files must be v2
   GPT-SoVITS models of the kind their name says).
4. When replacing: write the journal `<bank>/.restore-<id>.journal.json` (which staging folder,
   where the current speaker is kept), then move the current speaker to `<bank>/.replaced/`.
5. Move the staged speaker into place; delete the journal and the staging folder.
A kill in 1-3 leaves a staging folder the next start deletes; a kill in 4-5 leaves the journal,
and the next start finishes the restore (the staged copy was complete and checked) or, if the
staged copy is gone, puts the kept speaker back.
"""
from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from core.bank.files import make_staging, read_json, write_json_atomic
from core.bank.store import Bank, BankError, Speaker, now_iso
from core.diskspace import DiskFullError, describe_size, disk_full_message, free_bytes, reporting_disk_full

MAX_RESTORE_BYTES = 20 * 1000**3   # a whole speaker (takes, voices, a build) is a few GB at most
RESTORE_MARGIN_BYTES = 200 * 1000**2   # left free after unpacking, for the bank's own writes
JOURNAL_SUFFIX = ".journal.json"
_TORCH_SUFFIXES = {".pth", ".ckpt", ".pt", ".bin"}
_CHUNK = 1 << 20


def journal_path(bank_root: Path, speaker_id: str) -> Path:
    return Path(bank_root) / f".restore-{speaker_id}{JOURNAL_SUFFIX}"


def _unchanged(zip_name: str, why: str) -> BankError:
    return BankError(f"{zip_name} cannot be restored: {why}. Nothing in your voice bank was changed.")


def _check_members(zip_name: str, zf: zipfile.ZipFile) -> tuple[str, list[zipfile.ZipInfo]]:
    """The speaker id and the plain files to unpack, or a BankError saying what is wrong."""
    infos = zf.infolist()
    tops = {PurePosixPath(i.filename).parts[0] for i in infos if i.filename.strip("/")}
    if len(tops) != 1 or f"{next(iter(tops))}/speaker.json" not in zf.namelist():
        raise BankError(f"{zip_name} is not a voicebank backup: it has no single speaker folder "
                        "with a speaker.json. Nothing was changed.")
    speaker_id = next(iter(tops))
    if speaker_id.startswith(".") or ":" in speaker_id:
        raise _unchanged(zip_name, f"its speaker folder name ({speaker_id!r}) is not one voicebank writes")
    files: list[zipfile.ZipInfo] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or "\\" in name or "\x00" in name \
                or (parts and ":" in parts[0]):
            raise BankError(f"{zip_name} contains an unsafe path ({name!r}); refused. Nothing was changed.")
        if info.is_dir():
            continue
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise _unchanged(zip_name, f"{name} is a link or a device, which backups never hold")
        if info.flag_bits & 0x1:
            raise _unchanged(zip_name, f"{name} is encrypted")
        if name in seen:
            raise _unchanged(zip_name, f"it holds {name} twice")
        seen.add(name)
        files.append(info)
    return speaker_id, files


def _check_space(zip_name: str, files: list[zipfile.ZipInfo], bank_root: Path) -> int:
    total = sum(i.file_size for i in files)
    if total > MAX_RESTORE_BYTES:
        raise _unchanged(zip_name, f"it would unpack to {describe_size(total)}, more than any speaker's "
                         f"recordings and voices take ({describe_size(MAX_RESTORE_BYTES)} at most); it may be "
                         "damaged or made to fill the disk")
    free = free_bytes(bank_root)
    needed = total + RESTORE_MARGIN_BYTES
    if free is not None and free < needed:
        raise DiskFullError(disk_full_message(
            f"{zip_name} cannot be restored", bank_root, needed_bytes=needed,
            kept="Nothing in your voice bank was changed."), path=bank_root, needed_bytes=needed)
    return total


def _unpack(zip_name: str, zf: zipfile.ZipFile, files: list[zipfile.ZipInfo], staging: Path,
            total: int) -> None:
    with reporting_disk_full(f"{zip_name} could not be restored", staging, needed_bytes=total,
                             kept="Nothing in your voice bank was changed."):
        for info in files:
            target = staging.joinpath(*PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "xb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)   # zipfile stops at the declared size
            except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
                raise _unchanged(zip_name, f"{info.filename} is damaged inside the backup ({exc})") from None
            except (RuntimeError, NotImplementedError):
                raise _unchanged(zip_name, f"{info.filename} is compressed in a way voicebank never "
                                 "writes") from None


def _check_model_files(zip_name: str, folder: Path) -> None:
    """Every model file in the staged speaker, by the rules a voice import uses."""
    from core.engine.checkpoint import CONFIG_CLASSES, CheckpointError, checkpoint_kind, load_checkpoint, require_v2
    from core.torchfile import TRAINING_STATE_LIMIT, TorchFileError, check_torch_file

    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _TORCH_SUFFIXES):
        rel = path.relative_to(folder).as_posix()
        try:
            if rel.startswith("voices/") and path.suffix in (".pth", ".ckpt"):
                ckpt = load_checkpoint(path)
                require_v2(ckpt, path.name)
                want = "gpt" if path.suffix == ".ckpt" else "sovits"
                if checkpoint_kind(ckpt) != want:
                    raise CheckpointError(f"{path.name} holds a {checkpoint_kind(ckpt).upper()} model "
                                          f"where a {want.upper()} model belongs")
                del ckpt
            else:   # a build's checkpoints, feature caches: never loaded with more rights than this
                check_torch_file(path, limit=TRAINING_STATE_LIMIT, classes=CONFIG_CLASSES,
                                 what="model file")
        except (CheckpointError, TorchFileError) as exc:
            raise _unchanged(zip_name, f"{rel} is not a safe model file. {str(exc).rstrip('.')}") from None


def _replace(root: Path, target: Path, staged: Path, staging: Path, journal: Path) -> None:
    """Swap the staged speaker in, keeping the current one in `.replaced/`; journaled so that a
    kill between the two renames is settled on the next start, and undone at once on an error."""
    kept = root / ".replaced" / f"{target.name}-{now_iso()[:19].replace(':', '')}"
    kept.parent.mkdir(exist_ok=True)
    write_json_atomic(journal, {"speaker": target.name, "staging": staging.name,
                                "kept": kept.relative_to(root).as_posix(), "started": now_iso()})
    try:
        target.rename(kept)
        os.replace(staged, target)
    except BaseException:
        if not target.exists() and kept.is_dir():
            kept.rename(target)
        journal.unlink(missing_ok=True)
        raise
    journal.unlink(missing_ok=True)


def settle_journal(root: Path, journal: Path) -> str:
    """Finish or undo a restore a kill interrupted after its journal was written. Returns
    "finished" (the checked backup is in place), "undone" (the speaker as it was is back) or
    "complete" (there was nothing left to do)."""
    data = read_json(journal)
    outcome = "complete"
    if isinstance(data, dict) and all(isinstance(data.get(k), str) for k in ("speaker", "staging", "kept")):
        speaker_id, staging_name, kept_rel = data["speaker"], data["staging"], data["kept"]
        safe = ("/" not in speaker_id and "/" not in staging_name and staging_name.startswith(".restore-")
                and kept_rel.startswith(".replaced/") and kept_rel.count("/") == 1 and ".." not in kept_rel)
        if safe:
            target, staged = root / speaker_id, root / staging_name / speaker_id
            kept = root / kept_rel
            if not target.exists() and (staged / "speaker.json").is_file():
                os.replace(staged, target)      # checked before the journal was written
                outcome = "finished"
            elif not target.exists() and kept.is_dir():
                kept.rename(target)
                outcome = "undone"
            shutil.rmtree(root / staging_name, ignore_errors=True)
    journal.unlink(missing_ok=True)
    return outcome


def restore_speaker(bank: Bank, zip_path: Path, *, replace: bool = False) -> Speaker:
    """Unpack a backup into the bank. An existing speaker is kept unless `replace` is given, and
    then moved to `<bank>/.replaced/`, never deleted."""
    zip_path = Path(zip_path)
    zip_name = zip_path.name
    if zip_path.is_dir():
        raise BankError(f"{zip_path} is a folder. Choose the backup's .zip file inside it.")
    try:
        zf = zipfile.ZipFile(zip_path)
    except FileNotFoundError:
        raise BankError(f"{zip_path} does not exist. Check the name and the folder.") from None
    except PermissionError:
        raise BankError(f"You do not have permission to read {zip_name}. Nothing was changed.") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise BankError(f"{zip_name} is not a voicebank backup (not a readable zip file).") from exc
    with zf:
        speaker_id, files = _check_members(zip_name, zf)
        bank.ensure()
        target = bank.root / speaker_id
        if target.exists() and not replace:
            raise BankError(f"The bank already has a speaker {speaker_id!r}. Nothing was changed. "
                            "Use --replace to put the backup in its place (the current one is moved "
                            "to the bank's .replaced folder, not deleted).")
        total = _check_space(zip_name, files, bank.root)
        staging = make_staging(bank.root, f".restore-{speaker_id}-")
        journal = journal_path(bank.root, speaker_id)
        try:
            _unpack(zip_name, zf, files, staging, total)
            staged = staging / speaker_id
            if not isinstance(read_json(staged / "speaker.json"), dict):
                raise BankError(f"{zip_name}: its speaker.json is damaged. Nothing was changed.")
            _check_model_files(zip_name, staged)
            if target.exists():
                _replace(bank.root, target, staged, staging, journal)
            else:
                os.replace(staged, target)
        finally:
            if not journal.exists():   # a journal left behind is for recovery to act on
                shutil.rmtree(staging, ignore_errors=True)
    return bank.speaker(speaker_id)
