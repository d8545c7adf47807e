"""`voicebank export-dataset`, `backup` and `denoise` on a disk that fills up: one plain line on
stderr, exit status 1, no traceback, nothing half-written. The disk is a real kernel limit: a
child process whose files may not grow past RLIMIT_FSIZE (EFBIG)."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from core.bank.store import Bank
from tests.diskfull import run_cli_with_file_size_limit

RNG = np.random.default_rng(0)


def noise(frames: int) -> np.ndarray:
    """Fresh noise, never repeated: a zip cannot squeeze it below the limits used here."""
    return RNG.uniform(-0.3, 0.3, frames).astype(np.float32)


def bank_with_takes(root, takes=3, blocks=30):
    speaker = Bank(root).create_speaker("Ada", ["en"])
    session = speaker.start_session("fake", -60.0, True)
    for prompt in speaker.prompts()[:takes]:
        writer = speaker.begin_take(prompt, session)
        for _ in range(blocks):
            writer.append(noise(1024))
        writer.finish()
    return speaker


def one_plain_line(done) -> str:
    err = done.stderr.strip()
    assert done.returncode == 1, (done.stdout, err)
    assert "Traceback" not in err and "This is a bug" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_export_dataset(tmp_path):
    bank_with_takes(tmp_path / "bank")
    out = tmp_path / "dataset"
    done = run_cli_with_file_size_limit(["--bank", str(tmp_path / "bank"), "export-dataset",
                                         "--speaker", "ada", "--raw", str(out)], 50_000)
    err = one_plain_line(done)
    assert err.startswith("voicebank export-dataset: The file has grown too large for this disk, so the "
                          "export to")
    assert "Nothing was exported" in err and "disk space" in err
    assert not out.exists() and not list(tmp_path.glob(".dataset*"))


def test_backup(tmp_path):
    speaker = bank_with_takes(tmp_path / "bank")
    before = {p: p.read_bytes() for p in speaker.folder.rglob("*") if p.is_file()}
    done = run_cli_with_file_size_limit(["--bank", str(tmp_path / "bank"), "backup", "--speaker", "ada",
                                         str(tmp_path / "ada.zip")], 100_000)
    err = one_plain_line(done)
    assert "the backup ada.zip could not be written" in err and "Nothing was changed" in err
    assert not (tmp_path / "ada.zip").exists() and not list(tmp_path.glob(".ada.zip*"))
    assert {p: p.read_bytes() for p in speaker.folder.rglob("*") if p.is_file()} == before


def test_denoise(tmp_path):
    src = tmp_path / "in.wav"
    sf.write(str(src), noise(150 * 1024), 48000, subtype="PCM_16")     # 3.2 s, 300 kB
    original = src.read_bytes()
    done = run_cli_with_file_size_limit(["denoise", str(src), str(tmp_path / "out.wav")], len(original) // 2)
    err = one_plain_line(done)
    assert err.startswith("voicebank denoise: The file has grown too large for this disk, so the cleaned "
                          "copy out.wav could not be written. in.wav is unchanged")
    assert "It needs about 1 MB of free disk space" in err
    assert not (tmp_path / "out.wav").exists() and not list(tmp_path.glob(".*.part"))
    assert src.read_bytes() == original
