"""`voicebank voice ...` and `voicebank speaker delete` through voicebank.cli.main."""
from __future__ import annotations

import io
from pathlib import Path

from voicebank.cli import main
from tests.core.voices.conftest import files_of


def test_export_import_list_delete(bank, speaker, voice, tmp_path, capsys):
    out = tmp_path / "anna.voicebank"
    assert main(["--bank", str(bank.root), "voice", "export", "--speaker", "anna", str(out)]) == 0
    assert main(["--bank", str(bank.root), "voice", "verify", str(out)]) == 0
    other = tmp_path / "other"
    assert main(["--bank", str(other), "voice", "import", str(out), "--speaker", "anna"]) == 1
    assert "--create" in capsys.readouterr().err
    assert main(["--bank", str(other), "voice", "import", str(out), "--speaker", "anna", "--create"]) == 0
    imported = other / "anna" / "voices" / voice.name
    assert files_of(imported)["gpt.ckpt"] == files_of(voice)["gpt.ckpt"]
    capsys.readouterr()
    assert main(["--bank", str(other), "voice", "list", "--speaker", "anna"]) == 0
    assert voice.name in capsys.readouterr().out
    assert main(["--bank", str(other), "voice", "delete", "--speaker", "anna", "--voice", voice.name,
                 "--yes"]) == 0
    assert not imported.exists() and "Deleted" in capsys.readouterr().out


def test_a_bad_file_is_a_message_not_a_traceback(bank, speaker, tmp_path, capsys):
    bad = tmp_path / "bad.voicebank"
    bad.write_bytes(b"nope")
    assert main(["--bank", str(bank.root), "voice", "import", str(bad), "--speaker", "anna"]) == 1
    err = capsys.readouterr().err
    assert "not a voicebank voice package" in err and "Traceback" not in err


def test_a_refused_import_with_create_leaves_no_new_speaker(tmp_path, capsys):
    bad = tmp_path / "bad.voicebank"
    bad.write_bytes(b"nope")
    other = tmp_path / "other"
    assert main(["--bank", str(other), "voice", "import", str(bad), "--speaker", "Bea", "--create"]) == 1
    assert "not a voicebank voice package" in capsys.readouterr().err
    assert not [p for p in other.iterdir() if not p.name.startswith(".")]


def test_delete_asks_first(bank, speaker, voice, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("anna\n"))  # not a terminal: nobody to ask
    assert main(["--bank", str(bank.root), "speaker", "delete", "anna"]) == 1
    assert "--yes" in capsys.readouterr().err and voice.exists()
    assert main(["--bank", str(bank.root), "voice", "delete", "--speaker", "anna",
                 "--voice", voice.name]) == 1
    assert voice.exists()


def test_speaker_delete_with_yes(bank, speaker, voice, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VOICEBANK_JOBS", str(tmp_path / "jobs"))
    assert main(["--bank", str(bank.root), "speaker", "delete", "anna", "--yes"]) == 0
    assert not Path(speaker.folder).exists()
    assert str(speaker.folder) in capsys.readouterr().out
