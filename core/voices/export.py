"""Export: a voice folder written as one `.voicebank` file (the format and the checks that import
makes are in core.voices.package, below this).

    export_voice(voice_folder, "anna.voicebank", speaker_name="Anna")

The package holds the voice folder's files, model files its card names outside the folder (made
local), and the consent record (the voice's own copy, else the speaker's). Model files are checked
with the restricted loader first, so a file import would refuse is never re-packed with fresh,
valid checksums. The file is written atomically.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from core.bank.files import atomic_zip
from core.voices.files import card_model_path
from core.voices.package import (CHUNK_BYTES, CONSENT_DIR, FORMAT_NAME, FORMAT_VERSION, KINDS, MANIFEST,
                                 MAX_FILE_BYTES, MAX_TOTAL_BYTES, SAFE_NAME, SUFFIX, VOICE_DIR,
                                 VoicePackageError, card_from, manifest_sha256)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("voicebank")
    except PackageNotFoundError:
        return "unknown"


def _speaker_folder_of(voice_folder: Path) -> Path | None:
    # <speaker>/voices/<id>/
    return voice_folder.parent.parent if voice_folder.parent.name == "voices" else None


def _export_sources(voice_folder: Path, card) -> tuple[list[tuple[Path, str]], Any]:
    """(source file, name in the package) pairs and the card as packaged (model paths made local)."""
    sources: dict[str, Path] = {}

    def add(path: Path, arcname: str) -> None:
        if path.is_symlink() or not path.is_file():
            return
        sources[arcname] = path

    for path in sorted(voice_folder.iterdir()):
        if path.name.startswith(".") or path.name.endswith(".part") or path.suffix not in KINDS:
            continue
        if SAFE_NAME.match(path.name):
            add(path, f"{VOICE_DIR}/{path.name}")
    # Model files a card names outside the folder (hand-made voices) travel inside the package.
    for attr, default in (("gpt_path", "gpt.ckpt"), ("sovits_path", "sovits.pth")):
        rel = getattr(card, attr)
        if not rel:
            continue                    # zero-shot: the base models of the model store
        path = card_model_path(voice_folder, rel)
        if not path.is_file():
            raise VoicePackageError(f"The voice's model file {path} is missing, so the voice cannot "
                                    "be exported. Build the voice again.")
        if path.parent.resolve() != voice_folder.resolve() or not SAFE_NAME.match(path.name):
            name = default if f"{VOICE_DIR}/{default}" not in sources else f"{attr[:-5]}-{default}"
            add(path, f"{VOICE_DIR}/{name}")
            setattr(card, attr, name)
        else:
            setattr(card, attr, path.name)
    consent = voice_folder / CONSENT_DIR
    if not consent.is_dir():
        speaker = _speaker_folder_of(voice_folder)
        consent = speaker / CONSENT_DIR if speaker is not None else consent
    if consent.is_dir():
        for path in sorted(consent.iterdir()):
            if SAFE_NAME.match(path.name) and path.suffix in KINDS and not path.name.endswith(".part"):
                add(path, f"{CONSENT_DIR}/{path.name}")
    return sorted(((p, a) for a, p in sources.items()), key=lambda pa: pa[1]), card


def _check_models_before_export(sources: list[tuple[Path, str]]) -> None:
    """Never re-pack (with fresh, valid checksums) a model file the safe loader would refuse."""
    from core.engine.checkpoint import CheckpointError, check_checkpoint

    for path, _arcname in sources:
        if path.suffix in (".ckpt", ".pth"):
            try:
                check_checkpoint(path)
            except CheckpointError as exc:
                raise VoicePackageError(f"This voice was not exported: its model file is not safe to "
                                        f"pass on. {exc}") from None


def export_voice(voice_folder: str | os.PathLike, out_path: str | os.PathLike,
                 speaker_name: str | None = None) -> Path:
    """Write the voice in `voice_folder` as one `.voicebank` file (atomically). Returns its path."""
    from core.bank.files import read_json

    voice_folder, out_path = Path(voice_folder), Path(out_path)
    if not (voice_folder / "voice.json").is_file():
        raise VoicePackageError(f"{voice_folder} is not a voice folder (it has no voice.json).")
    card_data = read_json(voice_folder / "voice.json")
    card = card_from(card_data, str(voice_folder / "voice.json"))
    if out_path.suffix != SUFFIX:
        out_path = out_path.with_name(out_path.name + SUFFIX)
    if out_path.exists():
        raise VoicePackageError(f"{out_path} already exists. Choose another name; nothing was "
                                "overwritten.")
    sources, packaged_card = _export_sources(voice_folder, replace(card))
    _check_models_before_export(sources)
    # The card travels byte for byte unless its model paths had to be made local.
    # (Keys beyond the VoiceCard, e.g. the build's speaker check, are kept either way.)
    card_bytes = (voice_folder / "voice.json").read_bytes() if packaged_card == card else \
        (json.dumps({**card_data, "gpt_path": packaged_card.gpt_path,
                     "sovits_path": packaged_card.sovits_path}, ensure_ascii=False, indent=2)
         + "\n").encode("utf-8")
    entries = []
    for path, arcname in sources:
        if arcname == f"{VOICE_DIR}/voice.json":
            continue                     # written from the packaged card below
        entries.append({"path": arcname, "size": path.stat().st_size, "sha256": _sha256_file(path)})
    entries.append({"path": f"{VOICE_DIR}/voice.json", "size": len(card_bytes),
                    "sha256": hashlib.sha256(card_bytes).hexdigest()})
    entries.sort(key=lambda e: e["path"])
    total = sum(e["size"] for e in entries)
    if total > MAX_TOTAL_BYTES or any(e["size"] > MAX_FILE_BYTES for e in entries):
        raise VoicePackageError("This voice is too large to package (over 4 GB).")
    speaker = _speaker_folder_of(voice_folder)
    manifest = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "app": f"voicebank {_app_version()}",
        "speaker": {"id": speaker.name if speaker else "", "name": speaker_name or ""},
        "card": asdict(packaged_card),
        "needs_base_models": not (packaged_card.gpt_path and packaged_card.sovits_path),
        "files": entries,
    }
    manifest["package_sha256"] = manifest_sha256(manifest)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_zip(out_path, f"{FORMAT_NAME} {FORMAT_VERSION}".encode()) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
            for path, arcname in sources:
                if arcname == f"{VOICE_DIR}/voice.json":
                    zf.writestr(arcname, card_bytes)
                else:
                    # fp16 weights barely compress: storing the model files saves time.
                    kind = zipfile.ZIP_STORED if path.suffix in (".ckpt", ".pth") else zipfile.ZIP_DEFLATED
                    zf.write(path, arcname, compress_type=kind)
    except OSError as exc:
        raise VoicePackageError(f"Could not write {out_path} ({exc.strerror or exc}). Check the "
                                "disk has space and the folder is writable.") from exc
    return out_path
