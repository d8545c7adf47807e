"""Helpers for the model store tests: a loopback file server with knobs for failure modes, and a
small test manifest (a few hundred kB of generated files) shaped like the real v2 base set.

Only 127.0.0.1 is ever contacted.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import socket
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from core.models.manifest import Manifest, load_manifest

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@dataclass
class Knobs:
    """How the server misbehaves. `cut_once` applies to the next response only."""
    cut_once: int | None = None       # close the connection after this many body bytes
    corrupt: bool = False             # flip one byte in every body
    ignore_range: bool = False        # answer 200 with the whole file even when Range was asked
    status: int | None = None         # answer every request with this error status
    delay: float = 0.0                # seconds to sleep before each 16 kB block
    no_length: bool = False           # send no Content-Length (the end of the body is the close)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    body_bytes: int = 0               # body bytes sent in total


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.knobs = Knobs()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                k = server.knobs
                rng = self.headers.get("Range")
                k.requests.append((self.path, rng))
                if k.status:
                    self.send_error(k.status)
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                if k.corrupt:
                    mid = len(data) // 2
                    data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
                start = 0
                if rng and not k.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                if not k.no_length:
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                cut, k.cut_once = k.cut_once, None
                limit = len(body) if cut is None else min(cut, len(body))
                sent = 0
                try:
                    while sent < limit:
                        if k.delay:
                            time.sleep(k.delay)
                        block = body[sent:min(limit, sent + 16384)]
                        self.wfile.write(block)
                        sent += len(block)
                        k.body_bytes += len(block)
                    self.wfile.flush()
                    if cut is not None:
                        self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # the client went away (cancel, timeout)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FileServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(monkeypatch):
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    srv = FileServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def _blob(seed: int, size: int, kind: str, hash_known: bool = True) -> bytes:
    rnd = random.Random(seed)
    if kind == "json":
        obj = {"model_type": "test", "seed": seed, "pad": "x" * max(0, size - 60)}
        return json.dumps(obj).encode()
    if not hash_known:
        # No hash to check it against: the store opens it with the safe loader, so it must be a
        # real torch.save file (one tensor of random bytes, about `size` bytes).
        buf = io.BytesIO()
        torch.save({"w": torch.tensor(list(rnd.randbytes(size - 1000)), dtype=torch.uint8)}, buf)
        return buf.getvalue()
    # A real zip (as torch.save writes), padded to exactly `size` bytes.
    def build(n: int) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("archive/data/0", rnd.randbytes(n))
        return buf.getvalue()
    overhead = len(build(0))
    data = build(size - overhead)
    assert len(data) == size
    return data


# (model, name, size, kind, hash known?, size known?) — shaped like the real base set: unique
# GPT-SoVITS names with known hashes, and two feature folders sharing config.json/pytorch_model.bin.
TEST_FILES = [
    ("tiny-gpt-sovits", "s1bert25hz-test.ckpt", 300_000, "torch", True, True),
    ("tiny-gpt-sovits", "s2G-test.pth", 200_000, "torch", True, True),
    ("tiny-hubert", "config.json", 400, "json", False, False),
    ("tiny-hubert", "pytorch_model.bin", 150_000, "torch", True, False),
    ("tiny-roberta", "config.json", 500, "json", False, False),
    ("tiny-roberta", "tokenizer.json", 2_000, "json", False, False),
    ("tiny-roberta", "pytorch_model.bin", 250_000, "torch", False, False),
]


@dataclass
class ModelTestSet:
    manifest: Manifest
    blobs: dict[str, bytes]      # key "<model>/<name>" -> content
    path: Path                   # manifest file
    repo_paths: dict[str, str]   # key -> path inside the (served) repository

    def file(self, key: str):
        model, name = key.split("/", 1)
        return self.manifest.file(model, name)


def make_testset(tmp_path: Path, base_url: str = "http://127.0.0.1:9") -> ModelTestSet:
    """Write a test manifest whose URLs point at `base_url` (port 9 = discard: nothing listens)."""
    models: dict[str, list] = {}
    blobs: dict[str, bytes] = {}
    repo_paths: dict[str, str] = {}
    for i, (model, name, size, kind, hash_known, size_known) in enumerate(TEST_FILES):
        data = _blob(i + 1, size, kind, hash_known)
        key = f"{model}/{name}"
        blobs[key] = data
        folder = "gsv-test-pretrained" if model == "tiny-gpt-sovits" else model
        repo_paths[key] = f"{folder}/{name}"
        models.setdefault(model, []).append({
            "name": name, "repo_path": repo_paths[key], "url": f"{base_url}/repo/{repo_paths[key]}",
            "size": len(data) if size_known else None,
            "sha256": hashlib.sha256(data).hexdigest() if hash_known else None,
            "format": kind,
        })
    doc = {"schema": 1, "name": "test", "repository": "test/repo", "revision": "0" * 40,
           "models": [{"id": m, "title": m, "licence": "MIT", "files": files} for m, files in models.items()]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return ModelTestSet(load_manifest(path), blobs, path, repo_paths)


def serve_testset(srv: FileServer, ts: ModelTestSet) -> None:
    for key, data in ts.blobs.items():
        srv.files[f"/repo/{ts.repo_paths[key]}"] = data


def write_pretrained_folder(root: Path, ts: ModelTestSet, skip: tuple[str, ...] = ()) -> Path:
    """Lay the test files out like GPT-SoVITS's GPT_SoVITS/pretrained_models."""
    pm = root / "GPT_SoVITS" / "pretrained_models"
    for key, data in ts.blobs.items():
        if key in skip:
            continue
        p = pm / ts.repo_paths[key]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    # Distractors a real folder has: other versions' files and unrelated configs.
    (pm / "s2G488k.pth").write_bytes(os.urandom(1000))
    (pm / "other" / "config.json").parent.mkdir(parents=True, exist_ok=True)
    (pm / "other" / "config.json").write_text("{}")
    return pm
