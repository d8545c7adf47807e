"""`voicebank speak`: arguments, output file, progress lines and clear errors."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.runtime.speak_cli import add_speak_parser, cmd_speak

ROOT = Path(__file__).resolve().parents[3]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicebank")
    add_speak_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["speak", *argv])


@pytest.fixture()
def base(model_paths, ref_wav, tmp_path):
    """Arguments for a quick run; tests add or replace what they check."""
    return ["--gpt", str(model_paths.gpt), "--sovits", str(model_paths.sovits),
            "--hubert", str(model_paths.hubert), "--bert", str(model_paths.bert),
            "--ref", str(ref_wav), "--out", str(tmp_path / "out.wav"),
            "--seed", "1", "--max-new-tokens", "12"]


def run(capsys, *argv):
    code = cmd_speak(parse(*argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_speaks_mixed_text_to_a_wav(base, capsys, tmp_path):
    code, out, err = run(capsys, *base, "--ref-text", "参考音频里说的话", "--text",
                         "你好世界，今天天气很好。Hello world, this is a test!")
    assert code == 0, err
    data, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    assert sr == 32000 and data.ndim == 1
    assert len(data) == 2 * (12 * 2 * 640 + int(0.3 * 32000))  # 2 sentences, each + pause
    assert "[1/2]" in err and "[2/2]" in err and "你好世界" in err
    assert "with its text" in err
    assert "wrote" in out and "2 sentences" in out


def test_text_file_and_reference_free(base, capsys, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("\ufeff这是一个测试。", encoding="utf-8")  # a BOM from Notepad is fine
    code, _, err = run(capsys, *base, "--text-file", str(f), "--speed", "1.5")
    assert code == 0, err
    assert "reference-free" in err and "[1/1]" in err


@pytest.mark.parametrize("extra,match", [
    (["--text", ""], "Nothing to say: the text is empty"),
    (["--text", "😀😀"], "Nothing to say"),
    ([], "give the text with --text or --text-file"),
    (["--text", "a", "--text-file", "x.txt"], "not both"),
    (["--text-file", "/nonexistent/t.txt"], "does not exist"),
    pytest.param(["--text", "你好世界", "--device", "cuda"], "cuda.*cannot be used here",
                 marks=pytest.mark.skipif("__import__('torch').cuda.is_available()",
                                          reason="a GPU is present")),
    (["--text", "你好世界", "--speed", "0"], "speed must be"),
    (["--text", "你好世界", "--ref", "/nonexistent/r.wav"], "reference recording .* does not exist"),
    (["--text", "你好世界", "--gpt", "/nonexistent/g.ckpt"], "GPT model .*file not found"),
    (["--text", "你好世界", "--hubert", "/nonexistent/hubert"], "chinese-hubert-base model is not installed"),
])
def test_errors_are_one_clear_line(base, capsys, extra, match):
    import re
    code, _, err = run(capsys, *base, *extra)
    assert code == 1
    assert re.search(match, err), err
    assert err.strip().splitlines()[-1].startswith("voicebank speak: ")


def test_dictionary_changes_the_pronunciation(base, capsys, tmp_path, monkeypatch):
    import core.runtime.pipeline as pipeline

    seen = []
    real = pipeline.Synthesizer.stream

    def spy(self, text, options=None, cancel=None, userdict=None):
        seen.append(userdict)
        return real(self, text, options, cancel, userdict)
    monkeypatch.setattr(pipeline.Synthesizer, "stream", spy)
    d = tmp_path / "pronunciations.json"
    d.write_text('{"张三": "zhang1 san1", "Alice": "AH0 L IH1 S"}', encoding="utf-8")
    code, _, err = run(capsys, *base, "--text", "张三和Alice。", "--dictionary", str(d))
    assert code == 0, err
    assert seen[0].entries() == {"张三": "zhang1 san1", "Alice": "AH0 L IH1 S"}


@pytest.mark.parametrize("content,match", [
    (None, "pronunciations.json .*does not exist"),
    ("{not json", "not valid JSON"),
    ('{"张三": "zhang9 san1"}', "not a pinyin syllable with a tone number"),
])
def test_bad_dictionary_is_one_clear_line(base, capsys, tmp_path, content, match):
    import re
    d = tmp_path / "pronunciations.json"
    if content is not None:
        d.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, *base, "--text", "你好", "--dictionary", str(d))
    assert code == 1 and re.search(match, err), err
    assert not (tmp_path / "out.wav").exists()


def test_short_reference_and_output_folder(base, capsys, tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(16000), 32000)
    code, _, err = run(capsys, *base, "--text", "你好世界", "--ref", str(short))
    assert code == 1 and "0.5 s long; choose one of 3 to 10 seconds" in err
    code, _, err = run(capsys, *base, "--text", "你好世界", "--out", str(tmp_path))
    assert code == 1 and "is a folder" in err


def test_unexpected_errors_are_one_line_too(base, capsys, monkeypatch):
    import core.runtime.pipeline as pipeline

    def boom(*a, **k):
        raise RuntimeError("kaboom")
    monkeypatch.setattr(pipeline.Synthesizer, "set_reference", boom)
    code, _, err = run(capsys, *base, "--text", "你好世界")
    assert code == 1 and "unexpected error (RuntimeError: kaboom)" in err and "VOICEBANK_DEBUG" in err


def test_standalone_module_run(base, tmp_path):
    # A real process: nothing but the message on stderr, exit 1.
    proc = subprocess.run([sys.executable, "-m", "core.runtime.speak_cli", *base, "--text", "😀"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "Nothing to say" in proc.stderr
