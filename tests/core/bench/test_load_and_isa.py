"""`voicebank bench --neighbour` (synthesis next to a busy neighbour process) and
`voicebank bench --memory --avx2` (a fresh process on the AVX2 path, the caps checked in effect)."""
from __future__ import annotations

import argparse

import pytest

from core.bench import neighbour
from core.bench.memory import AVX2_ENV, MEMORY_KEYS, format_memory, run_memory


def test_cli_flags():
    from core.bench import cli as bench_cli

    parser = argparse.ArgumentParser()
    bench_cli.add_bench_parser(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["bench", "--memory", "--avx2", "--json"])
    assert args.memory and args.avx2 and not args.neighbour
    args = parser.parse_args(["bench", "--neighbour", "--runs", "2"])
    assert args.neighbour and args.runs == 2


def test_neighbour_keys_are_documented():
    for key in neighbour.NEIGHBOUR_KEYS:
        assert f"| {key}" in neighbour.__doc__ or key in neighbour.__doc__, key


def test_busy_neighbour_runs_while_the_block_does_and_then_ends():
    with neighbour.busy_neighbour(1, settle_s=0.0) as procs:
        assert len(procs) == 1 and procs[0].poll() is None
    assert procs[0].poll() is not None


def test_format_neighbour():
    row = {"threads": 2, "e2e_s": 3.0, "rtf": 0.3, "gpt_s": 1.5, "sovits_s": 1.0, "tokens_per_s": 160.0,
           "runs": [3.0], "load_before": 0.5}
    r = {"machine": {"cpu": "x", "cores": 2, "torch": "2", "load_before": 0.1, "load_after": 0.2},
         "config": {"new_tokens": 250, "runs": 1}, "quiet": row, "quiet_fixed": None,
         "neighbour_fixed": {**row, "e2e_s": 30.0}, "neighbour_picked": {**row, "threads": 1, "e2e_s": 5.0},
         "slowdown_fixed": 10.0, "slowdown_picked": 1.67,
         "choice_neighbour": {"threads": 1, "busy_elsewhere": 1.0}}
    text = neighbour.format_neighbour(r)
    assert "busy neighbour, fixed threads" in text and "fixed 10.0x, picked 1.67x" in text
    assert "quiet, fixed" not in text


@pytest.fixture(scope="module")
def avx2_result(tmp_path_factory) -> dict:
    from core.runtime.levers import FastPaths

    return run_memory(FastPaths(warmup=False), quick=True, folder=tmp_path_factory.mktemp("models"), avx2=True)


def test_memory_avx2_child_runs_capped_with_the_bf16_levers_off(avx2_result):
    from core.runtime.gates import cpu_flags

    r = avx2_result
    for key in MEMORY_KEYS:
        assert key in r, key
    isa = r["isa"]
    assert isa["asked"] == "avx2" and isa["env"] == AVX2_ENV and r["target_mb"] == 2560
    assert isa["bf16_on"] == []
    assert not (r["fast_paths"]["bf16_bert"] or r["fast_paths"]["bf16_decoder"] or r["fast_paths"]["bf16_kv_cache"])
    assert "forced: ATEN_CPU_CAPABILITY=avx2" in isa["cpu"] and "no native bf16" in isa["cpu"]
    if "avx2" in cpu_flags():   # the caps took: torch and oneDNN both say AVX2
        assert isa["torch"] == "AVX2" and "AVX2" in isa["onednn"] and isa["ok"] is True
    assert set(r["model_mb"]) == {"gpt", "sovits", "hubert", "bert"} and all(v > 0 for v in r["model_mb"].values())
    text = format_memory(r)
    assert "ISA (avx2, caps in effect)" in text or not isa["ok"]
    assert "weights (MB)" in text
