"""`python -m core.bench.gpu OUT.json --smoke`: the GPU bench's whole run on the CPU with tiny
models (about a minute on a shared 2-core box), the shape of its JSON, and that a failing or
hanging part is recorded while the rest still run."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.bench import gpu

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("gpu-bench") / "smoke.json"
    proc = subprocess.run([sys.executable, "-m", "core.bench.gpu", str(out), "--smoke"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"written: {out}" in proc.stdout
    return json.loads(out.read_text())      # strict JSON (no NaN): json.loads would take NaN, the writer refuses it


def test_every_part_ran(smoke):
    assert smoke["schema"] == 1 and smoke["config"]["smoke"] is True and smoke["config"]["device"] == "cpu"
    for part in gpu.PARTS:
        entry = smoke[part.name]
        assert entry["status"] == "ok", (part.name, entry.get("error"), entry.get("log_tail"))
        assert entry["seconds"] > 0 and entry["limit_s"] > 0 and entry["error"] is None
    assert smoke["total_s"] > 0 and smoke["started_utc"]


def test_machine(smoke):
    m = smoke["machine"]
    for key in ("cpu", "cpu_cores", "torch", "cuda", "cuda_available", "driver", "python", "ram_gb"):
        assert key in m, key


def test_synthesis_batch1_and_batch8_graphs_on_and_off(smoke):
    s = smoke["synthesis"]
    for mode in ("graph_on", "graph_off"):
        b1, b8 = s[mode]["batch1"], s[mode]["batch8"]
        for key in ("tokens_per_s", "prefill_ms", "gpt_s", "e2e_s", "rtf", "first_audio_s"):
            assert b1[key] > 0, (mode, key)
        assert b1["first_audio_mode"] in ("pieces", "sentence")
        for key in ("tokens_per_s", "per_row_tokens_per_s", "gpt_s", "rtf", "first_audio_s", "total_s"):
            assert b8[key] > 0, (mode, key)
        assert b8["tokens_per_s"] == pytest.approx(8 * b8["per_row_tokens_per_s"], rel=0.01)
        assert "peak_gpu_mb" in s[mode] and isinstance(s[mode]["notes"], list)
    assert s["config"]["new_tokens"] > 0 and s["load_s"] > 0


def test_training_amp_and_checkpointing(smoke):
    t = smoke["train"]
    for stage in ("sovits", "gpt"):
        for name in ("fp32", "fp32_ckpt"):
            assert t[stage][name]["steps_per_s"] > 0 and t[stage][name]["peak_mb"] > 0
            assert t[stage][name]["precision"] == "fp32"
        assert t[stage]["amp"] is None and t[stage]["amp_ckpt"] is None     # the CPU trains in fp32 only
        assert "amp_speedup" in t[stage] and "amp_memory_saving" in t[stage]


def test_finetune_minute(smoke):
    f = smoke["finetune_minute"]
    assert f["items"] == f["takes"] and f["speech_s"] > 0
    assert f["sovits_steps"] == 1 and f["gpt_steps"] == 1          # --smoke: one step a stage
    assert f["wall_s"] >= f["features_s"] + f["sovits_s"] and f["target_s"] == 180


def test_service(smoke):
    rows = smoke["service"]["rows"]
    assert [r["callers"] for r in rows] == [4]
    assert rows[0]["errors"] == 0 and rows[0]["requests"] == 4 and rows[0]["audio_s_per_s"] > 0


def test_goals_name_every_target(smoke):
    g = smoke["goals"]
    assert set(g) == {"gpt_tokens_per_s_batch1", "first_audio_s", "amp_speedup_sovits", "amp_speedup_gpt",
                      "amp_memory_saving_sovits", "amp_memory_saving_gpt", "finetune_minute_wall_s"}
    assert g["amp_speedup_gpt"]["met"] is None                      # no AMP figure on the CPU
    assert isinstance(g["finetune_minute_wall_s"]["met"], bool)


def test_goals_rule():
    res = {"synthesis": {"graph_on": {"batch1": {"tokens_per_s": 1300, "first_audio_s": 0.2}}},
           "train": {"sovits": {"amp_speedup": 1.5, "amp_memory_saving": 0.2}}, "finetune_minute": {"wall_s": 100}}
    g = gpu.goals(res)
    assert g["gpt_tokens_per_s_batch1"]["met"] is True and g["first_audio_s"]["met"] is False
    assert g["amp_speedup_sovits"]["met"] is True and g["amp_memory_saving_sovits"]["met"] is False
    assert g["amp_speedup_gpt"] == {"value": None, "target": 1.4, "met": None}
    assert g["finetune_minute_wall_s"]["met"] is True


def _args(tmp_path: Path, **kw) -> argparse.Namespace:
    base = dict(out=str(tmp_path / "out.json"), smoke=True, device="cpu", budget_s=None, parts=None,
                models_dir=str(tmp_path / "models"))
    return argparse.Namespace(**{**base, **kw})


def test_a_failing_part_is_recorded_and_the_rest_still_run(tmp_path):
    # No GPU here: the training part fails at once; the machine part still reports.
    res = gpu.run_all(_args(tmp_path, device="cuda:3", parts="machine,train"))
    assert res["machine"]["status"] == "ok" and res["machine"]["cuda_available"] in (False, True)
    if not res["machine"]["cuda_available"]:
        assert res["train"]["status"] == "error" and "GPU" in res["train"]["error"]
        assert res["train"]["log_tail"]
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["train"]["status"] == res["train"]["status"]


def test_a_part_past_its_limit_is_stopped(tmp_path):
    part = gpu.Part("machine", 0.05, 0.05)
    record = gpu._run_child(part, _args(tmp_path), tmp_path / "models", limit=0.05)
    assert record["status"] == "timeout" and "stopped after" in record["error"]


def test_out_of_budget_parts_are_skipped(tmp_path):
    res = gpu.run_all(_args(tmp_path, parts="machine,train", budget_s=5))
    assert res["machine"]["status"] == "skipped" and "out of time" in res["machine"]["error"]
    assert res["train"]["status"] == "skipped"
