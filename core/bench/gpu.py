"""`python -m core.bench.gpu OUT.json`: every GPU figure of issue 17 in one run, written to one JSON file.

    python -m core.bench.gpu gpu-bench.json                   # on a machine with an NVIDIA GPU
    python -m core.bench.gpu smoke.json --smoke               # tiny settings on the CPU (tests)
    options: --device cuda|cuda:N|cpu   --budget-s 480   --parts synthesis,train   --models-dir DIR

Needs only the repository and its virtual environment: no network, no real weights. The models
are random and full-size (`core.bench.models`), saved once as the app's files (`models` part).

Each part runs in its own process with a time limit, so one that fails, runs out of memory or
hangs records its error (status "error" / "timeout", the last lines of its log) and the rest still
run; the JSON file is rewritten after every part, so a run cut short still leaves what it
measured. The whole run stops starting parts once `--budget-s` (default 480 s: a 15-minute GPU
lease, start included, leaves room to run it again) is spent. Parts, in order:

| key | what | module |
| --- | --- | --- |
| machine | GPU name, capability, memory, driver (nvidia-smi), torch, CUDA, cuDNN, CPU, cores, RAM | here |
| models | save the random full-size models as files (GPT .ckpt, SoVITS .pth, HuBERT, BERT, a reference) | `core.bench.memory.save_models` |
| synthesis | batch 1 and batch 8, CUDA graphs on and off: tokens/s, first audio, RTF | `core.bench.gpu_synthesis` |
| train | both trainers' steps/s and peak memory: AMP on/off, gradient checkpointing on/off | `core.bench.finetune.train_steps` |
| finetune_minute | the wall time of fine-tuning on one minute of speech (features + SoVITS + GPT + files) | `core.bench.finetune.finetune_minute` |
| service | `voicebank serve` on the GPU with 1 and 4 concurrent callers | `core.bench.service_run` |

Every part's entry holds `status` ("ok", "error", "timeout", "skipped"), `seconds`, `limit_s`,
`error` and, on failure, `log_tail`; its figures are next to them (keys: each module's
docstring). Top level: `schema`, `command`, `started_utc`, `total_s`, `config` (device, smoke,
budget_s, parts) and `goals` (issue 17's targets, each {value, target, met}; met is null where the
figure is missing; meaningless under `--smoke`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["main", "PARTS", "goals"]

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = 1


@dataclass(frozen=True)
class Part:
    name: str
    limit_s: float          # on a GPU (H100/H200 class): what the part may take at most
    smoke_limit_s: float    # under --smoke on the CPU (a shared 2-core box included)
    needs_models: bool = False


PARTS = (Part("machine", 60, 120), Part("models", 150, 240), Part("synthesis", 150, 300, True),
         Part("train", 120, 300), Part("finetune_minute", 200, 300, True), Part("service", 150, 300, True))
MIN_START_S = 20.0          # a part is not started with less budget than this left


def goals(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Issue 17's GPU targets against the figures (met: None where the figure is missing)."""
    def get(*path: str) -> Any:
        d: Any = res
        for key in path:
            d = d.get(key) if isinstance(d, dict) else None
        return d

    def goal(value: Any, target: float, at_least: bool) -> dict[str, Any]:
        met = None if not isinstance(value, (int, float)) else (value >= target if at_least else value <= target)
        return {"value": value, "target": target, "met": met}

    out = {"gpt_tokens_per_s_batch1": goal(get("synthesis", "graph_on", "batch1", "tokens_per_s"), 1200, True),
           "first_audio_s": goal(get("synthesis", "graph_on", "batch1", "first_audio_s"), 0.100, False)}
    for stage in ("sovits", "gpt"):
        out[f"amp_speedup_{stage}"] = goal(get("train", stage, "amp_speedup"), 1.4, True)
        out[f"amp_memory_saving_{stage}"] = goal(get("train", stage, "amp_memory_saving"), 0.30, True)
    out["finetune_minute_wall_s"] = goal(get("finetune_minute", "wall_s"), 180.0, False)
    return out


# ---------------------------------------------------------------------------------- the parts (child)


def machine_info(device: str) -> dict[str, Any]:
    import platform

    import torch

    from core.bench.machine import cpu_name

    info: dict[str, Any] = {"device": device, "cpu": cpu_name(), "cpu_cores": os.cpu_count(),
                            "python": platform.python_version(), "torch": torch.__version__,
                            "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
                            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gb"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        info["ram_gb"] = None
    if torch.cuda.is_available():
        index = (torch.device(device).index or 0) if device.startswith("cuda") else 0
        props = torch.cuda.get_device_properties(index)
        info.update(gpu=props.name, gpu_count=torch.cuda.device_count(), capability=list(torch.cuda.get_device_capability(index)),
                    gpu_memory_gb=round(props.total_memory / 2**30, 1), bf16=torch.cuda.is_bf16_supported())
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        info["nvidia_smi"] = smi.stdout.strip() or None
        info["driver"] = smi.stdout.split(",")[1].strip() if smi.returncode == 0 and "," in smi.stdout else None
    except (OSError, subprocess.TimeoutExpired):
        info["nvidia_smi"] = info["driver"] = None
    return info


def run_part(name: str, device: str, smoke: bool, models: Path) -> dict[str, Any]:
    log = lambda s: print(f"... [{name}] {s}", file=sys.stderr, flush=True)  # noqa: E731
    if device == "cpu":  # a shared CPU (the tests' box): threads as the app picks them, not a collapse
        import torch

        from core.runtime.threads import pick_threads

        torch.set_num_threads(pick_threads().threads)
    if name == "machine":
        return machine_info(device)
    if name == "models":
        from core.bench.memory import save_models

        if (models / "gpt.ckpt").exists() and (models / "ref.wav").exists():
            return {"folder": str(models), "reused": True}
        log(f"saving the random {'tiny' if smoke else 'full-size'} models to {models}")
        t = time.perf_counter()
        save_models(models, tiny=smoke)
        return {"folder": str(models), "reused": False, "save_s": round(time.perf_counter() - t, 1)}
    if name == "synthesis":
        from core.bench.gpu_synthesis import gpu_synthesis

        return gpu_synthesis(models, device, smoke, log=log)
    if name == "train":
        from core.bench.finetune import train_steps

        return train_steps(device, smoke, log=log)
    if name == "finetune_minute":
        from core.bench.finetune import finetune_minute

        return finetune_minute(models, device, smoke, log=log)
    if name == "service":
        from core.bench.service_run import service_bench

        return service_bench(models, device, smoke, callers=(4,) if smoke else (1, 4), log=log)
    raise ValueError(f"unknown part {name!r}")


# ---------------------------------------------------------------------------------- the run (parent)


def _run_child(part: Part, args: argparse.Namespace, models: Path, limit: float) -> dict[str, Any]:
    """The part in its own process (own process group: a timeout ends it and what it started)."""
    with tempfile.TemporaryDirectory(prefix="voicebank-gpu-part-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "core.bench.gpu", "--part", part.name, "--device", args.device,
               "--models-dir", str(models), "--result", str(out)] + (["--smoke"] if args.smoke else [])
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
        tail: list[str] = []

        def pump() -> None:
            for line in proc.stderr:
                sys.stderr.write(line)
                tail.append(line.rstrip("\n"))
                del tail[:-40]

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        status = "ok"
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            status = "timeout"
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        reader.join(5)
        record: dict[str, Any] = {"status": status, "seconds": round(time.perf_counter() - t0, 1),
                                  "limit_s": round(limit), "error": None}
        if status == "ok" and proc.returncode == 0 and out.exists():
            data = json.loads(out.read_text())
            if "error" in data:
                record.update(status="error", error=data["error"], log_tail=tail[-15:])
            else:
                record.update(data["result"])
        elif status == "timeout":
            record.update(error=f"stopped after {limit:.0f} s", log_tail=tail[-15:])
        else:
            record.update(status="error", error=f"the part's process exited with status {proc.returncode}",
                          log_tail=tail[-15:])
        return record


def _finite(x: Any) -> Any:
    """NaN and infinities as null: the file stays strict JSON."""
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _write(path: Path, res: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(_finite(res), indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wanted = [p.strip() for p in args.parts.split(",")] if args.parts else [p.name for p in PARTS]
    unknown = set(wanted) - {p.name for p in PARTS}
    if unknown:
        raise SystemExit(f"unknown parts: {', '.join(sorted(unknown))} (parts: {', '.join(p.name for p in PARTS)})")
    if any(p.needs_models and p.name in wanted for p in PARTS) and "models" not in wanted:
        wanted.append("models")      # saved first (or found in --models-dir and reused)
    budget = args.budget_s if args.budget_s is not None else (900.0 if args.smoke else 480.0)
    own_models = args.models_dir is None
    models = Path(args.models_dir) if args.models_dir else Path(tempfile.mkdtemp(prefix="voicebank-gpu-models-"))
    t0 = time.perf_counter()
    res: dict[str, Any] = {"schema": SCHEMA, "command": " ".join([Path(sys.executable).name, "-m", "core.bench.gpu",
                                                                   *sys.argv[1:]]),
                           "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "config": {"device": args.device, "smoke": args.smoke, "budget_s": budget, "parts": wanted}}
    try:
        for part in PARTS:
            if part.name not in wanted:
                continue
            left = budget - (time.perf_counter() - t0)
            if part.needs_models and res.get("models", {}).get("status", "ok") != "ok":
                res[part.name] = {"status": "skipped", "error": "the models were not saved", "seconds": 0}
            elif left < MIN_START_S:
                res[part.name] = {"status": "skipped", "error": f"out of time ({budget:.0f} s budget)", "seconds": 0}
            else:
                limit = min(part.smoke_limit_s if args.smoke else part.limit_s, left)
                print(f"=== {part.name} (limit {limit:.0f} s)", file=sys.stderr, flush=True)
                res[part.name] = _run_child(part, args, models, limit)
            res["total_s"] = round(time.perf_counter() - t0, 1)
            res["goals"] = goals(res)
            _write(out, res)
    finally:
        if own_models:
            shutil.rmtree(models, ignore_errors=True)
    return res


def summary(res: dict[str, Any]) -> str:
    lines = [f"{name}: {res[name].get('status')} in {res[name].get('seconds')} s"
             + (f" ({res[name]['error']})" if res[name].get("error") else "")
             for name in (p.name for p in PARTS) if name in res]
    for name, g in res.get("goals", {}).items():
        lines.append(f"goal {name}: {g['value']} (target {g['target']}): "
                     + {True: "met", False: "NOT met", None: "no figure"}[g["met"]])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.bench.gpu", description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", help="the JSON file to write")
    p.add_argument("--smoke", action="store_true", help="tiny models and workloads (CPU, tests): checks the run, not speed")
    p.add_argument("--device", default=None, help="cuda (default), cuda:N, or cpu (the default with --smoke)")
    p.add_argument("--budget-s", type=float, default=None, help="stop starting parts after this many seconds "
                   "(default 480; 900 with --smoke)")
    p.add_argument("--parts", default=None, help="comma-separated subset of: " + ", ".join(x.name for x in PARTS))
    p.add_argument("--models-dir", default=None, help="keep (or reuse) the saved random models in this folder")
    p.add_argument("--part", help=argparse.SUPPRESS)        # the child: run one part
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.device = args.device or ("cpu" if args.smoke else "cuda")
    if args.part:
        try:
            data = {"result": run_part(args.part, args.device, args.smoke, Path(args.models_dir))}
        except BaseException as exc:  # noqa: BLE001 - recorded for the parent; the other parts still run
            import traceback

            traceback.print_exc()
            data = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
        Path(args.result).write_text(json.dumps(data, default=str))
        return 0
    if not args.out:
        p.error("the JSON file to write is required")
    res = run_all(args)
    print(summary(res))
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
