"""The command line with awkward input: file names and arguments that are not UTF-8, folders,
cut-off files. Nothing crashes, nothing is half-created, every message is plain."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from core.bank.store import Bank
from voicebank.cli import main
from tests.testsignals import speech_like

ROOT = Path(__file__).resolve().parents[2]
RATE = 48000


def weird_wav(folder: Path, seconds: float = 2.0) -> Path:
    path = folder / os.fsdecode(b"take-\xff.wav")
    sf.write(os.fsencode(path), speech_like(seconds), RATE)
    return path


def test_check_reads_a_file_whose_name_is_not_utf8(tmp_path, capsys):
    path = weird_wav(tmp_path)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "take-\ufffd.wav: GREEN" in out and "cannot check" not in out
    assert main(["check", "--json", str(path)]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["file"].endswith("take-\ufffd.wav") and "report" in result


def test_check_says_a_folder_is_a_folder(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 1
    assert f"{tmp_path.name} is a folder, not an audio file." in capsys.readouterr().out


def test_check_reports_a_cut_off_file_and_checks_what_is_there(tmp_path, capsys):
    path = tmp_path / "long.wav"
    sf.write(path, speech_like(12.0), RATE)
    with open(path, "r+b") as fh:
        fh.truncate(44 + 4 * RATE * 2)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("warning: long.wav is cut off: it should last 12 s but only 4 s are in the file. "
            "The report is for the part that is there.") in out
    assert main(["check", "--json", str(path)]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["warnings"][0].startswith("long.wav is cut off")
    assert result["report"]["duration_s"] == pytest.approx(4.0, abs=0.01)


@pytest.mark.parametrize("argv, label", [
    (["voice", "import", "x.voicebank", "--speaker", "Ann\udcff", "--create"], "speaker"),
    (["voice", "import", "x.voicebank", "--speaker", "ann", "--create", "--name", "Mine\udcff"], "--name"),
    (["speak", "--gpt", "g", "--sovits", "s", "--ref", "r.wav", "--text", "hi \udcff", "--out", "o.wav"], "--text"),
    (["consent", "--speaker", "ann", "--donor", "Tom\udcff"], "--donor"),
])
def test_text_arguments_that_are_not_utf8_are_refused_before_anything_is_made(tmp_path, capsys, argv, label):
    bank = tmp_path / "bank"
    assert main(["--bank", str(bank), *argv]) == 2
    err = capsys.readouterr().err
    assert f"the {label} value “" in err and "\ufffd” has a character that is not UTF-8 text" in err
    assert "Type it again, or set the terminal to UTF-8" in err and "Traceback" not in err
    assert not bank.exists() or not any(bank.iterdir())           # no empty speaker folder


def test_the_real_entry_point_with_bytes_that_are_not_utf8(tmp_path):
    """As a user's terminal passes them: raw bytes in argv, stdout strictly UTF-8."""
    path = weird_wav(tmp_path)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "VOICEBANK_HOME": str(tmp_path / "bank")}
    run = lambda *args: subprocess.run([sys.executable, "-m", "voicebank", *args], cwd=ROOT, env=env,   # noqa: E731
                                       capture_output=True, timeout=120)
    checked = run(b"check", os.fsencode(path))
    assert checked.returncode == 0, checked.stderr.decode(errors="replace")
    assert "take-\ufffd.wav".encode() in checked.stdout
    Bank(tmp_path / "bank").create_speaker("Ann", ["en"])
    refused = run(b"consent", b"--speaker", b"ann", b"--donor", b"Tom\xff")
    assert refused.returncode == 2 and b"Traceback" not in refused.stderr
    assert "the --donor value “Tom\ufffd”".encode() in refused.stderr
    assert not (tmp_path / "bank" / "ann" / "consent").exists()
