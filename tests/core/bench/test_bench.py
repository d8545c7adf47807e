"""`voicebank bench --quick --json` runs and reports every documented key."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.bench import synthesis as bench

ROOT = Path(__file__).resolve().parents[3]


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        assert isinstance(d, dict) and part in d, f"missing key {dotted}"
        d = d[part]
    return d


def test_every_json_key_is_documented():
    doc = bench.__doc__
    for key in bench.JSON_KEYS:
        head, _, leaf = key.rpartition(".")
        assert leaf in doc and (not head or head in doc), key


@pytest.fixture(scope="module")
def quick_result() -> dict:
    # The real command line, in a fresh process (thread settings, imports, JSON on stdout).
    out = subprocess.run([sys.executable, "-m", "core.bench", "--quick", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_quick_json_has_every_key(quick_result):
    for key in bench.JSON_KEYS:
        _get(quick_result, key)
    assert quick_result["config"]["quick"] is True and quick_result["config"]["models"] == "reduced"


def test_quick_figures_are_sane(quick_result):
    r = quick_result
    assert r["config"]["prompt_tokens"] == 150  # the standard workload's reference
    assert r["config"]["text_phones"] >= 55
    assert r["audio_s"] == pytest.approx(r["config"]["new_tokens"] / 25, abs=0.05)
    for key in ("e2e_s", "gpt_s", "sovits_s", "sovits_new_length_s", "gpt_tokens_per_s", "first_synthesis_s",
                "peak_rss_mb"):
        assert r[key] > 0, key
    assert r["long"]["sentences"] >= 2 and r["long"]["audio_s"] > 0
    for stage in ("sovits", "gpt"):
        assert r["train"][stage]["fp32"]["steps_per_s"] > 0
        assert r["train"][stage]["amp"] is None  # CPU: no mixed-precision figure
    if r["fast_paths"]["int8_gpt"]:
        assert r["gates"]["int8_agreement"] >= 0.95


def test_cli_parser_options():
    import argparse

    from core.bench import cli as bench_cli

    parser = argparse.ArgumentParser()
    bench_cli.add_bench_parser(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["bench", "--quick", "--json", "--no-int8-gpt", "--threads", "1"])
    assert args.func is bench_cli.cmd_bench and args.quick and args.json and args.no_int8_gpt
    assert args.threads == 1 and args.device == "cpu"


def test_memory_mode_loads_saved_models_in_a_fresh_process(tmp_path):
    """`voicebank bench --memory --quick`: models saved as the app's files, loaded and spoken in a
    child process that reports its peak RSS."""
    from core.bench.memory import MEMORY_KEYS, format_memory, run_memory
    from core.runtime.levers import FastPaths

    res = run_memory(FastPaths(warmup=False), quick=True, folder=tmp_path / "models")
    for key in MEMORY_KEYS:
        assert key in res, key
    assert (tmp_path / "models" / "gpt.ckpt").exists()  # saved once, reusable
    assert res["peak_rss_mb"] >= res["loaded_rss_mb"] > 100
    assert res["audio_s"] > 0 and res["models"] == "reduced"
    assert "peak RSS" in format_memory(res) and "load-time gates" in format_memory(res)
    assert res["fast_paths"]["gate_cache"] == "miss"        # the child measured its gates (fresh cache)
    _saved_files_carry_what_the_originals_carry(tmp_path / "models")


def _keys(config, prefix: str = "") -> set[str]:
    items = config.items() if isinstance(config, dict) else vars(config).items()
    out = set()
    for key, value in items:
        out.add(prefix + key)
        if isinstance(value, dict) or hasattr(value, "__dict__") and not isinstance(value, (str, int, float)):
            out |= _keys(value, prefix + key + ".")
    return out


def _saved_files_carry_what_the_originals_carry(folder: Path) -> None:
    """Issue 18: a GPT-SoVITS port refused the bench's SoVITS files (no model.version, no
    data.n_speakers). Every config field of the original's own files (the reference's tiny files
    were written by the original's code) is in ours, plus what its fine-tunes add; the weights
    are a fine-tuned file's (the layout without enc_q)."""
    from core.engine.checkpoint import load_checkpoint
    from tests.core.engine.conftest import REF

    if not (REF / "s2G_tiny.pth").exists():
        pytest.skip("reference files not found")
    ours, theirs = load_checkpoint(folder / "sovits.pth"), load_checkpoint(REF / "s2G_tiny.pth")
    missing = _keys(theirs["config"]) - _keys(ours["config"])
    assert not missing, missing
    assert ours["config"]["model"]["version"] == "v2" and ours["config"]["data"]["n_speakers"] == 300
    layout = json.loads((REF / "s2G_v2_layout.json").read_text())
    assert set(ours["weight"]) == {k for k in layout if "enc_q" not in k}
    ours, theirs = load_checkpoint(folder / "gpt.ckpt"), load_checkpoint(REF / "s1_tiny.ckpt")
    missing = _keys(theirs["config"]) - _keys(ours["config"])
    assert not missing, missing
    def names(keys):  # --quick has fewer layers: compare the names with the layer index left out
        return {re.sub(r"\.layers\.\d+\.", ".layers.N.", k) for k in keys}
    assert names(ours["weight"]) == names(json.loads((REF / "s1_v2_layout.json").read_text()))


def test_cli_memory_and_switch_options():
    import argparse

    from core.bench import cli as bench_cli

    parser = argparse.ArgumentParser()
    bench_cli.add_bench_parser(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["bench", "--memory", "--memory-dir", "x", "--bf16-kv-cache", "--no-cuda-graph"])
    assert args.memory and args.memory_dir == "x" and args.bf16_kv_cache and args.no_cuda_graph
    args = parser.parse_args(["bench", "--no-lean-int8", "--no-fused-decode", "--no-bf16-kv-cache"])
    assert args.no_lean_int8 and args.no_fused_decode and args.no_bf16_kv_cache and not args.no_int8_gpt
