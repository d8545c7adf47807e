"""The command line speaks command-line words: no keys or pages of the app in its messages,
--bank before or after the command, --speaker by the name the app shows or by the id, help for
every argument, and a plain line (exit 2) for `voicebank gui` without a screen."""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.bank.store import Bank
from voicebank.cli import _subparsers, build_parser, main

ROOT = Path(__file__).resolve().parents[2]
# the app's own steps: a key to press, a page or a button, a list in the window
APP_WORDS = re.compile(r"press [A-Z]\b|Press [A-Z]\b|Ctrl\+|Alt\+|under Microphone|\bpage\b|button|"
                       r"red light|Space to", re.IGNORECASE)


def cli_worded(text: str) -> str:
    found = APP_WORDS.findall(text)
    assert not found, f"app words {found} in: {text}"
    return text


@pytest.fixture
def bank(tmp_path):
    return Bank(tmp_path / "usb-bank")      # not VOICEBANK_HOME: --bank must reach it


def test_bank_is_taken_before_or_after_the_command(bank, tmp_path, capsys):
    bank.create_speaker("Anna Zhang", ["zh", "en"])
    for argv in (["--bank", str(bank.root), "speakers"], ["speakers", "--bank", str(bank.root)]):
        assert main(argv) == 0
        assert "anna-zhang\tAnna Zhang" in capsys.readouterr().out
    # a nested command, and --bank after its own arguments
    assert main(["voice", "list", "--speaker", "anna-zhang", "--bank", str(bank.root)]) == 0
    assert "Anna Zhang has no voices yet" in capsys.readouterr().out
    # the default bank (VOICEBANK_HOME, empty here) when --bank is not given at all
    assert main(["speakers"]) == 0
    assert "No speakers yet" in capsys.readouterr().out
    # given after the command, it wins over the one before it
    assert main(["--bank", str(tmp_path / "elsewhere"), "speakers", "--bank", str(bank.root)]) == 0
    assert "anna-zhang" in capsys.readouterr().out


def test_speaker_is_the_name_shown_or_the_id(bank, tmp_path, capsys):
    anna = bank.create_speaker("Anna Zhang", ["zh"])
    root = ["--bank", str(bank.root)]
    for given in ("anna-zhang", "Anna Zhang", "anna  zhang", "ANNA ZHANG"):
        assert main([*root, "backup", "--speaker", given, str(tmp_path / "b.zip")]) == 0, given
        assert "wrote" in capsys.readouterr().out
    assert main([*root, "consent", "--speaker", "Anna Zhang"]) == 0
    assert f"--speaker {anna.id} --record" in capsys.readouterr().out

    # an exact id comes first, even when another speaker is named like it
    bank.create_speaker("anna-zhang", ["en"])          # its id is anna-zhang-2
    assert main([*root, "voice", "list", "--speaker", "anna-zhang"]) == 0
    assert capsys.readouterr().out.startswith("Anna Zhang has no voices")

    # two speakers with one name: never a guess; the ids to use instead
    twin = bank.create_speaker("Anna Zhang", ["en"])
    assert main([*root, "export-dataset", "--speaker", "anna zhang", str(tmp_path / "ds")]) == 1
    err = cli_worded(capsys.readouterr().err)
    assert "2 speakers are called “Anna Zhang”" in err
    assert f"--speaker {anna.id}" in err and f"--speaker {twin.id}" in err and not (tmp_path / "ds").exists()

    # nobody by that name: the speakers there, by name and id
    assert main([*root, "build", "--speaker", "Bob"]) == 1
    err = cli_worded(capsys.readouterr().err)
    assert "There is no speaker “Bob”" in err and "Anna Zhang (anna-zhang)" in err
    assert main(["--bank", str(tmp_path / "empty"), "backup", "--speaker", "Bob", str(tmp_path / "c.zip")]) == 1
    assert "There are no speakers in" in capsys.readouterr().err


def test_speaker_delete_takes_the_name_and_asks_with_the_id(bank, capsys):
    speaker = bank.create_speaker("Anna Zhang", ["zh"])
    assert main(["--bank", str(bank.root), "speaker", "delete", "Anna Zhang", "--yes"]) == 0
    assert not Path(speaker.folder).exists() and str(speaker.folder) in capsys.readouterr().out


def test_every_argument_has_help():
    parser = build_parser()
    missing = []
    for command in [parser, *_subparsers(parser)]:
        for action in command._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{command.prog} {a.dest}" for a in action._choices_actions if not a.help]
            elif not action.help:
                missing.append(f"{command.prog} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing
    assert "--bank" in [parser, *_subparsers(parser)][-1]._option_string_actions   # on every command


def test_gui_without_a_screen_says_what_to_do_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["VOICEBANK_HOME"] = str(tmp_path / "bank")
    out = subprocess.run([sys.executable, "-m", "voicebank", "gui"], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "no screen to show the window on" in out.stderr and "ssh -X" in out.stderr
    assert "xcb" not in out.stderr and not (tmp_path / "bank").exists()
    out = subprocess.run([sys.executable, "-m", "voicebank", "gui"], capture_output=True, text=True,
                         cwd=ROOT, env={**env, "QT_QPA_PLATFORM": "xcb"}, timeout=60)
    assert out.returncode == 2 and "no screen" in out.stderr


def test_no_screen_rules(monkeypatch):
    from voicebank.cli import no_screen

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert no_screen()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")          # the tests; needs no screen
    assert not no_screen()
    monkeypatch.setenv("QT_QPA_PLATFORM", "wayland")
    monkeypatch.setenv("DISPLAY", ":0")
    assert no_screen()                                          # wayland asked for, only X there
    monkeypatch.delenv("QT_QPA_PLATFORM")
    assert not no_screen()


@pytest.mark.consent                # the real consent requirement: its blocker is part of the test
def test_build_without_models_says_how_to_get_them_once(bank, capsys):
    speaker = bank.create_speaker("Ada", ["zh"])
    assert main(["build", "--speaker", "Ada", "--bank", str(bank.root)]) == 1
    err = cli_worded(capsys.readouterr().err)
    assert "cannot be built yet" in err and "s2G2333k.pth" in err and "chinese-hubert-base" in err
    assert err.count("voicebank models download") == 1 and err.count("Install") == 1
    assert f"`voicebank consent --speaker {speaker.id} --record`" in err
    lines = err.splitlines()
    assert lines[-1].startswith("  - Record the consent statement first")


def test_check_speaks_of_recording_again_not_of_keys(tmp_path, capsys):
    sf.write(str(tmp_path / "silent.wav"), np.zeros(4800), 48000)
    assert main(["check", str(tmp_path / "silent.wav")]) == 0
    out = cli_worded(capsys.readouterr().out)
    assert "[red] too_short" in out and "record it again" in out
    assert main(["check", "--json", str(tmp_path / "silent.wav")]) == 0
    cli_worded(capsys.readouterr().out)


def test_no_microphone_in_terminal_words(monkeypatch, bank, capsys):
    from core.audio import capture

    monkeypatch.setattr(capture, "list_input_devices", lambda: [])
    assert main(["devices"]) == 1
    err = cli_worded(capsys.readouterr().err)
    assert err.startswith("voicebank devices: no microphone was found") and "run `voicebank devices` again" in err

    def no_microphone(self, *args, **kwargs):
        raise capture.AudioDeviceError(capture.NO_MICROPHONE)

    monkeypatch.setattr(capture.Recorder, "open", no_microphone)
    bank.create_speaker("Ada", ["en"])
    with pytest.raises(SystemExit) as stopped:
        main(["consent", "--speaker", "ada", "--record", "--bank", str(bank.root)])
    message = cli_worded(str(stopped.value.code))
    assert "No microphone was found" in message and "`voicebank devices` lists it" in message


def test_every_audio_message_with_an_app_step_has_terminal_words():
    from core.audio.capture import NO_MICROPHONE
    from core.audio.cli_words import in_cli_words
    from core.audio.quality import analyze
    from core.diskspace import RECORDING_ADVICE

    silent = analyze(np.zeros(4800), 48000)
    clipped = analyze(np.sign(np.sin(np.linspace(0, 3000, 48000 * 3))), 48000)
    for message in [p.message for p in silent.problems + clipped.problems] + [NO_MICROPHONE, RECORDING_ADVICE]:
        cli_worded(in_cli_words(message))
    assert in_cli_words("The take is fine.") == "The take is fine."


def test_speak_messages_are_in_terminal_words(tmp_path, capsys):
    from core.engine.features import ModelMissingError
    from core.runtime.speak_cli import APP_MODELS_HINT, _cli_words

    missing = str(ModelMissingError("chinese-hubert-base", tmp_path, "is missing"))
    assert APP_MODELS_HINT in missing                        # the words it replaces are still the engine's
    cli_worded(_cli_words(missing))
    assert "voicebank models download" in _cli_words(missing)
    bad = tmp_path / "pronunciations.json"
    bad.write_text('{"entries": {"Alice": "AE1 L IH0 SS"}}', encoding="utf-8")
    code = main(["speak", "--gpt", "g.ckpt", "--sovits", "s.pth", "--ref", "r.wav", "--text", "Hi",
                 "--out", str(tmp_path / "o.wav"), "--dictionary", str(bad)])
    err = cli_worded(capsys.readouterr().err)
    assert code == 1 and "Fix or remove that word in the file" in err
