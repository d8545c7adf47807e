"""`voicebank bench --neighbour`: synthesis speed with one busy neighbour process next to the quiet figure.

Why: the CPU kernels' OpenMP threads busy-wait at every barrier, so with as many threads as cores
and another process on one of them, synthesis collapses (BENCHMARKS.md: 51 s against 5.2 s for
the same GPT run). The app now picks its thread count at load from the load it sees
(`core.runtime.threads`); this bench shows what that buys. One pipeline (full-size random models,
the CPU fast paths) speaks the standard workload (250 new tokens = 10 s of speech) in three
conditions, each the median of `runs` after one unmeasured run:

| key | meaning |
| --- | --- |
| quiet | no neighbour, the thread count `pick_threads()` chooses on the quiet machine |
| quiet_fixed | no neighbour, `fixed_threads`; measured only where the pick differs (other work on the box), else null |
| neighbour_fixed | one busy neighbour process (`busy_neighbour`: a Python loop keeping one CPU busy), `fixed_threads` (all physical cores: what torch does by default, and the app did before) |
| neighbour_picked | the same neighbour, the thread count `pick_threads()` chooses while it runs |
| each of them | {threads, e2e_s, rtf, gpt_s, sovits_s, tokens_per_s (GPT decode, whole stage), runs: [e2e_s, ...], load_before} |
| choice_quiet / choice_neighbour | `ThreadChoice` of each pick: threads, cpus, cap, busy_elsewhere (CPUs other processes kept busy in a 0.1 s sample), source |
| fixed_threads | the thread count of neighbour_fixed |
| slowdown_fixed / slowdown_picked | e2e_s under the neighbour divided by quiet's |
| machine | cpu, cores, torch, load_before / load_after (1-minute load average) |
| config | quick, runs, new_tokens |

Other work on the machine counts too (pick_threads sees it; a shared box's figures move between
runs): the load average before each condition is recorded.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["busy_neighbour", "run_neighbour", "format_neighbour", "NEIGHBOUR_KEYS"]

NEIGHBOUR_KEYS = ("quiet", "quiet_fixed", "neighbour_fixed", "neighbour_picked", "choice_quiet", "choice_neighbour",
                  "fixed_threads", "slowdown_fixed", "slowdown_picked", "machine", "config")
BURN = "while True:\n    pass\n"     # one CPU, all the time: the worst kind of neighbour for a spinning team


@contextlib.contextmanager
def busy_neighbour(processes: int = 1, settle_s: float = 0.5) -> Iterator[list[subprocess.Popen]]:
    """`processes` other processes, each keeping one CPU busy until the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(processes)]
    try:
        time.sleep(settle_s)  # let them start (the interpreter's own start-up is not the load)
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def run_neighbour(fast=None, quick: bool = False, runs: int | None = None, seed: int = 0,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure the three conditions (module docstring); returns the JSON-able result."""
    import torch

    from core.bench.machine import cpu_name, load_average, median, timed
    from core.bench.models import PROMPT_TEXT, REF_SECONDS, SR, STANDARD_TEXT, build_models, reference_wav
    from core.engine.features import trim_bert
    from core.runtime.levers import FastPaths
    from core.runtime.pipeline import SynthesisOptions, Synthesizer
    from core.runtime.threads import pick_threads

    say = log or (lambda s: None)
    runs = runs or (1 if quick else 3)
    new_tokens = 12 if quick else 250
    dev = torch.device("cpu")
    res: dict[str, Any] = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
                                       "load_before": load_average()},
                           "config": {"quick": quick, "runs": runs, "new_tokens": new_tokens}}
    with tempfile.TemporaryDirectory(prefix="voicebank-neighbour-") as tmp:
        say("building models")
        gpt, sovits, hubert, bert = build_models(Path(tmp), quick, seed)
        synth = Synthesizer.from_models(gpt, sovits, hubert, trim_bert(bert), device="cpu",
                                        fast=fast if fast is not None else FastPaths.for_device(dev))
        synth.set_reference(reference_wav(Path(tmp) / "ref.wav", REF_SECONDS, seed), PROMPT_TEXT)
        opts = SynthesisOptions(seed=1, pause_s=0.0, max_new_tokens=new_tokens, max_sentence_chars=100)

        def condition(threads: int) -> dict[str, Any]:
            torch.set_num_threads(threads)
            row: dict[str, Any] = {"threads": torch.get_num_threads(), "load_before": load_average()}
            synth.synthesize(STANDARD_TEXT, opts)          # unmeasured: the thread pool resizes
            times, stages, audio_s = [], [], 0.0
            for _ in range(runs):
                t, audio = timed(lambda: synth.synthesize(STANDARD_TEXT, opts), dev)
                times.append(t)
                stages.append(dict(synth.timings))
                audio_s = len(audio) / SR
            mid = stages[times.index(sorted(times)[len(times) // 2])]
            row.update(e2e_s=round(median(times), 3), rtf=round(median(times) / max(audio_s, 1e-9), 4),
                       gpt_s=round(mid["gpt"], 3), sovits_s=round(mid["sovits"], 3),
                       tokens_per_s=round(mid["tokens"] / max(mid["gpt"], 1e-9), 1),
                       runs=[round(t, 3) for t in times])
            return row

        choice = pick_threads()
        res["choice_quiet"] = asdict(choice)
        say(f"quiet: {choice.summary()}")
        res["quiet"] = condition(choice.threads)
        fixed = choice.cap
        res["fixed_threads"] = fixed
        res["quiet_fixed"] = condition(fixed) if fixed != choice.threads else None
        with busy_neighbour(1):
            say(f"one busy neighbour, {fixed} threads (fixed)")
            res["neighbour_fixed"] = condition(fixed)
            under = pick_threads()
            res["choice_neighbour"] = asdict(under)
            say(f"one busy neighbour: {under.summary()}")
            res["neighbour_picked"] = condition(under.threads)
        torch.set_num_threads(choice.threads)
    quiet = res["quiet"]["e2e_s"]
    res["slowdown_fixed"] = round(res["neighbour_fixed"]["e2e_s"] / quiet, 2)
    res["slowdown_picked"] = round(res["neighbour_picked"]["e2e_s"] / quiet, 2)
    res["machine"]["load_after"] = load_average()
    return res


def format_neighbour(r: dict[str, Any]) -> str:
    m, c = r["machine"], r["config"]
    lines = [f"voicebank bench --neighbour ({m['cpu']}, {m['cores']} CPUs, torch {m['torch']}; load "
             f"{m['load_before']} -> {m['load_after']}); {c['new_tokens']} new tokens, medians of {c['runs']}"]
    for key, label in (("quiet", "quiet, picked threads"), ("quiet_fixed", "quiet, fixed threads"),
                       ("neighbour_fixed", "busy neighbour, fixed threads"),
                       ("neighbour_picked", "busy neighbour, picked threads")):
        row = r[key]
        if row is None:
            continue
        lines.append(f"  {label:32s} {row['threads']} threads: {row['e2e_s']} s (RTF {row['rtf']}; GPT "
                     f"{row['gpt_s']} s, {row['tokens_per_s']} tokens/s; SoVITS {row['sovits_s']} s; load "
                     f"{row['load_before']})")
    lines.append(f"  slowdown under the neighbour: fixed {r['slowdown_fixed']}x, picked {r['slowdown_picked']}x")
    lines.append(f"  picked with the neighbour: {r['choice_neighbour']['threads']} threads "
                 f"({r['choice_neighbour']['busy_elsewhere']} CPUs busy elsewhere)")
    return "\n".join(lines)
