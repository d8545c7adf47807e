"""Every way a voice file gets into the app, fed an attacker's files: a TorchScript archive, a
pickle that calls os.system, and, to show nothing genuine is lost, the original's own files.

Entry points: `voice verify`, `voice import` (the GUI's "Import voice..."), `speak --gpt/--sovits`,
the worker's `prepare_voice`, and `restore` of a backup holding a voice.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from core.bank.export import backup_speaker
from core.bank.restore import restore_speaker
from core.bank.store import Bank, BankError
from voicebank.cli import main as cli_main
from core.voices.export import export_voice
from core.voices.package import MANIFEST, VoicePackageError, import_voice, manifest_sha256
from tests.core.test_torchfile import pickle_payload, torchscript_payload
from tests.core.voices.conftest import REF, make_voice

pytestmark = pytest.mark.skipif(not (REF / "s1_tiny.ckpt").exists(), reason="reference data not found")

HOSTILE = ["torchscript", "pickle"]


def hostile_bytes(kind: str, marker: Path) -> bytes:
    return torchscript_payload() if kind == "torchscript" else pickle_payload(marker)


def refusal_words(kind: str) -> str:
    return "TorchScript program" if kind == "torchscript" else "never holds"


@pytest.fixture
def speaker(tmp_path):
    return Bank(tmp_path / "bank").create_speaker("Anna", ["zh"])


def tampered_package(speaker, tmp_path: Path, kind: str, marker: Path) -> Path:
    """A real exported voice whose SoVITS file an attacker swapped, re-hashing the manifest."""
    voice = make_voice(speaker, real_models=True)
    package = export_voice(voice, tmp_path / "anna.voicebank", speaker_name="Anna")
    evil = hostile_bytes(kind, marker)
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read(MANIFEST))
        entries = {n: zf.read(n) for n in zf.namelist() if n != MANIFEST}
    import hashlib
    entries["voice/sovits.pth"] = evil
    for entry in manifest["files"]:
        if entry["path"] == "voice/sovits.pth":
            entry["size"], entry["sha256"] = len(evil), hashlib.sha256(evil).hexdigest()
    manifest["package_sha256"] = manifest_sha256(manifest)
    out = tmp_path / "tampered.voicebank"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(MANIFEST, json.dumps(manifest))
        for name, data in entries.items():
            zf.writestr(name, data)
    return out


# ------------------------------------------------------------------------------ voice files


@pytest.mark.parametrize("kind", HOSTILE)
def test_voice_verify_and_import_refuse_a_hostile_model(speaker, tmp_path, kind, capsys):
    marker = tmp_path / "pwned"
    package = tampered_package(speaker, tmp_path, kind, marker)
    other = Bank(tmp_path / "other").create_speaker("Anna", ["zh"])
    with pytest.raises(VoicePackageError, match=refusal_words(kind)) as info:
        import_voice(package, other)
    assert "Nothing was imported" in str(info.value)
    assert not list((Path(other.folder) / "voices").iterdir())
    assert cli_main(["voice", "verify", str(package)]) != 0
    assert refusal_words(kind) in capsys.readouterr().err
    assert not marker.exists()


def test_voice_verify_and_import_accept_the_originals_files(speaker, tmp_path):
    voice = make_voice(speaker, real_models=True)
    package = export_voice(voice, tmp_path / "anna.voicebank", speaker_name="Anna")
    assert cli_main(["voice", "verify", str(package)]) == 0
    other = Bank(tmp_path / "other").create_speaker("Anna", ["zh"])
    folder = import_voice(package, other)
    assert (folder / "sovits.pth").read_bytes() == (REF / "s2G_tiny.pth").read_bytes()


# ------------------------------------------------------------------------------ speaking


@pytest.fixture(scope="module")
def feature_models(tmp_path_factory) -> dict[str, str]:
    import soundfile as sf

    from tests.testsignals import speech_like
    from tests.tinymodels import make_tiny_bert, make_tiny_hubert

    folder = tmp_path_factory.mktemp("features")
    sf.write(folder / "ref.wav", speech_like(4.0, 48000, seed=3), 48000, subtype="PCM_16")
    return {"hubert": str(make_tiny_hubert(folder / "chinese-hubert-base")),
            "bert": str(make_tiny_bert(folder / "chinese-roberta-wwm-ext-large", "你好世界今天天气很")),
            "reference": str(folder / "ref.wav")}


def _speak(gpt: Path, sovits: Path, models: dict, out: Path) -> int:
    return cli_main(["speak", "--gpt", str(gpt), "--sovits", str(sovits), "--ref", models["reference"],
                     "--ref-text", "你好世界", "--text", "你好。", "--out", str(out), "--seed", "1",
                     "--hubert", models["hubert"], "--bert", models["bert"], "--max-new-tokens", "8"])


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("slot", ["gpt", "sovits"])
def test_speak_refuses_a_hostile_model(tmp_path, kind, slot, feature_models, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / ("evil.ckpt" if slot == "gpt" else "evil.pth")
    evil.write_bytes(hostile_bytes(kind, marker))
    gpt = evil if slot == "gpt" else REF / "s1_tiny.ckpt"
    sovits = evil if slot == "sovits" else REF / "s2G_tiny.pth"
    assert _speak(gpt, sovits, feature_models, tmp_path / "out.wav") != 0
    err = capsys.readouterr().err
    assert refusal_words(kind) in err and "Traceback" not in err
    assert not (tmp_path / "out.wav").exists() and not marker.exists()


def test_speak_accepts_the_originals_files(tmp_path, feature_models):
    out = tmp_path / "out.wav"
    assert _speak(REF / "s1_tiny.ckpt", REF / "s2G_tiny.pth", feature_models, out) == 0
    assert out.stat().st_size > 1000


def test_the_worker_refuses_a_hostile_voice_and_loads_a_genuine_one(tmp_path, feature_models):
    from tests.core.worker.test_subprocess import WorkerProcess

    marker = tmp_path / "pwned"
    (tmp_path / "script.ckpt").write_bytes(hostile_bytes("torchscript", marker))
    (tmp_path / "pickle.pth").write_bytes(hostile_bytes("pickle", marker))
    voice = {"gpt": str(REF / "s1_tiny.ckpt"), "sovits": str(REF / "s2G_tiny.pth"), **feature_models}
    worker = WorkerProcess(tmp_path / "jobs")
    try:
        worker.run("a", "prepare_voice", reference_text="你好世界", **{**voice, "gpt": str(tmp_path / "script.ckpt")})
        assert "TorchScript program" in worker.until("error", "a")[-1]["message"]
        worker.run("b", "prepare_voice", reference_text="你好世界", **{**voice, "sovits": str(tmp_path / "pickle.pth")})
        assert "never holds" in worker.until("error", "b")[-1]["message"]
        worker.run("c", "prepare_voice", reference_text="你好世界", **voice)
        assert worker.until("result", "c")[-1]["data"]["loaded"] is True
    finally:
        worker.close()
    assert not marker.exists()


# ------------------------------------------------------------------------------ restore


@pytest.mark.parametrize("kind", HOSTILE)
def test_restore_refuses_a_backup_holding_a_hostile_voice(speaker, tmp_path, kind):
    marker = tmp_path / "pwned"
    voice = make_voice(speaker, real_models=True)
    (voice / "sovits.pth").write_bytes(hostile_bytes(kind, marker))
    backup = backup_speaker(speaker, tmp_path / "backup.zip")
    target = Bank(tmp_path / "restored")
    with pytest.raises(BankError, match=refusal_words(kind)) as info:
        restore_speaker(target, backup)
    assert "voices/" in str(info.value) and "Nothing in your voice bank was changed" in str(info.value)
    assert target.speakers() == [] and not [p for p in target.root.iterdir() if p.name != ".space-reserve.part"]
    assert not marker.exists()


def test_restore_accepts_the_originals_files(speaker, tmp_path):
    make_voice(speaker, real_models=True)
    backup = backup_speaker(speaker, tmp_path / "backup.zip")
    restored = restore_speaker(Bank(tmp_path / "restored"), backup)
    assert (Path(restored.folder) / "voices").is_dir()
    [voice] = (Path(restored.folder) / "voices").iterdir()
    assert (voice / "gpt.ckpt").read_bytes() == (REF / "s1_tiny.ckpt").read_bytes()


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_feature_model_file_is_refused_before_transformers_reads_it(tmp_path, kind, feature_models, capsys):
    import shutil

    marker = tmp_path / "pwned"
    hubert = tmp_path / "chinese-hubert-base"
    shutil.copytree(feature_models["hubert"], hubert)
    for weights in hubert.glob("*.safetensors"):
        weights.unlink()
    (hubert / "pytorch_model.bin").write_bytes(hostile_bytes(kind, marker))
    models = {**feature_models, "hubert": str(hubert)}
    assert _speak(REF / "s1_tiny.ckpt", REF / "s2G_tiny.pth", models, tmp_path / "out.wav") != 0
    err = capsys.readouterr().err
    assert "chinese-hubert-base model" in err and refusal_words(kind) in err and "Traceback" not in err
    assert not marker.exists()


@pytest.mark.parametrize("kind", HOSTILE)
def test_export_never_repacks_a_hostile_model_with_fresh_checksums(speaker, tmp_path, kind):
    voice = make_voice(speaker, real_models=True)
    (voice / "gpt.ckpt").write_bytes(hostile_bytes(kind, tmp_path / "pwned"))
    with pytest.raises(VoicePackageError, match="not exported: its model file is not safe"):
        export_voice(voice, tmp_path / "out.voicebank")
    assert not (tmp_path / "out.voicebank").exists()
