"""g2pW's int8 copy (core.text.g2pw_int8): made once, used only after it agrees with the exact
model on the test set's polyphones, its verdict remembered; fp32 whenever anything is missing."""
from __future__ import annotations

import json
import logging
import sys

import pytest

from core.bench.g2pw_model import TINY, build_g2pw_folder
from core.text import g2pw, g2pw_int8
from core.text.frontend import phonemize


@pytest.fixture(autouse=True)
def installed_folder_again():
    g2pw.reset()
    yield
    g2pw.reset()


@pytest.fixture
def folder(tmp_path):
    return build_g2pw_folder(tmp_path / "G2PWModel", "行还长", TINY, prefer={"行": "hang2", "还": "huan2", "长": "chang2"})


def test_the_copy_passes_its_gate_is_used_and_remembered(folder, monkeypatch):
    g2pw.use(folder)
    model = g2pw.get()
    assert model.precision == "int8" and "int8: agreement 1.000" in g2pw.status().message
    assert "b u4 h ang2" in " ".join(phonemize("他每天步行回家").phones)
    copies = list(g2pw_int8.cache_dir().glob("*.int8.onnx"))
    assert len(copies) == 1 and copies[0].read_bytes() != (folder / g2pw.MODEL_FILE).read_bytes()
    verdict = json.loads((g2pw_int8.cache_dir() / g2pw_int8.VERDICTS).read_text())
    (entry,) = verdict.values()
    assert entry["passed"] and entry["asked"] > 20 and entry["agreement"] == 1.0

    def never(*a):
        raise AssertionError("quantized again")

    monkeypatch.setattr(g2pw_int8, "quantize", never)
    monkeypatch.setattr(g2pw_int8, "gate", never)
    g2pw.use(folder)
    assert g2pw.get().precision == "int8"            # the verdict was read, not measured


def test_a_copy_that_disagrees_is_not_used(folder, monkeypatch):
    monkeypatch.setattr(g2pw_int8, "AGREEMENT_GATE", 1.01)
    g2pw.use(folder)
    assert g2pw.get().precision == "fp32"
    assert "did not pass its gate" in g2pw.status().message
    assert not list(g2pw_int8.cache_dir().glob("*.int8.onnx"))      # no unused copy kept

    monkeypatch.setattr(g2pw_int8, "quantize", lambda *a: pytest.fail("quantized again"))
    g2pw.use(folder)
    assert g2pw.get().precision == "fp32"


def test_without_the_onnx_package_it_stays_exact(folder, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime.quantization", None)
    with caplog.at_level(logging.WARNING, logger="voicebank.text"):
        g2pw.use(folder)
        assert g2pw.get().precision == "fp32" and g2pw.status().state == "ready"
    assert not caplog.records                           # not a failure: just the exact model
    assert not (g2pw_int8.cache_dir() / g2pw_int8.VERDICTS).exists()   # tried again once it is there


def test_switched_off_and_forced(folder, monkeypatch):
    g2pw.use(folder, precision="fp32")
    assert g2pw.get().precision == "fp32" and not g2pw_int8.cache_dir().exists()
    g2pw.use(folder, precision="int8")
    assert g2pw.get().precision == "int8" and "not gated" in g2pw.status().message
    monkeypatch.setenv("VOICEBANK_G2PW_INT8", "0")
    g2pw.reset()
    assert g2pw._where()[2] == "fp32"


def test_a_damaged_copy_is_made_again(folder):
    g2pw.use(folder)
    assert g2pw.get().precision == "int8"
    (copy,) = g2pw_int8.cache_dir().glob("*.int8.onnx")
    copy.write_bytes(b"not a model")
    g2pw.use(folder)
    assert g2pw.get().precision == "int8" and copy.stat().st_size > 1000
