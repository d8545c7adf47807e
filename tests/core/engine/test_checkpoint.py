"""Safe checkpoint I/O: official formats, header variants, broken and hostile files."""
from __future__ import annotations

import io
import os
import pickletools
import sys
import types
import zipfile
from pathlib import Path

import pytest
import torch

from core.engine.checkpoint import (
    CheckpointError,
    HParams,
    checkpoint_kind,
    detect_version,
    load_checkpoint,
    require_v2,
    save_gpt,
    save_sovits,
)

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"
needs_ref = pytest.mark.skipif(
    not (REF / "s2G_tiny.pth").exists(), reason=f"reference data not found at {REF}"
)


def _small_sovits(rows: int = 732, extra: dict | None = None) -> dict:
    weight = {
        "enc_p.text_embedding.weight": torch.randn(rows, 4).half(),
        "dec.conv_pre.weight": torch.randn(8, 4, 7).half(),
    }
    weight.update(extra or {})
    config = {"train": {"seed": 1}, "data": {"sampling_rate": 32000},
              "model": {"gin_channels": 512, "upsample_initial_channel": 512}}
    return {"weight": weight, "config": config}


def _write_sovits(path: Path, **kw) -> Path:
    small = _small_sovits(**kw)
    save_sovits(path, small["weight"], small["config"], "test")
    return path


# ---------------------------------------------------------------- official files


@needs_ref
def test_loads_official_sovits_and_gpt():
    s2 = load_checkpoint(REF / "s2G_tiny.pth")
    assert isinstance(s2["config"], HParams)
    assert s2["config"].model.gin_channels == 512
    assert s2["config"]["data"]["hop_length"] == 640
    assert s2["weight"]["enc_p.text_embedding.weight"].dtype == torch.float16
    assert any("enc_q" in k for k in s2["weight"])
    assert checkpoint_kind(s2) == "sovits" and detect_version(s2) == "v2"
    assert require_v2(s2) == "sovits"

    s1 = load_checkpoint(REF / "s1_tiny.ckpt")
    assert isinstance(s1["config"], dict) and s1["config"]["data"]["max_sec"] == 54
    assert checkpoint_kind(s1) == "gpt" and detect_version(s1) == "v2"


@needs_ref
def test_round_trip_sovits(tmp_path):
    a = load_checkpoint(REF / "s2G_tiny.pth")
    out = tmp_path / "voice.pth"
    save_sovits(out, a["weight"], a["config"], a["info"])
    b = load_checkpoint(out)
    assert list(a["weight"]) == list(b["weight"])
    for k in a["weight"]:
        assert a["weight"][k].dtype == b["weight"][k].dtype
        assert torch.equal(a["weight"][k], b["weight"][k]), k
    assert a["config"] == b["config"] and a["info"] == b["info"]
    # The config is pickled as the original's class, so the original project can load it.
    data = zipfile.ZipFile(out).read(next(n for n in zipfile.ZipFile(out).namelist()
                                          if n.endswith("data.pkl")))
    ops = io.StringIO()
    pickletools.dis(data, ops)
    assert "'utils HParams'" in ops.getvalue()
    assert not list(tmp_path.glob("*.part"))  # no temp file left behind


@needs_ref
def test_saved_file_loads_with_stock_torch_and_a_utils_module(tmp_path, monkeypatch):
    """What the original does: torch.load with its own utils.HParams importable."""
    a = load_checkpoint(REF / "s2G_tiny.pth")
    out = tmp_path / "voice.pth"
    save_sovits(out, a["weight"], a["config"], a["info"])
    utils = types.ModuleType("utils")

    class OrigHParams:  # stand-in for the original class
        pass

    OrigHParams.__module__ = "utils"
    utils.HParams = OrigHParams
    monkeypatch.setitem(sys.modules, "utils", utils)
    obj = torch.load(out, map_location="cpu", weights_only=False)
    assert isinstance(obj["config"], OrigHParams)
    assert obj["config"].model.gin_channels == 512


@needs_ref
def test_round_trip_gpt(tmp_path):
    a = load_checkpoint(REF / "s1_tiny.ckpt")
    out = tmp_path / "voice.ckpt"
    save_gpt(out, a["weight"], a["config"], a["info"])
    b = load_checkpoint(out)
    assert b["config"] == a["config"] and b["info"] == a["info"]
    assert all(torch.equal(a["weight"][k], b["weight"][k]) for k in a["weight"])


def test_save_converts_to_fp16(tmp_path):
    out = tmp_path / "v.pth"
    save_sovits(out, {"enc_p.text_embedding.weight": torch.randn(732, 3),
                      "quantizer.vq.layers.0._codebook.inited": torch.tensor([1.0])},
                {"model": {"a": 1}}, "i")
    b = load_checkpoint(out)
    assert b["weight"]["enc_p.text_embedding.weight"].dtype == torch.float16


def test_missing_enc_q_is_fine(tmp_path):
    ckpt = load_checkpoint(_write_sovits(tmp_path / "ft.pth"))
    assert not any("enc_q" in k for k in ckpt["weight"])
    assert detect_version(ckpt) == "v2"


# ---------------------------------------------------------------- header variants


@pytest.mark.parametrize("head,version", [(b"05", "v2Pro"), (b"06", "v2ProPlus"), (b"03", "v3"),
                                          (b"04", "v4"), (b"02", "v3"), (b"00", "v1"),
                                          (b"\x05\x05", "v2Pro"), (b"\x06\x06", "v2ProPlus")])
def test_swapped_pk_header(tmp_path, head, version):
    path = _write_sovits(tmp_path / "pro.pth")
    data = path.read_bytes()
    path.write_bytes(head + data[2:])
    ckpt = load_checkpoint(path)
    assert ckpt["weight"]["dec.conv_pre.weight"].shape == (8, 4, 7)
    assert detect_version(ckpt) == version
    with pytest.raises(CheckpointError, match="not supported yet"):
        require_v2(ckpt)


def test_v2_mark_and_unknown_mark(tmp_path):
    path = _write_sovits(tmp_path / "v2.pth")
    path.write_bytes(b"01" + path.read_bytes()[2:])
    assert detect_version(load_checkpoint(path)) == "v2"
    path.write_bytes(b"07" + path.read_bytes()[2:])
    with pytest.raises(CheckpointError, match="newer GPT-SoVITS.*not supported yet"):
        load_checkpoint(path)


def test_v1_sovits_and_gpt_not_supported(tmp_path):
    v1 = load_checkpoint(_write_sovits(tmp_path / "v1.pth", rows=322))
    assert detect_version(v1) == "v1"
    with pytest.raises(CheckpointError, match="v1 .*not supported yet"):
        require_v2(v1)
    out = tmp_path / "v1.ckpt"
    save_gpt(out, {"model.ar_text_embedding.word_embeddings.weight": torch.zeros(512, 4)},
             {"model": {"phoneme_vocab_size": 512}, "data": {"max_sec": 54}}, "GPT-e1")
    g = load_checkpoint(out)
    assert checkpoint_kind(g) == "gpt" and detect_version(g) == "v1"
    with pytest.raises(CheckpointError, match="not supported yet"):
        require_v2(g)


def test_v3_and_pro_by_keys(tmp_path):
    v3 = load_checkpoint(_write_sovits(tmp_path / "v3.pth",
                                       extra={"cfm.estimator.x": torch.zeros(2)}))
    assert detect_version(v3) == "v3"
    pro = load_checkpoint(_write_sovits(tmp_path / "pro.pth",
                                        extra={"sv_emb.weight": torch.zeros(4, 2)}))
    assert detect_version(pro) == "v2Pro"
    with pytest.raises(CheckpointError, match="v2Pro .*not supported yet"):
        require_v2(pro)


# ---------------------------------------------------------------- broken files


def test_truncated_file(tmp_path):
    path = _write_sovits(tmp_path / "cut.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged or incomplete"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "song.pth"
    path.write_bytes(b"RIFF....WAVEfmt " + os.urandom(200))
    with pytest.raises(CheckpointError, match="not a GPT-SoVITS model file"):
        load_checkpoint(path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(other)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pth")


def test_torch_file_without_weights(tmp_path):
    path = tmp_path / "plain.pth"
    torch.save({"something": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a GPT-SoVITS voice model"):
        load_checkpoint(path)


# ---------------------------------------------------------------- hostile files


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("make", ["os.system", "builtins.eval", "foreign_class"])
def test_malicious_pickle_refused(tmp_path, make):
    marker = tmp_path / "pwned"
    if make == "os.system":
        payload = _Evil(os.system, f"touch {marker}")
        expect = r"(posix|nt|os)\.system"
    elif make == "builtins.eval":
        payload = _Evil(eval, f"open({str(marker)!r}, 'w').close()")
        expect = r"(__builtin__|builtins)\.eval"
    else:
        payload = _Evil(Path, str(marker))  # a class from an arbitrary module
        expect = r"pathlib\.\w*Path"
    path = tmp_path / "evil.pth"
    torch.save({"weight": {"x": torch.zeros(1)}, "config": payload, "info": "x"}, path)
    with pytest.raises(CheckpointError, match=rf"refused \(not opened\): it contains {expect}") as info:
        load_checkpoint(path)
    assert "never holds" in str(info.value)
    assert not marker.exists()


def test_malicious_pickle_with_swapped_header(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"weight": {}, "config": _Evil(os.system, f"touch {marker}")}, path)
    path.write_bytes(b"\x05\x05" + path.read_bytes()[2:])
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists()
