"""`voicebank bench` arguments, kept apart from core/bench/synthesis.py so that building the
command line (and so starting the GUI) never imports torch. `python -m core.bench` runs `main`."""
from __future__ import annotations

import json
import sys

# FastPaths switches that get a --no-<lever> flag (the names of its fields)
LEVERS = ("int8_gpt", "lean_int8", "fused_decode", "scripted_decode", "bf16_kv_cache", "fold_weight_norm",
          "chunked_decoder", "bf16_decoder", "bf16_bert", "cuda_graph", "overlap", "warmup")


def add_bench_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="measure synthesis and fine-tuning speed (random full-size models)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--json", action="store_true", help="print the result as JSON (keys: see core/bench/synthesis.py)")
    p.add_argument("--quick", action="store_true", help="reduced-size models and tiny workloads (CI)")
    p.add_argument("--runs", type=int, default=None, help="measured runs per figure (default 3, quick 1)")
    p.add_argument("--no-train", action="store_true", help="skip the fine-tuning figures")
    p.add_argument("--plain", action="store_true", help="the fp32 reference path (every fast path off)")
    for name in LEVERS:
        flag = name.replace("_", "-")
        p.add_argument(f"--no-{flag}", action="store_true", help=f"turn the {flag} fast path off")
    p.add_argument("--bf16-kv-cache", action="store_true",
                   help="GPT key/value cache in bf16 (the CPU default already; kept for old command lines)")
    p.add_argument("--memory", action="store_true",
                   help="peak RAM instead of speed: save the random models, then load them from the "
                        "files and synthesise in a fresh process (keys: see core/bench/memory.py)")
    p.add_argument("--memory-dir", default=None,
                   help="with --memory: keep the saved models in this folder (reused when present)")
    p.add_argument("--avx2", action="store_true",
                   help="with --memory: the fresh process runs as an AVX2-only CPU would (ISA capped to "
                        "AVX2, bf16 levers off; what took effect is printed)")
    p.add_argument("--neighbour", action="store_true",
                   help="synthesis with one busy neighbour process next to the quiet figure: fixed "
                        "threads vs the count picked from the load (keys: see core/bench/neighbour.py)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default on the CPU: picked from the load at start, "
                        "core/runtime/threads.py)")
    p.add_argument("--int8-reduce-range", choices=("auto", "on", "off"), default="auto",
                   help="int8 GPT inputs in 7 bits (on), 8 bits (off), or as this CPU's int8 kernel "
                        "needs (auto: 7 bits where it adds in a saturating int16, e.g. AVX2)")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    from core.bench.synthesis import format_result, run_bench
    from core.engine.features import SynthesisError
    from core.runtime.device import pick_device
    from core.runtime.levers import FastPaths

    try:
        dev = pick_device(args.device).device
    except SynthesisError as exc:
        print(exc, file=sys.stderr)
        return 2
    fast = FastPaths.plain() if args.plain else FastPaths.for_device(dev)
    for name in LEVERS:
        if getattr(args, f"no_{name}", False):
            setattr(fast, name, False)
    if getattr(args, "bf16_kv_cache", False):
        fast.bf16_kv_cache = True
    if args.threads:
        fast.threads = args.threads
    choice = getattr(args, "int8_reduce_range", "auto")
    if choice != "auto":   # read by Int8Linear (and the --memory child, which inherits it)
        import os

        os.environ["VOICEBANK_INT8_REDUCE_RANGE"] = "1" if choice == "on" else "0"
    log = lambda s: print(f"... {s}", file=sys.stderr, flush=True)  # noqa: E731 (stdout: the result)
    if getattr(args, "memory", False):
        from pathlib import Path

        from core.bench.memory import format_memory, run_memory

        if dev.type != "cpu":
            print("--memory measures CPU RAM; run it with --device cpu.", file=sys.stderr)
            return 2
        res = run_memory(fast, quick=args.quick, folder=Path(args.memory_dir) if args.memory_dir else None,
                         log=log, avx2=getattr(args, "avx2", False))
        print(json.dumps(res, indent=2, ensure_ascii=False) if args.json else format_memory(res))
        return 0 if res["isa"]["ok"] else 1
    if getattr(args, "neighbour", False):
        from core.bench.neighbour import format_neighbour, run_neighbour

        if dev.type != "cpu":
            print("--neighbour measures CPU threads; run it with --device cpu.", file=sys.stderr)
            return 2
        res = run_neighbour(fast, quick=args.quick, runs=args.runs, log=log)
        print(json.dumps(res, indent=2, ensure_ascii=False) if args.json else format_neighbour(res))
        return 0
    res = run_bench(str(dev), quick=args.quick, runs=args.runs, train=not args.no_train, fast=fast, log=log)
    print(json.dumps(res, indent=2, ensure_ascii=False) if args.json else format_result(res))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m core.bench [options]`: the same as `voicebank bench [options]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="voicebank")
    add_bench_parser(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
