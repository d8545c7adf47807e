"""The text front end's time on a mixed sentence, by the rules and with g2pW, and the memory
g2pW takes:

    python -m core.bench.frontend [--g2pw-dir DIR] [--runs N] [--json]

The real g2pW weights are not downloadable on the build machines, so a full-size g2pW-shaped
model with random weights is written first (core/bench/g2pw_model.py: bert-base-chinese's
12 x 768 encoder, vocabulary 21128, about 620 polyphonic characters and their readings as
labels; about 400 MB, kept in --g2pw-dir when given and reused). Its cost is the real model's:
the same graph size, run the same way; only its answers are meaningless.

Each precision is measured in a fresh process, so that building the model (and the other
precision) does not count in its RAM: "fp32", the exact model, and "int8", its quantized copy
(core/text/g2pw_int8.py; the app uses it only after its gate, which random weights cannot
meaningfully pass, so here it is forced). Keys of each:

| key | what |
| --- | --- |
| rules_ms | median time of `phonemize(sentence)` with g2pW off (the rule path) |
| g2pw_ms | the same with g2pW deciding the polyphones (the model loaded beforehand) |
| g2pw_run_ms | of which the one batched onnxruntime run (`G2PW.predict`) |
| rules_cpu_ms, g2pw_cpu_ms | the CPU time of those (all threads): what a busy machine cannot inflate |
| g2pw_asked | polyphones asked in the sentence (rows of that run) |
| g2pw_load_s | loading the folder (checks, tables, onnxruntime session) |
| g2pw_rss_mb | resident memory the loaded model adds (VmRSS after load and one run, minus before) |
| g2pw_load_peak_mb | peak resident memory while loading, above the start (VmHWM) |

and `quantize_s`, what writing the int8 copy took (once per model file and machine).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

FILES = ("g2pW.onnx", "POLYPHONIC_CHARS.txt", "bopomofo_to_pinyin_wo_tune_dict.json", "vocab.txt")


def build_full_size(folder: Path, log: Callable[[str], None] = lambda s: None) -> Path:
    """The benchmark's g2pW folder (reused when it is already there)."""
    from core.bench.g2pw_model import G2PWShape, build_g2pw_folder, common_polyphones
    from core.text.evaluate import SPEED_SENTENCE

    if all((folder / f).is_file() for f in FILES):
        return folder
    log(f"writing a full-size random g2pW model to {folder} (about 400 MB, a minute)")
    return build_g2pw_folder(folder, common_polyphones(), G2PWShape(), seed=0, vocab_chars=SPEED_SENTENCE)


def _median_ms(fn: Callable[[], Any], runs: int, cpu: dict | None = None, key: str = "") -> float:
    """Median wall time (ms); with `cpu`, also the median CPU time of this process (all its
    threads) as cpu[key]: on a shared machine the wall time counts the neighbours' turns too."""
    fn()
    times, cpu_times = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu_times.append((time.process_time() - c) * 1000)
    if cpu is not None:
        cpu[key] = round(statistics.median(cpu_times), 2)
    return round(statistics.median(times), 2)


def child(folder: Path, runs: int, precision: str) -> dict[str, Any]:
    """The measuring process (see the module docstring)."""
    from core.bench.machine import reset_peak_rss
    from core.bench.memory import _status_mb
    from core.text import g2pw
    from core.text.evaluate import SPEED_SENTENCE
    from core.text.frontend import phonemize

    out: dict[str, Any] = {"sentence": SPEED_SENTENCE, "chars": len(SPEED_SENTENCE)}
    g2pw.use(None)
    out["rules_ms"] = _median_ms(lambda: phonemize(SPEED_SENTENCE), runs, out, "rules_cpu_ms")

    reset_peak_rss()
    before = _status_mb("VmRSS")
    g2pw.use(folder, precision=precision)
    t = time.perf_counter()
    model = g2pw.get()
    out["g2pw_load_s"] = round(time.perf_counter() - t, 2)
    if model is None:
        raise SystemExit(f"the benchmark's g2pW model did not load: {g2pw.status().message}")
    out["g2pw_load_peak_mb"] = round(_status_mb("VmHWM") - before, 1)
    phonemize(SPEED_SENTENCE)
    out["g2pw_rss_mb"] = round(_status_mb("VmRSS") - before, 1)
    out["g2pw_ms"] = _median_ms(lambda: phonemize(SPEED_SENTENCE), runs, out, "g2pw_cpu_ms")

    asked: list = []
    real = model.predict
    model.predict = lambda clauses: asked.append(clauses) or real(clauses)
    phonemize(SPEED_SENTENCE)
    model.predict = real
    out["g2pw_asked"] = sum(len(p) for _, p in asked[0])
    out["g2pw_run_ms"] = _median_ms(lambda: model.predict(asked[0]), runs)
    out["g2pw_threads"] = model.session.get_session_options().intra_op_num_threads
    out["labels"] = len(model.labels)
    out["polyphonic_chars"] = len(model.candidates)
    out["model_mb"] = round((folder / "g2pW.onnx").stat().st_size / 1e6, 1)
    out["precision"] = model.precision
    return out


def run_frontend(runs: int = 30, folder: Path | None = None, log: Callable[[str], None] = lambda s: None) -> dict:
    from core.bench.machine import cpu_name, load_average

    from core.text import g2pw_int8

    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="g2pw-bench-") as tmp:
        where = build_full_size(Path(folder) if folder else Path(tmp) / "G2PWModel", log)
        env = dict(os.environ, VOICEBANK_CACHE=str(Path(tmp) / "cache"))
        os.environ["VOICEBANK_CACHE"] = env["VOICEBANK_CACHE"]
        log("writing the int8 copy")
        t = time.perf_counter()
        g2pw_int8.quantize(where / "g2pW.onnx", g2pw_int8.copy_path(g2pw_int8.identity(where / "g2pW.onnx")))
        res["quantize_s"] = round(time.perf_counter() - t, 1)
        for precision in ("fp32", "int8"):
            log(f"measuring {precision} in a fresh process")
            proc = subprocess.run([sys.executable, "-m", "core.bench.frontend", "--child", str(where), str(runs),
                                   precision], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise SystemExit(f"the front-end benchmark failed:\n{proc.stderr[-2000:]}")
            res[precision] = json.loads(proc.stdout.strip().splitlines()[-1])
    res.update(cpu=cpu_name(), cpus=os.cpu_count(), load=load_average(), runs=runs)
    return res


def format_frontend(r: dict[str, Any]) -> str:
    f = r["fp32"]
    lines = [f"front end, {f['chars']}-character mixed sentence (median of {r['runs']}; {r['cpu']}, "
             f"{r['cpus']} CPUs, load {r['load']}; g2pW model file {f['model_mb']} MB, {f['labels']} labels, "
             f"{f['polyphonic_chars']} characters):",
             f"  rules:       {f['rules_ms']} ms (CPU time {f['rules_cpu_ms']} ms)"]
    for precision in ("fp32", "int8"):
        p = r[precision]
        lines += [f"  g2pW {precision}:  {p['g2pw_ms']} ms, CPU time {p['g2pw_cpu_ms']} ms ({p['g2pw_asked']} "
                  f"polyphones asked in one run of "
                  f"{p['g2pw_run_ms']} ms, {p['g2pw_threads']} threads); +{p['g2pw_rss_mb']} MB resident once "
                  f"loaded (peak +{p['g2pw_load_peak_mb']} MB, {p['g2pw_load_s']} s to load)"]
    lines.append(f"  the int8 copy took {r['quantize_s']} s to write (once per model file and machine)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 4 and argv[0] == "--child":
        print(json.dumps(child(Path(argv[1]), int(argv[2]), argv[3])))
        return 0
    ap = argparse.ArgumentParser(prog="python -m core.bench.frontend", description=__doc__.split("\n")[0])
    ap.add_argument("--g2pw-dir", default=None, help="keep the random g2pW model in this folder (reused when there)")
    ap.add_argument("--runs", type=int, default=30, help="measured runs per figure (default 30)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON (keys: see the module docstring)")
    args = ap.parse_args(argv)
    res = run_frontend(args.runs, Path(args.g2pw_dir) if args.g2pw_dir else None,
                       log=lambda s: print(f"... {s}", file=sys.stderr, flush=True))
    print(json.dumps(res, indent=2, ensure_ascii=False) if args.json else format_frontend(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
