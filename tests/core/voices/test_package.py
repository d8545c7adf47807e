"""A voice exported as one .voicebank file and imported elsewhere, and every way a bad file is refused."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from core.bank.store import Bank
from core.voices.card import list_voices, voice_model_paths
from core.voices.export import export_voice
from core.voices.package import (MANIFEST, MAX_FILE_BYTES, VoicePackageError, import_voice,
                                 manifest_sha256, read_manifest, verify_package)
from tests.core.voices.conftest import files_of, make_voice


def _exported(voice: Path, tmp_path: Path) -> Path:
    return export_voice(voice, tmp_path / "anna.voicebank", speaker_name="Anna")


def _entries(package: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read(MANIFEST))
        return manifest, {n: zf.read(n) for n in zf.namelist() if n != MANIFEST}


def _repack(package: Path, out: Path, manifest: dict, entries: dict[str, bytes],
            rehash: bool = True) -> Path:
    """Write a hand-changed package; rehash=True keeps the manifest's own checksum valid."""
    if rehash:
        manifest["package_sha256"] = manifest_sha256(manifest)
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(MANIFEST, json.dumps(manifest))
        for name, data in entries.items():
            zf.writestr(name, data)
    return out


def _refused(package: Path, speaker, *words: str) -> str:
    before = sorted(p.name for p in (Path(speaker.folder) / "voices").glob("*")) \
        if (Path(speaker.folder) / "voices").is_dir() else []
    with pytest.raises(VoicePackageError) as err:
        import_voice(package, speaker)
    message = str(err.value)
    for word in words:
        assert word in message, message
    assert "Nothing was imported" in message
    after = sorted(p.name for p in (Path(speaker.folder) / "voices").glob("*"))
    assert after == before        # no new voice, no staging folder left behind
    return message


@pytest.fixture
def other_speaker(tmp_path):
    """The same person's speaker on another machine (another bank)."""
    return Bank(tmp_path / "other-machine").create_speaker("Anna", ["zh"])


# ---------------------------------------------------------------------------------- round trip


def test_round_trip_gives_identical_files_and_a_listed_voice(voice, speaker, other_speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest = read_manifest(package)
    assert manifest["format"] == "voicebank-voice" and manifest["version"] == 1
    assert {e["path"] for e in manifest["files"]} == {
        "voice/gpt.ckpt", "voice/sovits.pth", "voice/reference.wav", "voice/reference.txt",
        "voice/sample.wav", "voice/sample.json", "voice/voice.json",
        "consent/consent.wav", "consent/consent.json"}

    folder = import_voice(package, other_speaker)
    assert folder == Path(other_speaker.folder) / "voices" / voice.name
    imported = files_of(folder)
    consent = {f"consent/{k}": v for k, v in files_of(Path(speaker.folder) / "consent").items()}
    assert imported == {**files_of(voice), **consent}
    [(listed, card)] = list_voices(other_speaker)
    assert listed == folder and card.name == "Anna's voice"
    gpt, sovits = voice_model_paths(folder, card)
    assert gpt == folder / "gpt.ckpt" and sovits == folder / "sovits.pth"
    # ...and it travels on unchanged: exported again from the new machine, the files are the same.
    again = export_voice(folder, tmp_path / "again.voicebank")
    assert _entries(again)[1] == _entries(package)[1]


def test_imported_models_load_in_the_engine(speaker, other_speaker, tmp_path):
    from core.engine.gpt import load_gpt
    from core.engine.sovits import load_sovits

    voice = make_voice(speaker, real_models=True)
    package = _exported(voice, tmp_path)
    assert verify_package(package)["card"]["id"] == voice.name
    folder = import_voice(package, other_speaker)
    load_gpt(folder / "gpt.ckpt")
    load_sovits(folder / "sovits.pth")


def test_same_voice_twice_gets_a_new_id_and_never_overwrites(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    original = files_of(voice)
    second = import_voice(package, speaker)
    assert second.name == f"{voice.name}-2"
    assert files_of(voice) == original
    card = json.loads((second / "voice.json").read_text())
    assert card["id"] == second.name and card["speaker_check"] == {"similarity": 0.93}
    assert {c.id for _, c in list_voices(speaker)} == {voice.name, second.name}
    with pytest.raises(VoicePackageError, match="already has a voice"):
        import_voice(package, speaker, if_exists="refuse")
    assert not list((Path(speaker.folder) / "voices").glob(".import-*"))


def test_zero_shot_voice_travels_without_models(speaker, other_speaker, tmp_path):
    voice = make_voice(speaker, "z20260101-120000-abcd", consent=False)
    card = json.loads((voice / "voice.json").read_text())
    card.update(kind="zero-shot", gpt_path="", sovits_path="")
    (voice / "voice.json").write_text(json.dumps(card))
    (voice / "gpt.ckpt").unlink()
    (voice / "sovits.pth").unlink()
    package = _exported(voice, tmp_path)
    assert read_manifest(package)["needs_base_models"] is True
    folder = import_voice(package, other_speaker)
    assert files_of(folder) == files_of(voice)


def test_export_never_overwrites(voice, tmp_path):
    (tmp_path / "anna.voicebank").write_bytes(b"precious")
    with pytest.raises(VoicePackageError, match="already exists"):
        _exported(voice, tmp_path)
    assert (tmp_path / "anna.voicebank").read_bytes() == b"precious"


# ---------------------------------------------------------------------------------- refused


def test_a_changed_byte_is_refused_naming_the_file(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    wav = bytearray(entries["voice/reference.wav"])
    wav[-10] ^= 0x01
    entries["voice/reference.wav"] = bytes(wav)
    bad = _repack(package, tmp_path / "bad.voicebank", manifest, entries)
    _refused(bad, speaker, "voice/reference.wav", "checksum")


def test_a_damaged_stored_model_is_refused_naming_the_file(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    data = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as zf:
        info = zf.getinfo("voice/sovits.pth")
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF    # inside the stored data
    bad = tmp_path / "flipped.voicebank"
    bad.write_bytes(bytes(data))
    _refused(bad, speaker, "voice/sovits.pth")


def test_an_edited_manifest_is_refused(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    manifest["card"]["name"] = "Someone else"
    bad = _repack(package, tmp_path / "edited.voicebank", manifest, entries, rehash=False)
    _refused(bad, speaker, "checksum")


@pytest.mark.parametrize("content, words", [
    (b"this is not a zip file at all", ("not a voicebank voice package",)),
    (b"", ("not a voicebank voice package",)),
])
def test_not_a_zip_is_refused(content, words, speaker, tmp_path):
    bad = tmp_path / "bad.voicebank"
    bad.write_bytes(content)
    _refused(bad, speaker, *words)


def test_a_random_zip_is_refused(speaker, tmp_path):
    bad = tmp_path / "holiday.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("photo.jpg", b"\xff\xd8 not really")
    _refused(bad, speaker, "no manifest.json")


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, 0.9999])
def test_a_truncated_package_is_refused(keep, voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    cut = tmp_path / "cut.voicebank"
    cut.write_bytes(package.read_bytes()[: int(package.stat().st_size * keep)])
    message = _refused(cut, speaker)
    assert "cut off or damaged" in message or "not a readable zip" in message, message


@pytest.mark.parametrize("name", ["voice/../../../evil.txt", "/etc/evil.txt", "voice/sub/evil.txt",
                                  "consent/..", "voice/evil.py", "other/readme.txt"])
def test_unsafe_or_unknown_names_are_refused(name, voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    entries[name] = b"evil"
    manifest["files"].append({"path": name, "size": 4, "sha256": hashlib.sha256(b"evil").hexdigest()})
    bad = _repack(package, tmp_path / "unsafe.voicebank", manifest, entries)
    _refused(bad, speaker, "unsafe or unknown name")
    assert not (tmp_path / "evil.txt").exists()


def test_a_file_the_manifest_does_not_list_is_refused(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    entries["voice/extra.txt"] = b"smuggled"
    bad = _repack(package, tmp_path / "extra.voicebank", manifest, entries)
    _refused(bad, speaker, "does not list", "voice/extra.txt")


def test_a_symlink_entry_is_refused(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    manifest["package_sha256"] = manifest_sha256(manifest)
    bad = tmp_path / "link.voicebank"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(MANIFEST, json.dumps(manifest))
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            if name == "voice/reference.txt":
                info.external_attr = (0o120777 << 16)       # a symbolic link
            zf.writestr(info, data)
    _refused(bad, speaker, "link", "voice/reference.txt")


def test_sizes_beyond_the_manifest_are_refused(voice, speaker, tmp_path):
    """A zip bomb: the entry unpacks to far more than the manifest says."""
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    entries["voice/reference.txt"] = b"\0" * (8 * 1024 * 1024)
    bad = tmp_path / "bomb.voicebank"
    manifest["package_sha256"] = manifest_sha256(manifest)
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest))
        for name, data in entries.items():
            zf.writestr(name, data)
    assert bad.stat().st_size < 1024 * 1024
    _refused(bad, speaker, "voice/reference.txt", "size")


def test_an_oversized_declared_file_is_refused(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    for entry in manifest["files"]:
        if entry["path"] == "voice/gpt.ckpt":
            entry["size"] = MAX_FILE_BYTES + 1
    bad = _repack(package, tmp_path / "huge.voicebank", manifest, entries)
    _refused(bad, speaker, "voice/gpt.ckpt", "larger than any voice file")


@pytest.mark.parametrize("change, words", [
    ({"format": "something-else"}, ("another format",)),
    ({"version": 2}, ("version 2", "Update voicebank")),
])
def test_wrong_format_or_version_is_refused(change, words, voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    manifest.update(change)
    bad = _repack(package, tmp_path / "format.voicebank", manifest, entries)
    _refused(bad, speaker, *words)


def test_a_model_that_is_not_what_its_name_says_is_refused(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    entries["voice/gpt.ckpt"] = entries["voice/sovits.pth"]
    for entry in manifest["files"]:
        if entry["path"] == "voice/gpt.ckpt":
            entry.update(size=len(entries["voice/gpt.ckpt"]),
                         sha256=hashlib.sha256(entries["voice/gpt.ckpt"]).hexdigest())
    bad = _repack(package, tmp_path / "swapped.voicebank", manifest, entries)
    _refused(bad, speaker, "voice/gpt.ckpt", "SOVITS model where a GPT model belongs")


class Payload:
    """What a booby-trapped model would carry: unpickling it would run code."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_a_booby_trapped_model_is_refused_unopened(voice, speaker, tmp_path):
    import io

    import torch

    buffer = io.BytesIO()
    torch.save({"weight": {}, "config": {}, "payload": Payload()}, buffer)
    evil = buffer.getvalue()
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    entries["voice/sovits.pth"] = evil
    for entry in manifest["files"]:
        if entry["path"] == "voice/sovits.pth":
            entry.update(size=len(evil), sha256=hashlib.sha256(evil).hexdigest())
    bad = _repack(package, tmp_path / "evil.voicebank", manifest, entries)
    _refused(bad, speaker, "voice/sovits.pth", "not a usable voice model", "refused")


def test_a_card_that_disagrees_with_the_manifest_is_refused(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    manifest, entries = _entries(package)
    card = json.loads(entries["voice/voice.json"])
    card["gpt_path"] = "../../elsewhere.ckpt"
    data = json.dumps(card).encode()
    entries["voice/voice.json"] = data
    for entry in manifest["files"]:
        if entry["path"] == "voice/voice.json":
            entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    bad = _repack(package, tmp_path / "card.voicebank", manifest, entries)
    _refused(bad, speaker, "voice card")




def test_an_encrypted_entry_is_refused(voice, speaker, tmp_path):
    package = _exported(voice, tmp_path)
    data = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as zf:
        local = zf.getinfo("voice/reference.txt").header_offset
    central = bytes(data).rfind(b"voice/reference.txt") - 46    # the central directory is last
    assert data[local:local + 4] == b"PK\x03\x04" and data[central:central + 4] == b"PK\x01\x02"
    data[local + 6] |= 0x01                                      # "encrypted" in both headers
    data[central + 8] |= 0x01
    bad = tmp_path / "locked.voicebank"
    bad.write_bytes(bytes(data))
    _refused(bad, speaker, "voice/reference.txt", "encrypted")


def test_model_files_named_outside_the_folder_travel_inside(speaker, other_speaker, tmp_path):
    voice = make_voice(speaker)
    elsewhere = tmp_path / "models" / "my fine-tune.ckpt"
    elsewhere.parent.mkdir()
    (voice / "gpt.ckpt").rename(elsewhere)
    card = json.loads((voice / "voice.json").read_text())
    card["gpt_path"] = str(elsewhere)
    (voice / "voice.json").write_text(json.dumps(card))
    folder = import_voice(_exported(voice, tmp_path), other_speaker)
    moved = json.loads((folder / "voice.json").read_text())
    assert moved["gpt_path"] == "gpt.ckpt" and moved["speaker_check"] == {"similarity": 0.93}
    assert (folder / "gpt.ckpt").read_bytes() == elsewhere.read_bytes()
