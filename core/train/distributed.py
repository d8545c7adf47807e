"""Training on several GPUs: torch.distributed (DistributedDataParallel) under torchrun.

Rank side: `Dist` is what one training process knows about the others (its rank, how many
there are, its device) and the few collectives the training loop needs. A single process uses
`SOLO`, whose methods do no communication, so the loop has one code path for both.

Parent side: `launch` runs `python -m torch.distributed.run --standalone --nproc_per_node N -m
core.train.rank_main JOB_DIR` and relays rank 0's progress. Protocol, all through the job folder:
  launch.json          what to train (written by the parent)
  cancel               created by the parent to stop; every rank checks it each step and they
                       agree with an all_reduce, so all stop at the same step
  ranks/rank<r>.json   how a rank ended: done | cancelled | oom | error (with the message)
  ranks/torchrun.log   stderr of torchrun and the ranks (its tail explains a crash)
Rank 0 alone writes checkpoints and progress; the parent exports the voice from them. A rank
that dies makes torchrun stop the others; the build fails with a message, and a new build
resumes from the last checkpoint. Backend: nccl on CUDA, gloo on the CPU.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from .errors import BuildCancelled, BuildError

EVENT_PREFIX = "@voicebank-event "
CANCEL_FILE = "cancel"
RANKS_DIR = "ranks"
LAUNCH_FILE = "launch.json"
CANCEL_GRACE_S = 300.0      # a cancelled run that has not stopped by then is terminated


# ---------------------------------------------------------------------------------- rank side


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def any(self, flag: bool) -> bool:
        """True on every rank if it is true on any rank (cancel is agreed this way)."""
        if self.world == 1:
            return bool(flag)
        import torch.distributed as tdist

        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def min_int(self, n: int) -> int:
        if self.world == 1:
            return int(n)
        import torch.distributed as tdist

        t = torch.tensor([float(n)], device=self.device)
        tdist.all_reduce(t, op=tdist.ReduceOp.MIN)
        return int(t.item())

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """The average over ranks (the reported loss is that of all the batches of the step)."""
        if self.world == 1 or not values:
            return values
        import torch.distributed as tdist

        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
        return {k: float(v) / self.world for k, v in zip(keys, t.tolist())}

    def wrap(self, module: torch.nn.Module, find_unused: bool = False) -> torch.nn.Module:
        """The module under DistributedDataParallel (gradients averaged over ranks in backward)."""
        if self.world == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused,
                                       broadcast_buffers=False)

    def no_sync(self, wrapped: torch.nn.Module) -> contextlib.AbstractContextManager:
        """Accumulate gradients locally (all but the last micro-batch of a step)."""
        if self.world == 1 or not hasattr(wrapped, "no_sync"):
            return contextlib.nullcontext()
        return wrapped.no_sync()


SOLO = Dist()


def shard(batches: list, rank: int, world: int) -> list:
    """This rank's share of an epoch's batches, as DistributedSampler does: the list is padded
    by repeating from its start to a multiple of `world`, so every rank does the same number of
    steps (DDP needs that), then rank r takes batches r, r + world, ..."""
    if world == 1 or not batches:
        return batches
    n = math.ceil(len(batches) / world) * world
    padded = (batches * math.ceil(n / len(batches)))[:n]
    return padded[rank::world]


class RankOutOfMemory(Exception):
    """A rank ran out of GPU memory. Under DDP the others are inside a collective and cannot be
    told to retry, so the whole run is restarted (from the last checkpoint) with a smaller batch."""

    def __init__(self, stage: str, batch_size: int) -> None:
        super().__init__(f"{stage}: out of memory; retry with batch size {batch_size}")
        self.stage, self.batch_size = stage, batch_size


# ---------------------------------------------------------------------------------- policy


def can_launch() -> bool:
    """torchrun needs a Python that runs `-m torch.distributed.run`: not a frozen app binary."""
    return not getattr(sys, "frozen", False)


def process_count(gpus: int | None, device: str, cuda_count: int, launchable: bool = True) -> int:
    """How many training processes: `gpus` if given; else every visible GPU when there are
    several and the device is auto/cuda; else 1 (the single-process path). A given count on the
    CPU runs that many CPU processes (gloo): useful to test, not faster."""
    if gpus is not None:
        if gpus < 1:
            raise BuildError("The number of GPUs must be 1 or more.")
        if gpus > 1 and not launchable:
            raise BuildError("Training on several GPUs is not available in the installed app yet; "
                             "build with one GPU (gpus 1), or run `voicebank build` from a Python "
                             "installation.")
        if device.startswith("cuda:") and gpus > 1:
            raise BuildError(f"Device {device} names one GPU; use device cuda to train on {gpus}.")
        if device in ("auto", "cuda") and gpus > 1 and gpus > cuda_count:
            if device == "auto" and cuda_count == 0:
                raise BuildError(f"No NVIDIA GPU was found, so {gpus} GPUs cannot be used. Build "
                                 "with one GPU setting (gpus 1), or device cpu.")
            raise BuildError(f"{gpus} GPUs were asked for but {cuda_count} are visible. Use "
                             f"gpus {max(1, cuda_count)} or fewer.")
        return gpus
    if device in ("auto", "cuda") and cuda_count > 1 and launchable:
        return cuda_count
    return 1


def backend_for(device_type: str) -> str:
    # NCCL does not exist on Windows: gloo there, also for CUDA tensors.
    return "nccl" if device_type == "cuda" and sys.platform != "win32" else "gloo"


# ---------------------------------------------------------------------------------- parent side


@dataclass
class RankOutcome:
    kind: str            # done | cancelled | oom | error
    message: str = ""
    stage: str = ""
    batch_size: int = 0


def write_outcome(job_dir: Path, rank: int, outcome: RankOutcome) -> None:
    folder = Path(job_dir) / RANKS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"rank{rank}.json.part"
    tmp.write_text(json.dumps(outcome.__dict__), encoding="utf-8")
    os.replace(tmp, folder / f"rank{rank}.json")


def read_outcomes(job_dir: Path) -> dict[int, RankOutcome]:
    out = {}
    for path in sorted((Path(job_dir) / RANKS_DIR).glob("rank*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            out[int(path.stem[4:])] = RankOutcome(**data)
        except (OSError, ValueError, TypeError):
            continue
    return out


def emit(event: dict[str, Any]) -> None:
    """Rank 0 -> parent: one line on stdout (torchrun passes its workers' stdout through)."""
    print(EVENT_PREFIX + json.dumps(event), flush=True)


def _project_root() -> Path:
    import core

    return Path(core.__file__).resolve().parent.parent


def torchrun_command(n: int, job_dir: Path) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
            "-m", "core.train.rank_main", str(job_dir)]


def _die_with_parent() -> None:
    """Linux: torchrun gets SIGTERM when the build's thread dies (say the worker was killed after
    a cancel timed out), and stops its ranks, so no training is left running on the GPUs."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def root_cause(log_text: str) -> tuple[int, str] | None:
    """(rank, exit code) of the first failure in torchrun's summary, if it printed one."""
    import re

    _, found, rest = log_text.partition("Root Cause")
    if not found:
        return None
    rank = re.search(r"rank\s*:\s*(\d+)", rest)
    code = re.search(r"exitcode\s*:\s*(-?\d+)", rest)
    return (int(rank.group(1)), code.group(1) if code else "?") if rank else None


def _tail(text: str, lines: int = 8) -> str:
    keep = [ln for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= set("=-")]
    return "\n".join(keep[-lines:])


def launch(n: int, job_dir: Path, spec: dict[str, Any],
           progress: Callable[[dict[str, Any]], None] | None = None,
           cancel: Callable[[], bool] | None = None) -> RankOutcome:
    """Run one torchrun launch of `n` ranks for `spec`; returns rank 0's outcome when all ended
    well (done, or cancelled), a RankOutcome "oom" when a rank ran out of memory (the caller
    retries with a smaller batch). Raises BuildCancelled / BuildError otherwise."""
    job_dir = Path(job_dir)
    ranks = job_dir / RANKS_DIR
    ranks.mkdir(parents=True, exist_ok=True)
    for old in ranks.glob("rank*.json"):
        old.unlink()
    (job_dir / CANCEL_FILE).unlink(missing_ok=True)
    tmp = job_dir / (LAUNCH_FILE + ".part")
    tmp.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    os.replace(tmp, job_dir / LAUNCH_FILE)

    env = dict(os.environ)
    root = str(_project_root())
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    # Each rank gets its share of the CPU cores (torchrun would set 1 and warn).
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n)))
    log_path = ranks / "torchrun.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(torchrun_command(n, job_dir), cwd=root, env=env, stdout=subprocess.PIPE,
                                stderr=log, stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        cancelled_at: float | None = None
        try:
            while True:
                try:
                    line = lines.get(timeout=0.2)
                except queue.Empty:
                    line = ""
                if line is None:
                    break
                if line.startswith(EVENT_PREFIX) and progress is not None:
                    try:
                        progress(json.loads(line[len(EVENT_PREFIX):]))
                    except ValueError:
                        pass
                elif line.strip():
                    log.write(line)
                if cancelled_at is None and cancel is not None and cancel():
                    (job_dir / CANCEL_FILE).write_text("cancel\n", encoding="utf-8")
                    cancelled_at = time.monotonic()
                elif cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                    proc.terminate()    # torchrun stops its workers; the last checkpoint stays
            rc = proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    outcomes = read_outcomes(job_dir)
    for outcome in outcomes.values():
        if outcome.kind == "oom":
            return outcome
    errors = [o for o in outcomes.values() if o.kind == "error"]
    if errors:
        raise BuildError(errors[0].message)
    main = outcomes.get(0)
    if rc == 0 and main is not None and main.kind == "cancelled":
        raise BuildCancelled(main.message)
    if rc == 0 and main is not None and main.kind == "done" and len(outcomes) == n:
        return main
    if cancelled_at is not None:
        raise BuildCancelled("The build was stopped; build again to go on from the last checkpoint.")
    text = _read(log_path)
    cause = root_cause(text)
    if cause:
        which = f"rank {cause[0]}, exit code {cause[1]}"
    else:
        missing = sorted(set(range(n)) - set(outcomes))
        which = f"rank {missing[0]}, exit status {rc}" if missing else f"exit status {rc}"
    tail = "" if cause else _tail(text)    # torchrun's own summary is in the log
    raise BuildError(
        f"One of the {n} training processes ({which}) stopped unexpectedly, so the build stopped. "
        f"The work up to the last checkpoint is kept: build again to go on. If it happens again, "
        f"build with one GPU (gpus 1). Details are in {log_path}" + (f":\n{tail}" if tail else "."))
