"""`voicebank build`: messages, exit codes, the progress line, Ctrl+C and resume (against a
stand-in for core.train.build; end to end with the tiny models where the training code exists)."""
from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.bank.store import Bank
from core.train.build_cli import ProgressLine, add_build_parser, cmd_build, format_eta
from tests import fake_train

ROOT = Path(__file__).resolve().parents[3]
REF = ROOT.parent / "shared/reference/gpt-sovits-v2"


@pytest.fixture
def bank(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_MODELS", str(tmp_path / "models"))
    bank = Bank(tmp_path / "bank")
    bank.create_speaker("Ada", ["zh"])
    return bank


def parse(bank: Bank, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicebank")
    parser.add_argument("--bank")
    add_build_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["--bank", str(bank.root), "build", *argv])


def run(capsys, bank, *argv):
    code = cmd_build(parse(bank, *argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_unknown_speaker(capsys, bank):
    code, out, err = run(capsys, bank, "--speaker", "nobody")
    assert code == 1 and out == "" and "nobody" in err and "ada" in err


def test_training_code_missing(capsys, bank, monkeypatch):
    monkeypatch.setitem(sys.modules, "core.train.build", None)     # import fails
    code, _, err = run(capsys, bank, "--speaker", "ada")
    assert code == 1 and "not installed" in err and "Reinstall" in err


def test_blockers_are_listed(capsys, bank, monkeypatch):
    fake_train.install(monkeypatch, blockers=["Record at least 10 minutes (you have 1.5).",
                                              "Missing base model s2G2333k.pth: run `voicebank models download`."])
    code, out, err = run(capsys, bank, "--speaker", "ada")
    assert code == 1 and out == ""
    assert "cannot be built yet" in err and "  - Record at least 10 minutes" in err and "s2G2333k.pth" in err


def test_build_prints_progress_and_the_voice_folder(capsys, bank, monkeypatch):
    fake = fake_train.install(monkeypatch)
    code, out, err = run(capsys, bank, "--speaker", "ada", "--device", "cpu", "--include-red",
                         "--base-gpt", "/models/g.ckpt")
    assert code == 0
    voice = Path(out.strip())
    assert voice.is_dir() and voice.parent == bank.root / "ada" / "voices"
    assert "1.5 min" in err and "12 takes" in err
    assert "training the sound (SoVITS)" in err and "6/6" in err and "loss" in err
    cfg = fake.calls[0][1]
    assert cfg.device == "cpu" and cfg.include_red and cfg.base_gpt == Path("/models/g.ckpt")
    assert not (bank.root / "ada" / "builds" / "current").exists()


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(capsys, bank, monkeypatch):
    fake_train.install(monkeypatch, on_step=lambda s: s == 3 and os.kill(os.getpid(), signal.SIGINT))
    before = signal.getsignal(signal.SIGINT)   # SIG_IGN when the tests run as a background job
    code, out, err = run(capsys, bank, "--speaker", "ada")
    assert code == 130 and out == ""
    assert "run the same command again to resume" in err
    assert (bank.root / "ada" / "builds" / "current" / "checkpoint.json").exists()
    assert signal.getsignal(signal.SIGINT) is before     # the caller's handler restored
    fake = fake_train.install(monkeypatch)
    code, out, err = run(capsys, bank, "--speaker", "ada")
    assert code == 0 and "Resuming" in err and ("resumed_at", 3) in fake.calls


def test_training_failure(capsys, bank, monkeypatch):
    fake_train.install(monkeypatch, fail_at=2)
    code, _, err = run(capsys, bank, "--speaker", "ada")
    assert code == 1 and "failed on purpose" in err and "run the same command again" in err


def test_zero_shot(capsys, bank, monkeypatch):
    from tests.core.worker.test_build_jobs import add_takes

    fake = fake_train.install(monkeypatch)
    add_takes(bank.speaker("ada"), count=1, seconds=1.0)
    take = next(iter(bank.speaker("ada").current_takes().values()))
    code, out, _ = run(capsys, bank, "--speaker", "ada", "--zero-shot", "--take", take.id)
    assert code == 0 and Path(out.strip()).name == "zero_shot-1"
    assert fake.calls == [("make_zero_shot_voice", "ada", take.id)]
    code, out, err = run(capsys, bank, "--speaker", "ada", "--zero-shot", "--take", "nope")
    assert code == 1 and "no take 'nope'" in err


def test_bad_steps(capsys, bank):
    code, _, err = run(capsys, bank, "--speaker", "ada", "--steps", "0")
    assert code == 2 and "--steps" in err
    code, _, err = run(capsys, bank, "--speaker", "ada", "--gpus", "0")
    assert code == 2 and "--gpus" in err


def test_gpus_option_reaches_the_build(capsys, bank, monkeypatch):
    fake = fake_train.install(monkeypatch)
    code, _, _ = run(capsys, bank, "--speaker", "ada", "--gpus", "2")
    assert code == 0 and fake.calls[0][1].gpus == 2


def test_format_eta_and_progress_line():
    assert format_eta(None) == "" and format_eta(30) == "less than a minute left"
    assert format_eta(600) == "about 10 min left" and format_eta(5400) == "about 1 h 30 min left"

    class Out(list):
        def write(self, s):
            self.append(s)

        def flush(self):
            pass

    out = Out()
    line = ProgressLine(out)
    for step in range(1, 5):
        line.update(fake_train.BuildProgress("gpt", step, 4, 2, 0.5, 120.0, ""))
    text = "".join(out)
    assert "training the speaking style (GPT)" in text and "4/4" in text and "epoch 2" in text
    assert "loss 0.5" in text and "about 2 min left" in text
    assert len(out) == 2            # not a tty: the first line, then the last one (throttled)


def _has_training() -> bool:
    try:
        return importlib.util.find_spec("core.train.build") is not None
    except ImportError:
        return False


@pytest.mark.skipif(not _has_training(), reason="core.train.build is not written yet")
def test_real_training_code_blockers_and_zero_shot_in_a_subprocess(bank, tmp_path):
    """With the real core.train.build: an empty models folder and a short bank are blockers (exit
    1, every one listed); --zero-shot makes a voice folder at once. (A full tiny build runs in
    tests/core/worker/test_build_jobs.py.)"""
    from tests.core.worker.test_build_jobs import add_takes

    add_takes(bank.speaker("ada"), count=2)
    from core.trust.consent import record_consent   # a subprocess: tests/conftest.py's stand-in is not there
    from tests.testsignals import speech_like

    record_consent(bank.speaker("ada"), speech_like(8.0, 48000, seed=40), 48000)
    env = dict(os.environ, PYTHONPATH=str(ROOT), VOICEBANK_MODELS=str(tmp_path / "models"))
    base = [sys.executable, "-m", "core.train.build_cli", "--bank", str(bank.root), "build", "--speaker", "ada"]
    result = subprocess.run(base, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "", result.stderr[-2000:]
    assert "cannot be built yet" in result.stderr and "s2G2333k.pth" in result.stderr
    assert "minute" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(base + ["--zero-shot"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    voice = Path(result.stdout.strip().splitlines()[-1])
    assert (voice / "voice.json").exists() and (voice / "reference.wav").exists()
