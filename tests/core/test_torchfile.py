"""The safe torch-file reader: attackers' files, made here at test time, never run and never
allocate more than they hold; genuine files (the original's reference checkpoints, a legacy
pre-zip file) still load."""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from core.engine.checkpoint import CONFIG_CLASSES, HParams
from core.torchfile import (SMALL_FILE_LIMIT, VOICE_FILE_LIMIT, TorchFileError, check_torch_file,
                            load_torch_file)

REF = Path(__file__).resolve().parents[2].parent / "shared/reference/gpt-sovits-v2"
needs_ref = pytest.mark.skipif(not (REF / "s2G_tiny.pth").exists(), reason="reference data not found")


class ScriptPayload(torch.nn.Module):
    """A TorchScript module whose __setstate__ runs when the archive is loaded."""

    def __init__(self) -> None:
        super().__init__()
        self.note = "x"

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.note, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.note = state[0]
        self.training = state[1]
        raise RuntimeError("PAYLOAD RAN")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def torchscript_payload() -> bytes:
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(ScriptPayload()), buf)
    return buf.getvalue()


class _Reduce:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def pickle_payload(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"weight": {"x": torch.zeros(2)}, "config": _Reduce(os.system, f"touch {marker}")}, buf)
    return buf.getvalue()


def torch_zip(pickled: bytes, records: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> bytes:
    """A zip laid out as torch.save lays it out, with a hand-made data.pkl."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        zf.writestr("archive/data.pkl", pickled)
        for name, data in records.items():
            zf.writestr(f"archive/{name}", data)
        zf.writestr("archive/version", "3\n")
    return buf.getvalue()


class _StoragePickler(pickle.Pickler):
    """Pickles `_Declared` as the persistent storage id torch writes, with any numel we like."""

    def persistent_id(self, obj):
        if isinstance(obj, _Declared):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


class _Declared:
    def __init__(self, key: str, numel: int):
        self.key, self.numel = key, numel


def declared_tensor(numel: int, stored_floats: int, size=None, stride=None) -> bytes:
    """A file with one float tensor that declares `numel` elements but stores `stored_floats`."""
    size = size or (numel,)
    stride = stride or (1,)
    rebuild = _Reduce(torch._utils._rebuild_tensor_v2, _Declared("0", numel), 0, size, stride,
                      False, OrderedDict())
    buf = io.BytesIO()
    _StoragePickler(buf, protocol=2).dump({"weight": {"w": rebuild}})
    return torch_zip(buf.getvalue(), {"data/0": bytes(4 * stored_floats)})


# ------------------------------------------------------------------------------ code


def test_the_torchscript_payload_is_real_and_is_refused_before_torch_sees_it():
    data = torchscript_payload()
    # Stock torch.load hands it to torch.jit.load, which runs its __setstate__.
    with pytest.raises(Exception, match="PAYLOAD RAN"):
        torch.load(io.BytesIO(data), weights_only=False)
    with pytest.raises(TorchFileError, match="TorchScript program") as info:
        load_torch_file(data, limit=VOICE_FILE_LIMIT, name="voice.pth", what="voice file")
    assert "PAYLOAD" not in str(info.value)
    assert str(info.value).startswith("voice.pth was refused (not opened)")


def test_a_disguised_torchscript_archive_without_constants_is_still_refused():
    src = zipfile.ZipFile(io.BytesIO(torchscript_payload()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            if not info.filename.endswith("constants.pkl"):
                out.writestr(info.filename, src.read(info))
    with pytest.raises(TorchFileError, match="TorchScript program"):
        check_torch_file(buf.getvalue(), limit=VOICE_FILE_LIMIT)


def test_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(TorchFileError, match=r"(posix|os)\.system"):
        load_torch_file(pickle_payload(marker), limit=VOICE_FILE_LIMIT)
    assert not marker.exists()


@pytest.mark.parametrize("func", [eval, exec, getattr, __import__, torch.load])
def test_any_other_callable_is_refused(func):
    buf = io.BytesIO()
    torch.save({"weight": {}, "x": _Reduce(func, "1")}, buf)
    with pytest.raises(TorchFileError, match="never holds"):
        check_torch_file(buf.getvalue(), limit=VOICE_FILE_LIMIT)


def test_storage_classes_cannot_be_called_to_allocate():
    buf = io.BytesIO()
    torch.save({"weight": {}, "x": _Reduce(torch.FloatStorage, 10**12)}, buf)
    with pytest.raises(TorchFileError):
        check_torch_file(buf.getvalue(), limit=VOICE_FILE_LIMIT)


def test_codec_other_than_latin1_is_refused():
    buf = io.BytesIO()
    import _codecs
    torch.save({"weight": {}, "x": _Reduce(_codecs.encode, "abc", "rot13")}, buf)
    with pytest.raises(TorchFileError, match="codec"):
        check_torch_file(buf.getvalue(), limit=VOICE_FILE_LIMIT)


def test_unexpected_parts_in_the_zip_are_refused():
    good = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, good)
    zf = zipfile.ZipFile(io.BytesIO(good.getvalue()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in zf.infolist():
            out.writestr(info.filename, zf.read(info))
        out.writestr("archive/extra.py", "import os")
    with pytest.raises(TorchFileError, match="never have"):
        check_torch_file(buf.getvalue(), limit=VOICE_FILE_LIMIT)


# ------------------------------------------------------------------------------ sizes


def test_declared_storage_larger_than_stored_is_refused_before_any_allocation():
    data = declared_tensor(numel=256 * 1024**2, stored_floats=4)   # claims 1 GiB, holds 16 bytes
    assert len(data) < 4096
    with pytest.raises(TorchFileError, match=r"declares 1\.0 GB but 16 bytes are stored"):
        check_torch_file(data, limit=VOICE_FILE_LIMIT)


def test_honest_hand_made_file_loads():
    data = declared_tensor(numel=4, stored_floats=4)
    obj = load_torch_file(data, limit=VOICE_FILE_LIMIT)
    assert obj["weight"]["w"].shape == (4,)


def test_tensor_reaching_past_its_storage_is_refused():
    data = declared_tensor(numel=4, stored_floats=4, size=(4, 4), stride=(4, 1))
    with pytest.raises(TorchFileError, match="reaches past"):
        check_torch_file(data, limit=VOICE_FILE_LIMIT)


def test_compressed_records_are_refused_so_nothing_expands():
    buf = io.BytesIO()
    _StoragePickler(buf, protocol=2).dump({"w": _Reduce(torch._utils._rebuild_tensor_v2,
                                                        _Declared("0", 2**20), 0, (2**20,), (1,),
                                                        False, OrderedDict())})
    bomb = torch_zip(buf.getvalue(), {"data/0": bytes(4 * 2**20)}, compress=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 64 * 1024
    with pytest.raises(TorchFileError, match="compressed"):
        check_torch_file(bomb, limit=VOICE_FILE_LIMIT)


def test_a_file_over_the_limit_is_refused_by_its_size_alone(tmp_path):
    path = tmp_path / "big.pth"
    torch.save({"w": torch.zeros(300_000)}, path)          # 1.2 MB
    with pytest.raises(TorchFileError, match="larger than any voice file"):
        check_torch_file(path, limit=1024**2, what="voice file")


def test_legacy_format_with_a_lying_size_is_refused(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"w": torch.ones(1000)}, path, _use_new_zipfile_serialization=False)
    assert load_torch_file(path, limit=SMALL_FILE_LIMIT)["w"].sum() == 1000
    data = bytearray(path.read_bytes())
    # The pickle declares 1000 elements as a BININT2 (M, e8 03); make it claim 100 million.
    at = data.find(b"M\xe8\x03")
    assert at > 0
    data[at:at + 3] = b"J" + (100_000_000).to_bytes(4, "little")[:2]  # a short BININT: damaged
    with pytest.raises(TorchFileError):
        check_torch_file(bytes(data), limit=SMALL_FILE_LIMIT)
    data = bytearray(path.read_bytes())
    data[at:at + 3] = b"M\xff\xff"                                      # claims 65535 elements
    with pytest.raises(TorchFileError, match="declares|different size"):
        check_torch_file(bytes(data), limit=SMALL_FILE_LIMIT)


def test_truncated_and_foreign_files(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(1000)}, buf)
    with pytest.raises(TorchFileError, match="damaged or incomplete"):
        check_torch_file(buf.getvalue()[:1500], limit=VOICE_FILE_LIMIT)
    with pytest.raises(TorchFileError, match="not a PyTorch file"):
        check_torch_file(b"RIFF....WAVEfmt ", limit=VOICE_FILE_LIMIT)
    with pytest.raises(TorchFileError, match="is a folder"):
        check_torch_file(tmp_path, limit=VOICE_FILE_LIMIT)
    with pytest.raises(TorchFileError, match="does not exist"):
        check_torch_file(tmp_path / "missing.pth", limit=VOICE_FILE_LIMIT)


# ------------------------------------------------------------------------------ genuine files


@needs_ref
@pytest.mark.parametrize("name", ["s1_tiny.ckpt", "s2G_tiny.pth", "expected.pt"])
def test_the_originals_reference_files_load(name):
    obj = load_torch_file(REF / name, limit=VOICE_FILE_LIMIT, classes=CONFIG_CLASSES)
    assert isinstance(obj, dict)
    if name == "s2G_tiny.pth":
        assert isinstance(obj["config"], HParams)


def test_config_classes_are_admitted_only_when_named(tmp_path):
    from core.engine.checkpoint import save_sovits

    path = tmp_path / "v.pth"
    save_sovits(path, {"x": torch.zeros(2)}, {"model": {"version": "v2"}}, "t")
    with pytest.raises(TorchFileError, match=r"utils\.HParams"):
        check_torch_file(path, limit=VOICE_FILE_LIMIT)
    assert load_torch_file(path, limit=VOICE_FILE_LIMIT, classes=CONFIG_CLASSES)["config"].model.version == "v2"


def test_no_module_but_torchfile_calls_torch_load():
    """One reader for every torch file: a new loader elsewhere would skip the checks."""
    import re

    root = Path(__file__).resolve().parents[2]
    calls = re.compile(r"\b(torch\.load|jit\.load|torch\.jit\.load|pickle\.loads?|Unpickler)\s*\(")
    offenders = [str(p.relative_to(root)) for folder in ("core", "desktop") for p in (root / folder).rglob("*.py")
                 if p.name != "torchfile.py" and calls.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


@needs_ref
def test_inspection_needs_no_torch_so_the_window_can_run_it():
    """The GUI process never imports torch; exporting a voice inspects its model files there."""
    import subprocess
    import sys

    code = ("import sys; from core.engine.checkpoint import check_checkpoint; "
            f"check_checkpoint({str(REF / 's2G_tiny.pth')!r}); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], check=True).stdout
    assert out.strip() == "False"
