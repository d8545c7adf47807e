"""g2pW as an optional base model: declared in the manifest, never counted as missing, imported
from a GPT-SoVITS folder or its zip and downloaded as the zip its files are published in, with
the same checks as every other base file (an ONNX file with no known hash must be a g2pW model
with no custom operators before its hash is recorded)."""
from __future__ import annotations

import argparse
import io
import json
import zipfile

import onnx
import pytest
from onnx import helper

from core.bench.g2pw_model import TINY, build_g2pw_folder
from core.models import is_ready, load_manifest, missing, status, store
from core.models.cli import add_models_parser
from core.models.download import download_missing
from core.models.importer import import_from
from core.models.manifest import ManifestError, default_manifest_path, parse_manifest
from core.paths import models_dir
from core.text import g2pw
from core.text.frontend import phonemize
from tests.core.models import make_testset, serve_testset, write_pretrained_folder

G2PW_FILES = ["g2pW.onnx", "POLYPHONIC_CHARS.txt", "bopomofo_to_pinyin_wo_tune_dict.json"]


@pytest.fixture(autouse=True)
def installed_g2pw_again():
    g2pw.reset()
    yield
    g2pw.reset()


def test_the_shipped_manifest_offers_g2pw_as_optional():
    man = load_manifest()
    spec = man.model("g2pw")
    assert spec.optional and spec.licence == "Apache-2.0" and [f.name for f in spec.files] == G2PW_FILES
    assert [f.format for f in spec.files] == ["onnx", "text", "json"]
    for f in spec.files:
        assert f.url.startswith("https://") and f.url.endswith("/G2PWModel.zip")
        assert f.in_archive == f"G2PWModel/{f.name}" and f.sha256 is None
    assert all(f.model != "g2pw" for f in man.files())                    # not required
    assert {f.model for f in man.files(optional=True)} >= {"g2pw"}
    assert [f.name for f in man.files(["g2pw"])] == G2PW_FILES            # named: included
    assert all(s.model != "g2pw" for s in status()) and all(s.model != "g2pw" for s in missing())
    assert len(status(optional=True)) == len(status()) + 3
    assert not is_ready() and not is_ready(["g2pw"])


@pytest.mark.parametrize("mutate, words", [
    (lambda m: m.update(optional="yes"), "optional must be true or false"),
    (lambda m: m["files"][0].update(in_archive="../G2PWModel/g2pW.onnx"), "in_archive"),
    (lambda m: m["files"][0].update(in_archive="G2PWModel/other.onnx"), "in_archive"),
    (lambda m: m["files"][0].update(format="exe"), "format"),
])
def test_invalid_optional_entries_are_refused(mutate, words):
    doc = json.loads(default_manifest_path().read_text(encoding="utf-8"))
    mutate(next(m for m in doc["models"] if m["id"] == "g2pw"))
    with pytest.raises(ManifestError, match=words):
        parse_manifest(doc)


# --------------------------------------------------------------------------- a test manifest with g2pW
def with_g2pw(tmp_path, base="http://127.0.0.1:9"):
    ts = make_testset(tmp_path, base)
    doc = json.loads(ts.path.read_text(encoding="utf-8"))
    doc["models"].append({"id": "g2pw", "title": "g2pW", "licence": "Apache-2.0", "optional": True, "files": [
        {"name": n, "url": f"{base}/repo/G2PWModel.zip", "in_archive": f"G2PWModel/{n}", "sha256": None,
         "format": fmt} for n, fmt in zip(G2PW_FILES, ["onnx", "text", "json"])]})
    ts.path.write_text(json.dumps(doc), encoding="utf-8")
    ts.manifest = load_manifest(ts.path)
    return ts


def g2pw_folder(parent):
    """GPT-SoVITS's layout: GPT_SoVITS/text/G2PWModel/, with its config.py (never run)."""
    folder = build_g2pw_folder(parent / "GPT_SoVITS" / "text" / "G2PWModel", "行还", TINY,
                               prefer={"行": "hang2", "还": "huan2"}, vocab_chars="他每天步回家我有钱")
    (folder / "config.py").write_text("raise SystemExit('config.py must never run')\n")
    (folder / "MONOPHONIC_CHARS.txt").write_text("我\tㄨㄛ3\n", encoding="utf-8")
    return folder


def roberta_tokenizer(vocab_file):
    """chinese-roberta-wwm-ext-large's tokenizer.json, installed as a required model is."""
    from transformers import BertTokenizerFast

    folder = models_dir() / g2pw.TOKENIZER_FOLDER
    BertTokenizerFast(vocab=str(vocab_file)).save_pretrained(str(folder))
    (folder / "vocab.txt").unlink(missing_ok=True)


def test_import_from_a_gpt_sovits_folder_then_the_front_end_uses_it(tmp_path):
    ts = with_g2pw(tmp_path)
    root = write_pretrained_folder(tmp_path / "gsv", ts).parents[1]      # the whole GPT-SoVITS folder
    source = g2pw_folder(tmp_path / "gsv")
    roberta_tokenizer(source / "vocab.txt")
    rule = phonemize("他每天步行回家").phones

    report = import_from(root, manifest=ts.manifest)
    got = {i.key: i for i in report.items}
    assert all(got[f"g2pw/{n}"].outcome == "imported" and got[f"g2pw/{n}"].first_use for n in G2PW_FILES)
    assert not (models_dir() / "g2pw" / "config.py").exists()
    assert report.notes == [g2pw.status().message.replace("reads polyphones from their context", "is ready")]
    assert "int8: agreement" in report.summary()                          # its int8 copy made now
    assert all(s.installed for s in status(["g2pw"], manifest=ts.manifest))
    assert g2pw.status().state == "ready"
    said = phonemize("他每天步行回家").phones
    assert said != rule and "ang2" in said                                 # 行 read hang2, by the model


def test_a_folder_without_g2pw_does_not_call_it_missing(tmp_path):
    ts = with_g2pw(tmp_path)
    report = import_from(write_pretrained_folder(tmp_path / "gsv", ts), manifest=ts.manifest)
    assert report.items and not any(k.startswith("g2pw/") for k in report.not_found)
    assert is_ready(manifest=ts.manifest)                                  # ready without g2pW


def test_a_hostile_onnx_is_not_recorded_and_the_genuine_one_is_taken_afterwards(tmp_path):
    ts = with_g2pw(tmp_path)
    source = g2pw_folder(tmp_path / "gsv")
    genuine = (source / "g2pW.onnx").read_bytes()
    m = onnx.load(str(source / "g2pW.onnx"))
    m.graph.node.append(helper.make_node("RunMe", ["probs"], ["x"], domain="evil.ops"))
    onnx.save_model(m, str(source / "g2pW.onnx"))
    report = import_from(source, manifest=ts.manifest)
    bad = next(i for i in report.items if i.key == "g2pw/g2pW.onnx")
    assert bad.outcome == "rejected" and "custom domain(s) evil.ops" in bad.reason
    assert "g2pw/g2pW.onnx" not in store.recorded_hashes()

    (source / "config.json").write_text("{}")            # not asked for: ignored
    (source / "g2pW.onnx").write_bytes(b"\x08\x07" + b"\x00" * 100)
    report = import_from(source, manifest=ts.manifest)
    assert next(i for i in report.items if i.key == "g2pw/g2pW.onnx").outcome == "rejected"

    (source / "g2pW.onnx").write_bytes(genuine)
    report = import_from(source, manifest=ts.manifest)
    assert next(i for i in report.items if i.key == "g2pw/g2pW.onnx").outcome == "imported"
    assert "g2pw/g2pW.onnx" in store.recorded_hashes()


def _zip_of(folder) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, f"G2PWModel/{p.name}")
    return buf.getvalue()


def test_download_fetches_the_zip_once_and_keeps_only_the_checked_files(tmp_path, server):
    ts = with_g2pw(tmp_path, server.base)
    source = g2pw_folder(tmp_path / "src")
    server.files["/repo/G2PWModel.zip"] = _zip_of(source)
    roberta_tokenizer(source / "vocab.txt")
    serve_testset(server, ts)
    assert len(download_missing(manifest=ts.manifest)) == len(ts.blobs)   # every required file...
    assert not any(p.endswith(".zip") for p, _ in server.knobs.requests)  # ...and g2pW only when named

    results = download_missing(["g2pw"], manifest=ts.manifest)
    assert len(results) == 1 and results[0].file.key == "g2pw/G2PWModel.zip" and results[0].first_use
    assert "unpacked g2pW.onnx, POLYPHONIC_CHARS.txt, bopomofo_to_pinyin_wo_tune_dict.json" in results[0].detail
    assert "; g2pW is ready (" in results[0].detail
    assert [p for p, _ in server.knobs.requests].count("/repo/G2PWModel.zip") == 1
    folder = models_dir() / "g2pw"
    assert sorted(p.name for p in folder.iterdir()) == sorted(G2PW_FILES)       # no zip, no config.py
    assert all(s.installed for s in status(["g2pw"], manifest=ts.manifest))
    assert download_missing(["g2pw"], manifest=ts.manifest) == []


def test_download_of_an_archive_without_the_files_fails_clearly(tmp_path, server):
    from core.models.download import DownloadError

    ts = with_g2pw(tmp_path, server.base)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("G2PWModel/README.txt", "nothing here")
    server.files["/repo/G2PWModel.zip"] = buf.getvalue()
    with pytest.raises(DownloadError, match="g2pW.onnx: not in the archive"):
        download_missing(["g2pw"], manifest=ts.manifest)
    assert not list((models_dir() / "g2pw").glob(".download-*"))


def test_models_list_shows_it_as_optional(tmp_path, monkeypatch, capsys):
    ts = with_g2pw(tmp_path)
    monkeypatch.setattr(store, "_default_manifest", ts.manifest)
    import_from(write_pretrained_folder(tmp_path / "gsv", ts), manifest=ts.manifest)
    parser = argparse.ArgumentParser(prog="voicebank")
    add_models_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["models", "list"])
    assert args.func(args) == 0                                            # ready without it
    out = capsys.readouterr().out
    assert "g2pw  (Apache-2.0) g2pW [optional: the app works without it]" in out
    assert "Ready to speak: yes; ready to train: yes" in out and "voicebank models download g2pw" in out
    args = parser.parse_args(["models", "list", "--json"])
    assert args.func(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ready"] and {f["file"] for f in doc["files"] if f["optional"]} == set(G2PW_FILES)
