"""`voicebank export-messages`: the person's own messages as WAVs named by their words, for AAC
software; what was left out is listed with what to do; a full disk is one plain line."""
from __future__ import annotations

import csv

import numpy as np
import soundfile as sf

from core.bank.store import Bank
from tests.diskfull import run_cli_with_file_size_limit
from voicebank.cli import main

RATE = 48000


def tone(seconds=1.0, freq=220.0, amplitude=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def bank_with_messages(root):
    speaker = Bank(root).create_speaker("Anna Zhang", ["zh", "en"])
    for text, grade in (("I love you", "green"), ("我爱你", "amber"), ("Call Tom", "red"),
                        ("Goodbye", None)):
        message = speaker.add_message(text)
        if grade is None:
            continue
        writer = speaker.begin_take(message, speaker.start_session("mic", -60.0, True))
        writer.append(tone(1.0))
        take = writer.finish()
        take.quality = {"grade": grade, "problems": [{"code": "clipping", "message": "Too loud"}]
                        if grade == "red" else []}
        take.save()
    return speaker


def test_export_messages_by_name(tmp_path, capsys):
    bank_with_messages(tmp_path / "bank")
    out = tmp_path / "for grid 3"
    code = main(["--bank", str(tmp_path / "bank"), "export-messages", "--speaker", "anna zhang", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    lines = printed.splitlines()
    assert lines[0].startswith("wrote 2 messages (") and str(out) in lines[0] and "index.csv" in lines[0]
    assert lines[1].startswith("not exported: record again: “Call Tom” (")
    assert lines[2] == "not exported: record it: “Goodbye” (not recorded yet)"
    assert sorted(p.name for p in out.iterdir()) == ["I love you.wav", "index.csv", "我爱你.wav"]
    with open(out / "index.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[:2] for r in rows] == [["text", "file"], ["I love you", "I love you.wav"], ["我爱你", "我爱你.wav"]]
    assert sf.info(str(out / "我爱你.wav")).subtype == "PCM_16"


def test_export_messages_in_words_when_it_cannot(tmp_path, capsys):
    bank_with_messages(tmp_path / "bank")
    root = ["--bank", str(tmp_path / "bank"), "export-messages"]
    assert main([*root, "--speaker", "nobody", str(tmp_path / "x")]) == 1
    assert "There is no speaker “nobody”" in capsys.readouterr().err
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    assert main([*root, "--speaker", "anna-zhang", str(tmp_path / "used")]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert main([*root, "--speaker", "anna-zhang", "--loudness", "3", str(tmp_path / "y")]) == 1
    assert "Choose a loudness from -40 to -9 LUFS" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_export_messages_on_a_full_disk(tmp_path):
    bank_with_messages(tmp_path / "bank")
    out = tmp_path / "messages"
    done = run_cli_with_file_size_limit(["--bank", str(tmp_path / "bank"), "export-messages",
                                         "--speaker", "anna-zhang", str(out)], 60_000)
    err = done.stderr.strip()
    assert done.returncode == 1 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("voicebank export-messages: The file has grown too large for this disk, so your "
                          "messages could not be exported to")
    assert "Nothing was exported" in err
    assert not out.exists() and not list(tmp_path.glob(".messages*"))
