"""`python -m core.engine.conformance DIR` on the shared reference, and on a tampered copy."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[3]
REF = ROOT.parent / "shared/reference/gpt-sovits-v2"
pytestmark = pytest.mark.skipif(not REF.is_dir(), reason="../shared/reference/gpt-sovits-v2 is not beside the repo")


def conformance(folder):
    out = subprocess.run([sys.executable, "-m", "core.engine.conformance", str(folder)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    return out.returncode, json.loads(out.stdout)


def test_every_reference_output_matches():
    code, report = conformance(REF)
    assert code == 0 and report["ok"]
    expected_keys = set(torch.load(REF / "expected.pt", weights_only=True))
    inputs = {"wave_32k", "ssl", "phones", "t2s_x", "t2s_x_lens", "t2s_bert", "t2s_y", "t2s_y_lens",
              "greedy_prompt", "flow_in"}
    assert expected_keys - inputs <= set(report["outputs"]), expected_keys - inputs - set(report["outputs"])
    assert report["outputs"]["greedy_tokens"]["error"] == 0


def test_a_wrong_reference_fails(tmp_path):
    for name in ("s2G_tiny.pth", "s1_tiny.ckpt"):
        shutil.copy(REF / name, tmp_path / name)
    expected = torch.load(REF / "expected.pt", weights_only=True)
    expected["decode_wav"] = expected["decode_wav"] * 1.01
    torch.save(expected, tmp_path / "expected.pt")
    code, report = conformance(tmp_path)
    assert code == 1 and not report["ok"]
    assert not report["outputs"]["decode_wav"]["ok"]
    assert report["outputs"]["decode_wav"]["error"] == pytest.approx(0.01, rel=0.01)
    assert report["outputs"]["ge"]["ok"]


def test_missing_files_are_reported(tmp_path):
    code, report = conformance(tmp_path)
    assert code == 2 and "missing" in report["error"]
