"""`voicebank models` list / import / download, through its own parser (wired into voicebank.cli)."""
import argparse
import json
import socket
import zipfile

import pytest

from core.models import store
from core.models.cli import add_models_parser
from tests.core.models import make_testset, serve_testset, write_pretrained_folder


def run(argv):
    parser = argparse.ArgumentParser(prog="voicebank")
    add_models_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def ts(tmp_path, monkeypatch):
    t = make_testset(tmp_path)
    monkeypatch.setattr(store, "_default_manifest", t.manifest)
    return t


def test_list_import_list(tmp_path, ts, capsys):
    assert run(["models"]) == 1
    out = capsys.readouterr().out
    assert "missing" in out and "Ready to speak: no" in out and "voicebank models import" in out

    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    assert run(["models", "import", str(pm)]) == 0
    out = capsys.readouterr().out
    assert out.count("imported") >= len(ts.blobs) and "recorded on this first import" in out

    assert run(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "Ready to speak: yes; ready to train: yes" in out and "recorded on first import" in out

    assert run(["models", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ready"] and {f["state"] for f in doc["files"]} == {"installed"}


def test_import_errors(tmp_path, ts, capsys):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../evil.json", "{}")
    assert run(["models", "import", str(z)]) == 1
    assert "unsafe path" in capsys.readouterr().err
    assert run(["models", "import", str(tmp_path / "nothing-here")]) == 1
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(["models", "import", str(empty)]) == 1
    assert "None of the base model files" in capsys.readouterr().err
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    (pm / "gsv-test-pretrained" / "s2G-test.pth").write_bytes(b"bad")
    assert run(["models", "import", str(pm)]) == 1
    assert "rejected" in capsys.readouterr().out


def test_download_with_progress(tmp_path, server, monkeypatch, capsys):  # noqa: F811
    t = make_testset(tmp_path, server.base)
    serve_testset(server, t)
    monkeypatch.setattr(store, "_default_manifest", t.manifest)
    assert run(["models", "download", "tiny-gpt-sovits", "--timeout", "5"]) == 0
    cap = capsys.readouterr()
    assert "100%" in cap.err and "[####" in cap.err
    assert cap.out.count("installed tiny-gpt-sovits/") == 2
    assert store.is_ready(["tiny-gpt-sovits"], manifest=t.manifest)
    assert run(["models", "download", "tiny-gpt-sovits"]) == 0
    assert "already installed" in capsys.readouterr().out
    assert run(["models", "download", "nonsense"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_download_when_the_server_is_gone(tmp_path, monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = make_testset(tmp_path, f"http://127.0.0.1:{port}")
    monkeypatch.setattr(store, "_default_manifest", t.manifest)
    assert run(["models", "download", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert "Check the internet connection" in err and "voicebank models import PATH" in err
