"""Downloads against a loopback server: resume, corruption, cancel, server errors, first-use hashes."""
import hashlib
import json
import os
import socket

import pytest

from core.models import store
from core.models.download import DownloadCancelled, DownloadError, download, download_missing
from core.models.store import file_status, part_of, status
from tests.core.models import make_testset, serve_testset

TIMEOUT = 5.0
GPT = "tiny-gpt-sovits/s1bert25hz-test.ckpt"     # known size + hash, 300 kB


@pytest.fixture
def ts(tmp_path, server):  # noqa: F811
    t = make_testset(tmp_path, server.base)
    serve_testset(server, t)
    return t


def states(ts):
    return {s.key: s.state for s in status(manifest=ts.manifest)}


def test_download_everything(ts, server):
    seen = []
    results = download_missing(manifest=ts.manifest, timeout=TIMEOUT,
                               progress=lambda f, done, total: seen.append((f.key, done, total)))
    assert len(results) == len(ts.blobs)
    for r in results:
        assert r.path.read_bytes() == ts.blobs[r.file.key]
        assert r.sha256 == hashlib.sha256(ts.blobs[r.file.key]).hexdigest()
        assert not part_of(r.path).exists() and r.resumed_from == 0
    assert set(states(ts).values()) == {"installed"}
    assert store.is_ready(manifest=ts.manifest)
    gpt = [(d, t) for k, d, t in seen if k == GPT]
    assert gpt[-1] == (300_000, 300_000) and [d for d, _ in gpt] == sorted(d for d, _ in gpt)
    # Files without a known hash were recorded, and say so.
    recorded = {r.file.key for r in results if r.first_use}
    assert recorded == {k for k in ts.blobs if ts.file(k).sha256 is None}
    assert file_status(ts.file("tiny-roberta/config.json")).hash_source == "recorded"
    # Nothing is fetched again once installed.
    n = len(server.knobs.requests)
    assert download_missing(manifest=ts.manifest, timeout=TIMEOUT) == []
    assert len(server.knobs.requests) == n


def test_resume_after_interruption(ts, server):
    f = ts.file(GPT)
    server.knobs.cut_once = 100_000
    with pytest.raises(DownloadError, match="connection was lost"):
        download(f, timeout=TIMEOUT)
    dest = store.path_of(f.model, f.name, manifest=ts.manifest)
    assert not dest.exists() and part_of(dest).stat().st_size == 100_000
    st = file_status(f)
    assert st.state == "missing" and "partly downloaded" in st.detail

    server.knobs.body_bytes = 0
    r = download(f, timeout=TIMEOUT)
    assert server.knobs.requests[-1] == (f"/repo/{ts.repo_paths[GPT]}", "bytes=100000-")
    assert server.knobs.body_bytes == 200_000 and r.transferred == 200_000 and r.resumed_from == 100_000
    assert dest.read_bytes() == ts.blobs[GPT] and not part_of(dest).exists()
    assert file_status(f).state == "installed"


def test_corrupt_download_is_rejected_and_nothing_installed(ts, server):
    f = ts.file(GPT)
    server.knobs.corrupt = True
    with pytest.raises(DownloadError, match="failed its check.*SHA-256") as exc:
        download(f, timeout=TIMEOUT)
    assert "import" in str(exc.value)
    dest = store.path_of(f.model, f.name, manifest=ts.manifest)
    assert not dest.exists() and not part_of(dest).exists()
    assert file_status(f).state == "missing"


def test_corrupt_rest_after_a_good_part_deletes_the_part(ts, server):
    f = ts.file(GPT)
    server.knobs.cut_once = 50_000
    with pytest.raises(DownloadError):
        download(f, timeout=TIMEOUT)
    server.knobs.corrupt = True  # the flipped byte (at 150 kB) is in the resumed range
    with pytest.raises(DownloadError, match="failed its check"):
        download(f, timeout=TIMEOUT)
    assert not part_of(store.dest_of(f)).exists() and file_status(f).state == "missing"
    server.knobs.corrupt = False
    assert download(f, timeout=TIMEOUT).resumed_from == 0
    assert file_status(f).state == "installed"


def test_cancel_keeps_the_part_and_a_later_download_resumes(ts, server):
    f = ts.file(GPT)
    server.knobs.delay = 0.01

    def cancel():
        p = part_of(store.dest_of(f))
        return p.exists() and p.stat().st_size >= 64_000

    with pytest.raises(DownloadCancelled):
        download(f, cancel=cancel, timeout=TIMEOUT)
    part = part_of(store.dest_of(f))
    kept = part.stat().st_size
    assert 64_000 <= kept < 300_000
    server.knobs.delay = 0.0
    r = download(f, timeout=TIMEOUT)
    assert r.resumed_from == kept and server.knobs.requests[-1][1] == f"bytes={kept}-"
    assert store.dest_of(f).read_bytes() == ts.blobs[GPT]


def test_cancel_while_hashing_the_existing_part(ts, server):
    f = ts.file(GPT)
    server.knobs.cut_once = 100_000
    with pytest.raises(DownloadError):
        download(f, timeout=TIMEOUT)
    n = len(server.knobs.requests)
    with pytest.raises(DownloadCancelled):
        download(f, cancel=lambda: True, timeout=TIMEOUT)
    assert len(server.knobs.requests) == n and part_of(store.dest_of(f)).stat().st_size == 100_000


def test_server_gone_gives_a_clear_error(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = make_testset(tmp_path, f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError) as exc:
        download(t.file(GPT), timeout=TIMEOUT)
    msg = str(exc.value)
    assert "refused" in msg and "Check the internet connection" in msg and "voicebank models import" in msg
    assert file_status(t.file(GPT)).state == "missing"


@pytest.mark.parametrize("code, words", [(404, "HTTP 404"), (500, "server had a problem"), (403, "refused access")])
def test_http_errors_are_explained(ts, server, code, words):
    if code == 404:
        server.files.clear()
    else:
        server.knobs.status = code
    with pytest.raises(DownloadError, match=words) as exc:
        download(ts.file(GPT), timeout=TIMEOUT)
    assert "import" in str(exc.value)
    assert not part_of(store.dest_of(ts.file(GPT))).exists()


def test_server_ignoring_range_still_gives_the_right_file(ts, server):
    f = ts.file(GPT)
    server.knobs.cut_once = 120_000
    with pytest.raises(DownloadError):
        download(f, timeout=TIMEOUT)
    server.knobs.ignore_range = True
    r = download(f, timeout=TIMEOUT)
    assert server.knobs.requests[-1][1] == "bytes=120000-"  # asked for the rest ...
    assert r.transferred == 300_000                           # ... got everything, restarted cleanly
    assert store.dest_of(f).read_bytes() == ts.blobs[GPT]


def test_slow_server_times_out(ts, server):
    server.knobs.delay = 1.0
    with pytest.raises(DownloadError, match="did not answer in time"):
        download(ts.file(GPT), timeout=0.3)


def test_unexpected_size_from_server(ts, server):
    server.files[f"/repo/{ts.repo_paths[GPT]}"] = ts.blobs[GPT] + b"extra"
    with pytest.raises(DownloadError, match="offers 300,005 bytes"):
        download(ts.file(GPT), timeout=TIMEOUT)


def test_complete_part_of_unknown_size_is_finished_via_416(ts, server):
    key = "tiny-roberta/pytorch_model.bin"  # no size, no hash in the manifest
    f = ts.file(key)
    dest = store.dest_of(f)
    dest.parent.mkdir(parents=True)
    part_of(dest).write_bytes(ts.blobs[key])
    r = download(f, timeout=TIMEOUT)
    assert server.knobs.requests[-1][1] == f"bytes={len(ts.blobs[key])}-" and r.transferred == 0
    assert dest.read_bytes() == ts.blobs[key] and r.first_use
    # A part longer than the file: 416 with another length -> start over.
    dest.unlink()
    part_of(dest).write_bytes(ts.blobs[key] + b"junk")
    r = download(f, timeout=TIMEOUT)
    assert r.transferred == len(ts.blobs[key]) and dest.read_bytes() == ts.blobs[key]


def test_first_use_hash_is_recorded_then_enforced(ts, server):
    key = "tiny-roberta/config.json"
    f = ts.file(key)
    r = download(f, timeout=TIMEOUT)
    assert r.first_use and "recorded" in r.detail
    rec = json.loads((store.models_dir() / store.RECORDED_NAME).read_text())["files"][key]
    assert rec["sha256"] == hashlib.sha256(ts.blobs[key]).hexdigest() and rec["url"] == f.url
    st = file_status(f)
    assert st.state == "installed" and "recorded on first import" in st.detail

    # The server now hands out something else under the same pinned URL: refused.
    store.dest_of(f).unlink()
    server.files[f"/repo/{ts.repo_paths[key]}"] = b'{"model_type": "other"}'
    with pytest.raises(DownloadError, match="differs from the copy recorded"):
        download(f, timeout=TIMEOUT)
    assert file_status(f).state == "missing"


def test_first_use_still_checks_the_format(ts, server):
    key = "tiny-roberta/pytorch_model.bin"
    server.files[f"/repo/{ts.repo_paths[key]}"] = b"<html>not a model</html>"
    with pytest.raises(DownloadError, match="not a PyTorch checkpoint"):
        download(ts.file(key), timeout=TIMEOUT)
    assert not (store.models_dir() / store.RECORDED_NAME).exists()


def test_status_uses_the_verification_cache(ts, server, monkeypatch):
    f = ts.file(GPT)
    download(f, timeout=TIMEOUT)
    calls = []
    real = store.sha256_of
    monkeypatch.setattr(store, "sha256_of", lambda p: calls.append(p) or real(p))
    assert file_status(f).state == "installed" and calls == []
    # Damage in place (same size): a new mtime invalidates the cache and the hash catches it.
    dest = store.dest_of(f)
    data = bytearray(dest.read_bytes())
    data[1000] ^= 1
    dest.write_bytes(bytes(data))
    st = dest.stat()
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert file_status(f).state == "corrupt" and len(calls) == 1
    assert file_status(f).state == "corrupt" and len(calls) == 1  # cached verdict too
    dest.write_bytes(b"short")
    assert file_status(f).state == "wrong size"
    # A download replaces the bad file.
    download(f, timeout=TIMEOUT)
    assert file_status(f, rehash=True).state == "installed"


def test_no_length_and_no_hash_is_refused_but_a_known_hash_is_enough(ts, server):
    server.knobs.no_length = True
    with pytest.raises(DownloadError, match="did not say how large"):
        download(ts.file("tiny-roberta/pytorch_model.bin"), timeout=TIMEOUT)
    # With a known hash the length does not matter: the hash decides.
    key = "tiny-hubert/pytorch_model.bin"  # hash known, size not
    r = download(ts.file(key), timeout=TIMEOUT)
    assert r.path.read_bytes() == ts.blobs[key] and not r.first_use
