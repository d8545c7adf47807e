"""A voice in one file: `<name>.voicebank`, to move it to another machine or keep it safe.

The file is a zip holding

    manifest.json        format name + version, the voice card, every other file with its size
                         and SHA-256, and `package_sha256` (the SHA-256 of the manifest itself
                         without that key: a damaged or hand-edited manifest is noticed)
    voice/<name>         the voice folder: voice.json, gpt.ckpt, sovits.pth, reference.wav/.txt,
                         sample.wav/.json when present
    consent/<name>       the consent record (consent.wav, consent.json) when there is one

Import trusts nothing in the file: it must be a zip of this format and version; every entry must
be listed in the manifest with a plain name (no folders, no `..`, no links) and a known kind
(.ckpt .pth .wav .txt .json); sizes are capped, and unpacking stops at the size the manifest
states, so a zip bomb cannot fill the disk; every file's size and SHA-256 must match; model files
must open with the restricted checkpoint loader (core/engine/checkpoint.py) as GPT-SoVITS v2
models of the right kind, WAV files must read as audio, JSON must parse. Only then is the voice
unpacked, into a hidden folder next to the speaker's voices, and renamed into place in one step.
An existing voice is never overwritten: a voice with the same id gets a new one.

An imported voice keeps its consent record in its own folder (`<voice>/consent/`), so the
speaker's own record is never replaced, and it goes along when the voice is exported again.

This module is the format, its checks and import; writing a package is core.voices.export.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import zipfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from core.voices.card import VoiceCard, card_from_dict

FORMAT_NAME = "voicebank-voice"
FORMAT_VERSION = 1
SUFFIX = ".voicebank"
MANIFEST = "manifest.json"
VOICE_DIR, CONSENT_DIR = "voice", "consent"
KINDS = {".ckpt", ".pth", ".wav", ".txt", ".json"}
MAX_FILES = 64
MAX_FILE_BYTES = 2 * 1024**3          # an official GPT file is ~150 MB, a SoVITS file ~80 MB
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_MANIFEST_BYTES = 1024**2
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_VOICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CHUNK_BYTES = 1024 * 1024


class VoicePackageError(Exception):
    """The voice cannot be exported or imported; the message says why and what to do."""


# ---------------------------------------------------------------------------------- helpers


def manifest_sha256(manifest: dict) -> str:
    """The package hash: SHA-256 of the manifest's canonical JSON, without `package_sha256`."""
    body = {k: v for k, v in manifest.items() if k != "package_sha256"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def card_from(data: Any, where: str) -> VoiceCard:
    """The voice card from voice.json or a manifest; VoicePackageError (naming `where`) when
    it is missing or incomplete."""
    if not isinstance(data, dict):
        raise VoicePackageError(f"{where}: the voice card is missing or damaged.")
    try:
        return card_from_dict(data)
    except TypeError as exc:
        raise VoicePackageError(f"{where}: the voice card is incomplete ({exc}).") from None


# ---------------------------------------------------------------------------------- checking


def _refuse(path: Path, why: str) -> VoicePackageError:
    return VoicePackageError(f"{path.name} was refused: {why} Nothing was imported.")


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise VoicePackageError(f"{path} does not exist. Check the file name.")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise _refuse(path, "it is not a voicebank voice package (not a readable zip file; "
                      "a cut-off copy or download?).") from None


def _starts_with_manifest(path: Path) -> bool:
    """Export writes manifest.json first: a local file header for it at offset 0."""
    with open(path, "rb") as f:
        head = f.read(30 + len(MANIFEST))
    return head[:4] == b"PK\x03\x04" and head[30:] == MANIFEST.encode()


def _check_manifest(path: Path, zf: zipfile.ZipFile) -> dict:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        if _starts_with_manifest(path):    # the zip found was a model file inside a cut-off package
            raise _refuse(path, "it is cut off or damaged (an interrupted copy or download?). "
                          "Copy or export it again.") from None
        raise _refuse(path, "it is not a voicebank voice package (it has no manifest.json). "
                      "Export the voice again with “Export voice…” or `voicebank voice export`.") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise _refuse(path, "its manifest.json is far too large for a voice package.")
    try:
        with zf.open(info) as f:
            manifest = json.loads(f.read(MAX_MANIFEST_BYTES + 1).decode("utf-8"))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, UnicodeDecodeError):
        raise _refuse(path, "its manifest.json is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise _refuse(path, "it is not a voicebank voice package (its manifest names another format).")
    if manifest.get("version") != FORMAT_VERSION:
        raise _refuse(path, f"it is a voice package of format version {manifest.get('version')!r}; "
                      f"this app reads version {FORMAT_VERSION}. Update voicebank, or export the "
                      "voice again with this version.")
    if manifest.get("package_sha256") != manifest_sha256(manifest):
        raise _refuse(path, "its manifest does not match its checksum (the file was damaged or "
                      "changed after it was exported).")
    files = manifest.get("files")
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise _refuse(path, "its manifest lists no files, or far too many.")
    seen: set[str] = set()
    total = 0
    for entry in files:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("size"), int) and not isinstance(entry.get("size"), bool)
                and isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])):
            raise _refuse(path, "its manifest has a damaged file entry.")
        name = entry["path"]
        parts = PurePosixPath(name).parts
        if (len(parts) != 2 or parts[0] not in (VOICE_DIR, CONSENT_DIR) or not SAFE_NAME.match(parts[1])
                or "\\" in name or PurePosixPath(name).suffix not in KINDS or name in seen):
            raise _refuse(path, f"it lists a file with an unsafe or unknown name ({name!r}).")
        if not 0 <= entry["size"] <= MAX_FILE_BYTES:
            raise _refuse(path, f"{name} is larger than any voice file (over 2 GB).")
        seen.add(name)
        total += entry["size"]
    if total > MAX_TOTAL_BYTES:
        raise _refuse(path, "it would unpack to more than 4 GB.")
    if f"{VOICE_DIR}/voice.json" not in seen:
        raise _refuse(path, "it holds no voice card (voice/voice.json).")
    return manifest


def _check_entries(path: Path, zf: zipfile.ZipFile, manifest: dict) -> dict[str, zipfile.ZipInfo]:
    listed = {e["path"]: e for e in manifest["files"]}
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        if name == MANIFEST:
            continue
        if name not in listed:
            raise _refuse(path, f"it holds a file its manifest does not list ({name!r}).")
        mode = info.external_attr >> 16
        if info.is_dir() or stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise _refuse(path, f"{name} is a link or a folder, not a plain file.")
        if info.file_size != listed[name]["size"]:
            raise _refuse(path, f"{name} has a different size than its manifest says.")
        if name in infos:
            raise _refuse(path, f"it holds {name} twice.")
        infos[name] = info
    missing = sorted(set(listed) - set(infos))
    if missing:
        raise _refuse(path, f"it lacks {', '.join(missing)}, which its manifest lists (a damaged "
                      "or incomplete copy?).")
    return infos


def _unpack(path: Path, zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], manifest: dict,
            dest: Path) -> None:
    """Copy each entry to dest/<name>, stopping at the manifest's size, and check its SHA-256."""
    for entry in manifest["files"]:
        name, size = entry["path"], entry["size"]
        target = dest / name
        target.parent.mkdir(exist_ok=True)
        h = hashlib.sha256()
        written = 0
        try:
            with zf.open(infos[name]) as src, open(target, "xb") as out:
                while True:
                    chunk = src.read(min(CHUNK_BYTES, size - written + 1))
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > size:
                        raise _refuse(path, f"{name} is larger than its manifest says.")
                    h.update(chunk)
                    out.write(chunk)
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
            raise _refuse(path, f"{name} is damaged inside the package ({exc}).") from None
        except (RuntimeError, NotImplementedError):     # encrypted, or an unknown compression
            raise _refuse(path, f"{name} is encrypted or compressed in a way voicebank never "
                          "writes.") from None
        except OSError as exc:
            raise VoicePackageError(f"Could not unpack {name} ({exc.strerror or exc}). Check the disk "
                                    "has space. Nothing was imported.") from exc
        if written != size or h.hexdigest() != entry["sha256"]:
            raise _refuse(path, f"{name} does not match its checksum (the file was damaged or "
                          "changed after it was exported).")


def _check_contents(path: Path, folder: Path, manifest: dict):
    """Prove each unpacked file is what its name says; returns the voice card."""
    import soundfile as sf

    from core.audio.io import sf_path
    from core.engine.checkpoint import CheckpointError, checkpoint_kind, load_checkpoint, require_v2

    for entry in manifest["files"]:
        name = entry["path"]
        file = folder / name
        suffix = file.suffix
        if suffix == ".json":
            try:
                json.loads(file.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise _refuse(path, f"{name} is not valid JSON.") from None
        elif suffix == ".txt":
            try:
                file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise _refuse(path, f"{name} is not UTF-8 text.") from None
        elif suffix == ".wav":
            try:
                info = sf.info(sf_path(file))
            except Exception:
                raise _refuse(path, f"{name} is not a readable WAV recording.") from None
            if info.frames <= 0:
                raise _refuse(path, f"{name} is an empty recording.")
        elif suffix in (".ckpt", ".pth"):
            try:
                ckpt = load_checkpoint(file)
                require_v2(ckpt, name)
            except CheckpointError as exc:
                raise _refuse(path, f"{name} is not a usable voice model: {exc}") from None
            want = "gpt" if suffix == ".ckpt" else "sovits"
            if checkpoint_kind(ckpt) != want:
                raise _refuse(path, f"{name} holds a {checkpoint_kind(ckpt).upper()} model where a "
                              f"{want.upper()} model belongs.")
    card_data = json.loads((folder / VOICE_DIR / "voice.json").read_text(encoding="utf-8"))
    card = card_from(card_data, f"{path.name}: voice/voice.json")
    if asdict(card) != asdict(card_from(manifest.get("card"), f"{path.name}: manifest")):
        raise _refuse(path, "its voice card does not match the one in its manifest.")
    for attr, suffix in (("gpt_path", ".ckpt"), ("sovits_path", ".pth")):
        rel = getattr(card, attr)
        if rel and (not SAFE_NAME.match(rel) or not rel.endswith(suffix)
                    or not (folder / VOICE_DIR / rel).is_file()):
            raise _refuse(path, f"its voice card names a model file ({rel!r}) the package does not hold.")
    if not (folder / VOICE_DIR / "reference.wav").is_file():
        raise _refuse(path, "it holds no reference recording (voice/reference.wav).")
    return card


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a package, after the format, name and size checks (not the file hashes)."""
    path = Path(path)
    with _open_zip(path) as zf:
        return _check_manifest(path, zf)


def verify_package(path: str | os.PathLike) -> dict:
    """Every check import makes, unpacking into a temporary folder that is then removed."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="voicebank-verify-") as tmp:
        with _open_zip(path) as zf:
            manifest = _check_manifest(path, zf)
            _unpack(path, zf, _check_entries(path, zf, manifest), manifest, Path(tmp))
        _check_contents(path, Path(tmp), manifest)
    return manifest


# ---------------------------------------------------------------------------------- import


def _free_id(voices: Path, wanted: str) -> str:
    base = wanted if _VOICE_ID.match(wanted) else f"v{datetime.now():%Y%m%d-%H%M%S}"
    if not (voices / base).exists():
        return base
    for n in range(2, 1000):
        if not (voices / f"{base}-{n}").exists():
            return f"{base}-{n}"
    return f"{base}-{secrets.token_hex(4)}"


def import_voice(path: str | os.PathLike, speaker, *, if_exists: str = "new-id",
                 name: str | None = None) -> Path:
    """Check the package at `path` and add its voice to `speaker` (a bank Speaker or a speaker
    folder). Returns the new voice folder `<speaker>/voices/<id>/`.

    if_exists: "new-id" (default: a voice with the same id stays, the import gets `<id>-2`) or
    "refuse" (raise VoicePackageError). An existing voice is never overwritten.
    """
    from core.bank.files import make_staging, write_json_atomic

    if if_exists not in ("new-id", "refuse"):
        raise ValueError("if_exists must be 'new-id' or 'refuse'")
    path = Path(path)
    speaker_folder = Path(getattr(speaker, "folder", speaker))
    if not (speaker_folder / "speaker.json").is_file():
        raise VoicePackageError(f"{speaker_folder} is not a speaker's folder. Choose a speaker first.")
    voices = speaker_folder / "voices"
    try:
        voices.mkdir(exist_ok=True)
    except OSError as exc:
        raise VoicePackageError(f"Cannot create {voices} ({exc.strerror or exc}).") from exc
    # Owned by this process: a kill leaves it for core.bank.recovery to delete on the next start.
    staging = make_staging(voices, ".import-", ".part")
    try:
        with _open_zip(path) as zf:
            manifest = _check_manifest(path, zf)
            infos = _check_entries(path, zf, manifest)
            _unpack(path, zf, infos, manifest, staging)
        card = _check_contents(path, staging, manifest)
        if (voices / card.id).exists() and if_exists == "refuse":
            raise VoicePackageError(f"{speaker_folder.name} already has a voice {card.id!r}. Nothing "
                                    "was imported; import it as a new voice to keep both.")
        voice_dir = staging / VOICE_DIR
        if (staging / CONSENT_DIR).is_dir():
            (staging / CONSENT_DIR).rename(voice_dir / CONSENT_DIR)
        new_id = _free_id(voices, card.id)
        if new_id != card.id or name:
            card_data = json.loads((voice_dir / "voice.json").read_text(encoding="utf-8"))
            write_json_atomic(voice_dir / "voice.json",
                              {**card_data, "id": new_id, "name": name or card.name})
        final = voices / new_id
        try:
            voice_dir.rename(final)     # same folder, same file system: all or nothing
        except OSError as exc:
            raise VoicePackageError(f"Could not put the voice in {voices} ({exc.strerror or exc}). "
                                    "Nothing was imported.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
