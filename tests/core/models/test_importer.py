"""Importing from a GPT-SoVITS pretrained_models folder, a zip, or a single file."""
import hashlib
import stat
import zipfile

import pytest

from core.models import store
from core.models.importer import ModelImportError, import_from
from core.models.store import file_status, status
from tests.core.models import make_testset, write_pretrained_folder

GPT = "tiny-gpt-sovits/s1bert25hz-test.ckpt"
UNKNOWN_HASH = {"tiny-hubert/config.json", "tiny-roberta/config.json", "tiny-roberta/tokenizer.json",
                "tiny-roberta/pytorch_model.bin"}


@pytest.fixture
def ts(tmp_path):
    return make_testset(tmp_path)


def states(ts):
    return {s.key: s.state for s in status(manifest=ts.manifest)}


def zip_folder(folder, zip_path, extra=()):
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, "pretrained_models/" + p.relative_to(folder).as_posix())
        for name, data in extra:
            zf.writestr(name, data)
    return zip_path


def test_import_from_a_pretrained_models_folder(tmp_path, ts):
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    report = import_from(pm, manifest=ts.manifest)
    assert sorted(i.key for i in report.imported) == sorted(ts.blobs)
    assert not report.rejected and not report.not_found
    assert {i.key for i in report.recorded} == UNKNOWN_HASH
    assert "recorded on this first import" in report.summary()
    for key, data in ts.blobs.items():
        assert store.dest_of(ts.file(key)).read_bytes() == data  # the two config.json were not mixed up
    assert set(states(ts).values()) == {"installed"}
    assert not list(store.models_dir().rglob("*.part"))
    # The distractors (another version's file, an unrelated config.json) went nowhere.
    assert not list(store.models_dir().rglob("s2G488k.pth"))

    again = import_from(pm, manifest=ts.manifest)
    assert len(again.skipped) == len(ts.blobs) and not again.imported


def test_import_from_a_zip(tmp_path, ts):
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    z = zip_folder(pm, tmp_path / "pretrained_models.zip")
    report = import_from(z, manifest=ts.manifest)
    assert sorted(i.key for i in report.imported) == sorted(ts.blobs) and not report.rejected
    assert report.imported[0].source.startswith("pretrained_models.zip:")
    assert set(states(ts).values()) == {"installed"}


@pytest.mark.parametrize("evil", ["../evil.json", "pretrained_models/../../evil.json", "/tmp/evil.json",
                                  "C:/evil.json", "a\\..\\evil.json"])
def test_zip_with_an_unsafe_path_is_refused(tmp_path, ts, evil):
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    z = zip_folder(pm, tmp_path / "pack.zip", extra=[(evil, b"{}")])
    with pytest.raises(ModelImportError, match="unsafe path"):
        import_from(z, manifest=ts.manifest)
    assert set(states(ts).values()) == {"missing"}
    assert not (tmp_path / "evil.json").exists() and not store.models_dir().exists()


def test_zip_with_a_symlink_is_refused(tmp_path, ts):
    z = tmp_path / "link.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("pretrained_models/s2G-test.pth")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ModelImportError, match="symbolic link"):
        import_from(z, manifest=ts.manifest)


def test_not_a_zip_and_missing_path(tmp_path, ts):
    with pytest.raises(ModelImportError, match="does not exist"):
        import_from(tmp_path / "nope", manifest=ts.manifest)
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    report = import_from(junk, manifest=ts.manifest)
    assert not report.items and len(report.not_found) == len(ts.blobs)


def test_wrong_files_with_the_right_names_are_rejected(tmp_path, ts):
    good = ts.blobs[GPT]
    bad_same_size = good[:-1] + bytes([good[-1] ^ 1])
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    (pm / "gsv-test-pretrained" / "s1bert25hz-test.ckpt").write_bytes(bad_same_size)
    (pm / "gsv-test-pretrained" / "s2G-test.pth").write_bytes(b"PK\x03\x04short")
    report = import_from(pm, manifest=ts.manifest)
    rejected = {i.key: i.reason for i in report.rejected}
    assert "SHA-256 does not match" in rejected[GPT]
    assert "wrong size" in rejected["tiny-gpt-sovits/s2G-test.pth"]
    assert states(ts)[GPT] == "missing" and not store.dest_of(ts.file(GPT)).exists()
    assert "rejected" in report.summary()


def test_a_second_good_copy_wins_over_a_bad_one(tmp_path, ts):
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    (pm / "gsv-test-pretrained" / "s1bert25hz-test.ckpt").write_bytes(b"x" * 300_000)
    (pm / "backup").mkdir()
    (pm / "backup" / "s1bert25hz-test.ckpt").write_bytes(ts.blobs[GPT])
    report = import_from(pm, manifest=ts.manifest)
    assert GPT in {i.key for i in report.imported}
    assert file_status(ts.file(GPT)).state == "installed"


def test_unknown_hash_recorded_on_first_import_and_checked_afterwards(tmp_path, ts):
    key = "tiny-roberta/config.json"
    f = ts.file(key)
    pm = write_pretrained_folder(tmp_path / "first", ts)
    first = import_from(pm, manifest=ts.manifest)
    item = next(i for i in first.imported if i.key == key)
    assert item.first_use and "recorded" in item.reason
    st = file_status(f)
    assert st.state == "installed" and st.hash_source == "recorded"
    assert store.recorded_entry(f)["sha256"] == hashlib.sha256(ts.blobs[key]).hexdigest()

    # Another copy that differs: refused, the installed one stays.
    other = tmp_path / "second" / "chinese-stuff" / "tiny-roberta"
    other.mkdir(parents=True)
    (other / "config.json").write_text('{"model_type": "something else"}')
    store.dest_of(f).unlink()
    second = import_from(other.parent, manifest=ts.manifest)
    assert [i.key for i in second.rejected] == [key]
    assert "differs from the copy recorded on first import" in second.rejected[0].reason
    assert file_status(f).state == "missing"

    # The same copy as the first: accepted against the recorded hash, not re-recorded.
    third = import_from(pm, manifest=ts.manifest)
    item = next(i for i in third.imported if i.key == key)
    assert not item.first_use and file_status(f).state == "installed"

    # Damage to the installed file is noticed by status.
    store.dest_of(f).write_text('{"model_type": "tampered!!"}' + " " * 10)
    assert file_status(f).state == "corrupt"


def test_unknown_hash_file_in_the_wrong_format_is_not_recorded(tmp_path, ts):
    key = "tiny-roberta/pytorch_model.bin"
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    (pm / "tiny-roberta" / "pytorch_model.bin").write_text("<html>error page</html>")
    report = import_from(pm, manifest=ts.manifest)
    assert "not a PyTorch checkpoint" in {i.key: i.reason for i in report.rejected}[key]
    assert store.recorded_entry(ts.file(key)) is None and states(ts)[key] == "missing"


def test_ambiguous_names_need_their_model_folder(tmp_path, ts):
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "config.json").write_bytes(ts.blobs["tiny-hubert/config.json"])
    (loose / "s2G-test.pth").write_bytes(ts.blobs["tiny-gpt-sovits/s2G-test.pth"])
    report = import_from(loose, manifest=ts.manifest)
    assert [i.key for i in report.imported] == ["tiny-gpt-sovits/s2G-test.pth"]
    assert "tiny-hubert/config.json" in report.not_found
    # Pointing at the model folder itself is enough.
    hub = tmp_path / "tiny-hubert"
    hub.mkdir()
    (hub / "config.json").write_bytes(ts.blobs["tiny-hubert/config.json"])
    assert [i.key for i in import_from(hub, manifest=ts.manifest).imported] == ["tiny-hubert/config.json"]


def test_single_file_import_and_replacing_a_corrupt_install(tmp_path, ts):
    src = tmp_path / "s1bert25hz-test.ckpt"
    src.write_bytes(ts.blobs[GPT])
    dest = store.dest_of(ts.file(GPT))
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"y" * 300_000)
    assert file_status(ts.file(GPT)).state == "corrupt"
    report = import_from(src, manifest=ts.manifest)
    assert [i.key for i in report.imported] == [GPT]
    assert file_status(ts.file(GPT)).state == "installed" and dest.read_bytes() == ts.blobs[GPT]


def test_cut_off_checkpoint_without_hash_is_rejected(tmp_path, ts):
    key = "tiny-roberta/pytorch_model.bin"
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    (pm / "tiny-roberta" / "pytorch_model.bin").write_bytes(ts.blobs[key][:100_000])
    report = import_from(pm, manifest=ts.manifest)
    assert "incomplete PyTorch checkpoint" in {i.key: i.reason for i in report.rejected}[key]
    assert store.recorded_entry(ts.file(key)) is None


def test_cancel_leaves_no_half_copied_file(tmp_path, ts):
    from core.models.importer import ImportCancelled
    pm = write_pretrained_folder(tmp_path / "gsv", ts)
    with pytest.raises(ImportCancelled):
        import_from(pm, manifest=ts.manifest, cancel=lambda: True)
    assert not [p for p in store.models_dir().rglob("*") if p.is_file() and p.name != store.CACHE_NAME]
