"""`voicebank system-voice install|remove` and the `voicebank say` client, without speech-dispatcher."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.voicebank.speechd_fixtures import TOKEN, FakeService
from voicebank import say_client, system_voice

CLIENT = Path(say_client.__file__)


@pytest.fixture
def system_conf(tmp_path, monkeypatch):
    etc = tmp_path / "etc"
    (etc / "modules").mkdir(parents=True)
    (etc / "speechd.conf").write_text('LogLevel 3\n#AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"\n')
    monkeypatch.setattr(system_voice, "SYSTEM_CONFIG", etc)
    return etc


def test_install_is_idempotent_and_remove_restores(tmp_path, system_conf):
    user = tmp_path / "speech-dispatcher"
    system_voice.install(tmp_path / "cfg", user_dir=user)
    first = (user / "speechd.conf").read_text()
    system_voice.install(tmp_path / "cfg", user_dir=user)
    text = (user / "speechd.conf").read_text()
    assert text == first and text.count(system_voice.BEGIN) == 1
    assert text.startswith("LogLevel 3\n")
    assert 'AddModule "voicebank" "sd_generic" "voicebank.conf"' in text
    assert text.rstrip().splitlines()[-2].startswith('AddModule "voicebank"')
    assert 'AddModule "dummy"' in text           # it named no module: the ones found are named
    assert system_voice.installed(user)
    system_voice.remove(user)
    assert not (user / "speechd.conf").exists()  # made by install from the system's, unchanged since
    assert not (user / "modules").exists()
    system_voice.remove(user)                    # twice is fine


def test_the_persons_own_config_is_kept(tmp_path, system_conf):
    user = tmp_path / "speech-dispatcher"
    (user / "modules").mkdir(parents=True)
    own = 'DefaultModule espeak-ng\nAddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"\nDefaultRate 20'
    (user / "speechd.conf").write_text(own)
    (user / "modules" / "mine.conf").write_text("x")
    system_voice.install(tmp_path / "cfg", port=9999, user_dir=user)
    text = (user / "speechd.conf").read_text()
    assert text.startswith(own + "\n") and 'AddModule "dummy"' not in text
    assert "--port 9999" in (user / "modules" / "voicebank.conf").read_text()
    system_voice.remove(user)
    assert (user / "speechd.conf").read_text() == own + "\n"
    assert (user / "modules" / "mine.conf").exists()


def test_a_module_file_not_ours_is_not_overwritten(tmp_path, system_conf):
    user = tmp_path / "speech-dispatcher"
    (user / "modules").mkdir(parents=True)
    (user / "modules" / "voicebank.conf").write_text("someone else's\n")
    with pytest.raises(system_voice.SystemVoiceError):
        system_voice.install(tmp_path / "cfg", user_dir=user)
    assert (user / "modules" / "voicebank.conf").read_text() == "someone else's\n"


def test_module_text_quotes_paths_and_keeps_text_whole(tmp_path):
    text = system_voice.module_text(Path("/home/a b/it's"))
    line = next(line for line in text.splitlines() if line.startswith("GenericExecuteSynth"))
    assert "-I -S" in line and "say_client.py" in line and "| $PLAY_COMMAND" in line
    assert "\\'/home/a b/it\\'\"\\'\"\\'s\\'" in line
    assert 'GenericDelimiters "\x1f"' in text and 'GenericLanguage "zh-cn" "zh" "utf-8"' in text


@pytest.mark.parametrize("rate, speed", [(0, 1.0), (100, 3.0), (-100, 0.333), (50, 1.732), (500, 3.0)])
def test_rate_to_speed(rate, speed):
    assert say_client.speed_for(rate) == pytest.approx(speed, abs=0.001)


def test_volume_language_and_text():
    assert (say_client.gain_for(100), say_client.gain_for(0), say_client.gain_for(-100)) == (1.0, 0.5, 0.0)
    assert [say_client.language_for(c) for c in ("zh-CN", "cmn", "en_US", "de", None)] == \
        ["zh", "zh", "en", "auto", "auto"]
    assert say_client.clean_text("<speak>a &lt;b&gt; <mark name='x'/>c</speak>") == "a <b> c"
    assert say_client.clean_text(" speak First sentence  mark name    spd 0    Second one  speak ") == \
        "First sentence Second one"
    assert say_client.clean_text("a  b\n c") == "a b c"


def _run(tmp_path, *args, text="hello"):
    return subprocess.run([sys.executable, "-I", "-S", str(CLIENT), "--config", str(tmp_path), *args],
                          input=text.encode(), capture_output=True, timeout=60)


def test_client_errors_are_one_line(tmp_path):
    r = _run(tmp_path, "--port", "9")
    assert r.returncode == 1 and b"no service token" in r.stderr and b"Traceback" not in r.stderr
    (tmp_path / "service-token").write_text(TOKEN)
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = _run(tmp_path, "--port", str(port))
    assert r.returncode == 1 and b"not running" in r.stderr
    fake = FakeService()
    try:
        (tmp_path / "service-token").write_text("wrong" * 10)
        r = _run(tmp_path, "--port", str(fake.port))
        assert r.returncode == 1 and b"401" in r.stderr and b"wrong token" in r.stderr
        (tmp_path / "service-token").write_text(TOKEN)
        (tmp_path / "service.json").write_text('{"port": %d}' % fake.port)
        r = _run(tmp_path, "--voice", "v-1", "--out", str(tmp_path / "o.wav"))
        assert r.returncode == 0, r.stderr
        assert fake.requests[-1]["body"]["voice"] == "v-1"
        import wave
        with wave.open(str(tmp_path / "o.wav")) as w:
            assert w.getnframes() == 4800
        r = _run(tmp_path, text="  ")
        assert r.returncode == 0 and len(r.stdout) == 44          # nothing to say: an empty WAV
    finally:
        fake.close()


def test_voicebank_say_entry_point(tmp_path, monkeypatch, capsysbinary):
    from voicebank.cli import main
    assert main(["say", "--config", str(tmp_path), "--text", "hi", "--port", "9"]) == 1
    assert b"no service token" in capsysbinary.readouterr().err


def test_the_clients_config_folder_is_the_apps(monkeypatch, tmp_path):
    """say_client keeps a standard-library copy of core.settings.config_dir (it must start without
    importing the app); the two must name the same folder, or the token is not found."""
    from core.settings import config_dir
    from voicebank import say_client

    monkeypatch.delenv("VOICEBANK_CONFIG", raising=False)
    for xdg in (None, str(tmp_path / "xdg")):
        if xdg is None:
            monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
        assert say_client.config_dir() == config_dir()
    monkeypatch.setenv("VOICEBANK_CONFIG", str(tmp_path / "cfg"))
    assert say_client.config_dir() == config_dir() == tmp_path / "cfg"
