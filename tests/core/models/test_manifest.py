"""The shipped manifest and the manifest validation; status of an empty models folder."""
import copy
import json
import urllib.parse

import pytest

from core.models import is_ready, load_manifest, missing, path_of, status
from core.models.manifest import ManifestError, parse_manifest
from core.paths import models_dir
from tests.core.models import make_testset

REV = "336b2ec4e8d4ac74740798dd40af44e74659ecaf"
KNOWN = {
    "gpt-sovits-v2/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt":
        (155_315_150, "732f94e63b148066e24c7f9d2637f3374083e637635f07fbdb695dee20ddbe1f"),
    "gpt-sovits-v2/s2G2333k.pth":
        (106_035_259, "924fdccaa3c574bf139c25c9759aa1ed3b3f99e19a7c529ee996c2bc17663695"),
    "gpt-sovits-v2/s2D2333k.pth":
        (93_534_164, "8ae7fe8dd8c8f2e718de359e00edac88b0c71ab2fd10b07ad4cc45070eb8a836"),
}


def test_shipped_manifest_lists_the_v2_base_set():
    man = load_manifest()
    assert man.revision == REV and man.repository == "lj1995/GPT-SoVITS"
    assert {m.id: sorted(f.name for f in m.files) for m in man.models if not m.optional} == {
        "gpt-sovits-v2": sorted(["s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", "s2G2333k.pth", "s2D2333k.pth"]),
        "chinese-hubert-base": ["config.json", "preprocessor_config.json", "pytorch_model.bin"],
        "chinese-roberta-wwm-ext-large": ["config.json", "pytorch_model.bin", "tokenizer.json"],
    }
    assert [m.id for m in man.models if m.optional] == ["g2pw"]   # tests/core/models/test_g2pw_entry.py
    for key, (size, sha) in KNOWN.items():
        f = man.file(*key.split("/", 1))
        assert (f.size, f.sha256) == (size, sha)
    assert man.file("chinese-hubert-base", "pytorch_model.bin").sha256 == \
        "24164f129c66499d1346e2aa55f183250c223161ec2770c0da3d3b08cf432d3c"
    unknown = sorted(f.key for f in man.files() if f.sha256 is None)
    assert unknown == sorted([
        "chinese-hubert-base/config.json", "chinese-hubert-base/preprocessor_config.json",
        "chinese-roberta-wwm-ext-large/config.json", "chinese-roberta-wwm-ext-large/tokenizer.json",
        "chinese-roberta-wwm-ext-large/pytorch_model.bin"])
    for f in man.files():
        # Every URL is pinned to the revision and names the file's repository path.
        assert f.url.endswith(f"/resolve/{REV}/" + urllib.parse.quote(f.repo_path, safe="/"))
        assert f.url.startswith("https://")
    assert all(m.licence for m in man.models)
    assert "speak" not in man.file("gpt-sovits-v2", "s2D2333k.pth").needed_for
    assert len(man.files(purpose="speak")) == len(man.files()) - 1


def test_empty_models_folder_reports_everything_missing():
    man = load_manifest()
    states = status()
    assert len(states) == len(man.files()) and all(s.state == "missing" for s in states)
    assert not is_ready() and not is_ready(["gpt-sovits-v2"])
    assert len(missing(["chinese-hubert-base"])) == 3
    assert path_of("chinese-roberta-wwm-ext-large", "tokenizer.json") == \
        models_dir() / "chinese-roberta-wwm-ext-large" / "tokenizer.json"
    with pytest.raises(KeyError):
        path_of("gpt-sovits-v2", "nope.pth")
    assert not models_dir().exists()  # asking never writes anything


def _doc(tmp_path):
    return json.loads(make_testset(tmp_path).path.read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(schema=2), "schema"),
    (lambda d: d["models"][0]["files"][0].update(name="../evil.pth"), "safe file name"),
    (lambda d: d["models"][0]["files"][0].update(name="sub/evil.pth"), "safe file name"),
    (lambda d: d["models"][0].update(id="../up"), "safe folder name"),
    (lambda d: d["models"][0]["files"][0].update(sha256="ABC"), "sha256"),
    (lambda d: d["models"][0]["files"][0].update(size=True), "size"),
    (lambda d: d["models"][0]["files"][0].update(size=-1), "size"),
    (lambda d: d["models"][0]["files"][0].update(url="file:///etc/passwd"), "url"),
    (lambda d: d["models"][0].update(licence=" "), "licence"),
    (lambda d: d["models"][0]["files"].append(copy.deepcopy(d["models"][0]["files"][0])), "duplicate"),
    (lambda d: d["models"].append(copy.deepcopy(d["models"][0])), "duplicate"),
    (lambda d: d["models"][0]["files"][0].update(needed_for=["sing"]), "needed_for"),
])
def test_invalid_manifests_are_refused(tmp_path, mutate, message):
    doc = _doc(tmp_path)
    mutate(doc)
    with pytest.raises(ManifestError, match=message):
        parse_manifest(doc)


def test_unreadable_manifest_file(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError, match="cannot be read"):
        load_manifest(bad)
