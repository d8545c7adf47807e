"""The `voicebank` command line, run in-process (fast) and once through the real entry point."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from voicebank.cli import main
from tests.audiofiles import make_bad_inputs, make_two_hour_file
from tests.testsignals import mix_at_snr, noise, speech_like

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return make_bad_inputs(tmp_path_factory.mktemp("bad"))


def speech_file(path, snr_db=35.0, rate=48000, seconds=3.0):
    clean = speech_like(seconds, sample_rate=rate, seed=1)
    noisy = mix_at_snr(clean, noise("white", seconds, rate, seed=2), snr_db, sample_rate=rate)
    sf.write(str(path), noisy, rate, subtype="PCM_16")
    return path


def test_check_prints_a_report_per_file(tmp_path, capsys):
    good = speech_file(tmp_path / "good.wav", snr_db=35)
    noisy = speech_file(tmp_path / "noisy.wav", snr_db=12)
    assert main(["check", str(good), str(noisy)]) == 0
    out = capsys.readouterr().out
    assert "good.wav" in out and "noisy.wav" in out
    assert main(["check", "--json", str(good), str(noisy)]) == 0
    results = json.loads(capsys.readouterr().out)
    grades = {Path(r["file"]).name: r["report"]["grade"] for r in results}
    assert grades["noisy.wav"] == "red"
    assert grades["good.wav"] in ("green", "amber")
    snr = {Path(r["file"]).name: r["report"]["snr_db"] for r in results}
    assert snr["good.wav"] > snr["noisy.wav"] + 15
    assert all(r["report"]["noise_floor_source"] == "file" for r in results)


def test_check_every_awkward_file_without_crashing(bad, capsys):
    code = main(["check", "--json", *map(str, bad.values())])
    results = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert code == 1                                    # some files could not be read
    for name in ("empty.wav", "notes.wav", "corrupt.wav", "header-only.wav"):
        assert "error" in results[name] and "Traceback" not in results[name]["error"]
    for name in ("stereo.wav", "rate8k.wav", "rate96k.wav", "float.wav", "pcm24.wav", "take.flac", "take.ogg"):
        assert "report" in results[name], name
    assert results["stereo.wav"]["channels"] == 2
    assert results["silent.wav"]["report"]["grade"] == "red"


def test_check_flags_a_telephone_quality_recording(tmp_path, capsys):
    phone = speech_file(tmp_path / "phone.wav", snr_db=40, rate=8000)
    assert main(["check", "--json", str(phone)]) == 0
    report = json.loads(capsys.readouterr().out)[0]["report"]
    assert report["bandwidth_hz"] < 4100
    assert any("band" in p["code"] for p in report["problems"]), report["problems"]


def test_check_refuses_a_two_hour_file_clearly(tmp_path, capsys):
    path = make_two_hour_file(tmp_path / "long.flac")
    assert main(["check", str(path)]) == 1
    assert "2 h 00 min" in capsys.readouterr().out


def test_denoise_writes_a_new_file_and_never_touches_the_input(tmp_path, capsys):
    src = speech_file(tmp_path / "in.wav", snr_db=15)
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    assert main(["denoise", str(src), str(tmp_path / "out.wav")]) == 0
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    out, rate = sf.read(str(tmp_path / "out.wav"))
    assert rate == 48000 and len(out) == sf.info(str(src)).frames
    assert "wrote" in capsys.readouterr().out
    assert main(["denoise", str(src), str(src)]) == 2
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    assert main(["denoise", str(tmp_path / "missing.wav"), str(tmp_path / "x.wav")]) == 1


def test_bank_commands(tmp_path, capsys, private_bank):
    from core.bank.store import Bank
    from tests.core.bank.test_store import record

    sp = Bank().create_speaker("Wang Fang", ["zh"])
    session = sp.start_session("mic", -60.0, True)
    for prompt in sp.prompts()[:2]:
        record(sp, prompt, session=session)
    assert main(["speakers"]) == 0
    assert "wang-fang" in capsys.readouterr().out
    assert main(["export-dataset", "--speaker", "wang-fang", str(tmp_path / "ds")]) == 0
    assert len(list((tmp_path / "ds" / "wavs").glob("*.wav"))) == 2
    assert main(["backup", "--speaker", "wang-fang", str(tmp_path / "b.zip")]) == 0
    assert main(["restore", str(tmp_path / "b.zip")]) == 1          # exists already: refused
    assert "already has" in capsys.readouterr().err
    assert main(["--bank", str(tmp_path / "bank2"), "restore", str(tmp_path / "b.zip")]) == 0
    assert main(["export-dataset", "--speaker", "nobody", str(tmp_path / "ds2")]) == 1
    assert "There is no speaker “nobody”" in capsys.readouterr().err


def test_entry_point_runs_as_a_module(tmp_path):
    src = speech_file(tmp_path / "a.wav")
    out = subprocess.run([sys.executable, "-m", "voicebank", "check", "--json", str(src)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["report"]["duration_s"] == pytest.approx(3.0, abs=0.01)
    out = subprocess.run([sys.executable, "-m", "voicebank"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2 and "check" in out.stdout


def test_worker_flag_serves_the_protocol(tmp_path):
    """A frozen build starts the same binary with --worker; here through `python -m voicebank`."""
    proc = subprocess.Popen([sys.executable, "-m", "voicebank", "--worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**__import__("os").environ, "VOICEBANK_JOBS": str(tmp_path)})
    proc.stdin.write('{"v":1,"cmd":"run","job":"j1","kind":"selftest","params":{"steps":2}}\n')
    proc.stdin.flush()
    events = []
    while not events or events[-1]["type"] not in ("result", "error"):
        events.append(json.loads(proc.stdout.readline()))
    proc.stdin.write('{"v":1,"cmd":"shutdown"}\n')
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert events[0]["type"] == "ready"
    assert events[-1]["type"] == "result" and events[-1]["data"]["steps"] == 2


def test_the_command_line_itself_never_imports_torch():
    """`voicebank gui` goes through this parser; the GUI process must stay torch-free."""
    code = ("import sys, voicebank.cli; voicebank.cli.build_parser(); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_detect_tells_marked_from_natural_files(tmp_path, bad, capsys):
    from core.watermark import embed, payload_id

    voice = payload_id("my-voice")
    speech = speech_like(4, 32000, seed=12)
    sf.write(str(tmp_path / "made.wav"), embed(speech, 32000, voice), 32000, subtype="PCM_16")
    sf.write(str(tmp_path / "take.wav"), speech, 32000, subtype="PCM_16")
    capsys.readouterr()
    assert main(["detect", str(tmp_path / "made.wav"), str(tmp_path / "take.wav")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "synthetic — made with voicebank" in lines[0] and f"voice id {voice}" in lines[0]
    assert "no voicebank watermark found" in lines[1]

    assert main(["detect", "--json", str(tmp_path / "made.wav"), str(bad["notes.wav"])]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["found"] is True and rows[0]["voice_id"] == voice
    assert rows[0]["score"] > rows[0]["threshold"]
    assert "error" in rows[1] and "found" not in rows[1]

    assert main(["detect", str(tmp_path / "missing.wav")]) == 1
    assert "cannot check" in capsys.readouterr().out
