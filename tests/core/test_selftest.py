"""`voicebank selftest`: every part checked, failures reported without stopping the rest."""
from __future__ import annotations

import soundfile as sf

from core import selftest
from tests.testsignals import speech_like


def test_all_checks_pass_and_a_take_is_recorded_from_the_test_input(tmp_path, monkeypatch):
    sf.write(tmp_path / "mic.wav", speech_like(1.0, 48000, seed=4), 48000, subtype="PCM_16")
    monkeypatch.setenv("VOICEBANK_FAKE_INPUT", str(tmp_path / "mic.wav"))
    monkeypatch.setenv("VOICEBANK_CACHE", str(tmp_path / "cache"))
    from core.runtime.gates import Gate, GateCache, cpu_info
    from core.runtime.int8 import int8_available

    GateCache().put("k", {"int8_gpt": Gate.judge("int8_gpt", "agreement", 0.95, 0.04, 2.0, 50, "int8 GPT")},
                    {"cpu": cpu_info().summary(), "gpt": "/voices/anna/gpt.ckpt"})
    lines: list[str] = []
    assert selftest.run_selftest(record_s=0.5, say=lines.append) == 0
    assert lines[-1] == "all checks passed"
    recording = next(line for line in lines if "recording" in line)
    assert recording.startswith("ok") and "recorded as a take, graded" in recording
    # The CPU's ISA as torch and the int8 kernel see it, and every fast path's gate figure.
    cpu = next(line for line in lines if line.startswith("ok    cpu: "))
    assert cpu_info().model in cpu and f"uses {cpu_info().torch_capability}" in cpu and "int8 kernel adds in" in cpu
    fast = next(line for line in lines if line.startswith("ok    fast paths: "))
    if int8_available():
        assert "int8 GPT: on (agreement" in fast or "int8 GPT: OFF (agreement" in fast
        assert "gate >= 0.95" in fast
    assert "voice /voices/anna/gpt.ckpt" in fast and "int8 GPT: OFF (agreement 0.04 (2 of 50" in fast


def test_a_broken_part_is_named_and_the_rest_still_run(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_FAKE_INPUT", str(tmp_path / "mic.wav"))   # no sound card needed

    def broken():
        raise OSError("libtorch_cpu.so: cannot open shared object file")

    monkeypatch.setattr(selftest, "_torch", broken)
    monkeypatch.setattr(selftest, "_transformers", lambda: "transformers (skipped in this test)")
    lines: list[str] = []
    assert selftest.run_selftest(say=lines.append) == 1
    assert any(line.startswith("FAIL  torch: OSError: libtorch_cpu.so") for line in lines)
    assert any(line.startswith("ok    microphones") for line in lines)   # checked after torch
    assert lines[-1] == "1 check(s) failed"
