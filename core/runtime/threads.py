"""How many CPU threads synthesis should use, from what the machine is doing right now.

Why: torch's CPU kernels run OpenMP teams whose threads busy-wait at every barrier. With as many
threads as cores and another process keeping one core busy, one of our threads keeps losing its
core to that process, and every barrier (thousands per decode step) waits for it while the
others spin: on the 2-vCPU dev machine the same 250-token GPT run took 51 s with busy neighbours
and 5.2 s on a quiet box (BENCHMARKS.md). One thread fewer than the busy cores avoids it.

The rule (`threads_for`):

    free    = usable CPUs - CPUs that other processes keep busy
    threads = free rounded to the nearest whole number, at least 1, at most `cap`

`cap` is the number of physical cores among the usable CPUs (torch's own default: a second
hyperthread on a core does not help these kernels). "Usable" is the process's CPU affinity
(`os.sched_getaffinity`, e.g. a container or `taskset` limit), else `os.cpu_count()`. "Busy
elsewhere" is measured by `busy_elsewhere`: /proc/stat's busy time of the whole machine minus this
process's own (/proc/self/stat) over a short sample, so our own spinning threads are never
counted as a neighbour. Where /proc is missing (macOS) the 1-minute load average minus one (this
process) stands in; where neither exists (Windows) the machine is taken as quiet.

`VOICEBANK_THREADS=N` pins the count (no sampling). `FastPaths.for_device("cpu")` calls
`pick_threads` when a voice is loaded; the pipeline then sets torch's intra-op threads to it.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

__all__ = ["ThreadChoice", "threads_for", "usable_cpus", "physical_cores", "busy_elsewhere", "pick_threads"]

ENV_PIN = "VOICEBANK_THREADS"
SAMPLE_S = 0.1     # long enough for ~20 scheduler ticks on 2 CPUs (USER_HZ 100), short next to a load


@dataclass(frozen=True)
class ThreadChoice:
    threads: int                    # what synthesis uses
    cpus: int                       # usable CPUs (affinity)
    cap: int                        # the most it would use: physical cores among them
    busy_elsewhere: float | None    # CPUs other processes kept busy (None: not measured)
    source: str                     # how `busy_elsewhere` was known: "sample" | "loadavg" | "none" | "pinned"

    def summary(self) -> str:
        if self.source == "pinned":
            return f"{self.threads} threads (pinned by {ENV_PIN})"
        busy = "unknown" if self.busy_elsewhere is None else f"{self.busy_elsewhere:.2f}"
        return (f"{self.threads} threads: {self.cpus} usable CPUs ({self.cap} physical cores), "
                f"{busy} busy with other processes ({self.source})")


def threads_for(cpus: int, cap: int, busy: float | None) -> int:
    """The rule: free CPUs (usable minus busy elsewhere) rounded, within [1, cap]."""
    cap = max(1, min(int(cap), int(cpus)))
    if busy is None or not math.isfinite(busy):
        return cap
    free = cpus - max(0.0, float(busy))
    return max(1, min(cap, math.floor(free + 0.5)))


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):      # not on Linux
        return max(1, os.cpu_count() or 1)


def physical_cores(cpuinfo: str | None = None, usable: int | None = None) -> int:
    """Physical cores among the usable CPUs: distinct (physical id, core id) pairs of
    /proc/cpuinfo, scaled to the share of CPUs this process may use; the usable count elsewhere."""
    usable = usable or usable_cpus()
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="ignore")
        except OSError:
            return usable
    logical, cores, phys = 0, set(), "0"
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            logical += 1
        elif key == "physical id":
            phys = value.strip()
        elif key == "core id":
            cores.add((phys, value.strip()))
    if not logical or not cores:
        return usable
    per_core = max(1, round(logical / len(cores)))      # hyperthreads per core
    return max(1, min(usable, math.ceil(usable / per_core)))


def _machine_times(stat: str) -> tuple[int, int, int]:
    """(busy, total) jiffies of all CPUs together, and the number of CPUs, from /proc/stat."""
    busy = total = n = 0
    for line in stat.splitlines():
        if line.startswith("cpu "):
            v = [int(x) for x in line.split()[1:]]
            v += [0] * (8 - len(v))
            # user nice system idle iowait irq softirq steal (guest is inside user already);
            # steal is time the hypervisor gave to another VM: as unavailable as a neighbour.
            idle = v[3] + v[4]
            busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
            total = busy + idle
        elif line.startswith("cpu"):
            n += 1
    return busy, total, n


def _own_jiffies(self_stat: str) -> int:
    """utime + stime of this process, all its threads (/proc/self/stat fields 14 and 15)."""
    fields = self_stat.rsplit(")", 1)[1].split()   # the name in parentheses may hold spaces
    return int(fields[11]) + int(fields[12])


def busy_from_samples(stat0: str, self0: str, stat1: str, self1: str) -> float | None:
    """CPUs kept busy by other processes between two readings of /proc/stat and /proc/self/stat."""
    b0, t0, n = _machine_times(stat0)
    b1, t1, _ = _machine_times(stat1)
    if t1 <= t0 or n == 0:
        return None
    others = (b1 - b0) - (_own_jiffies(self1) - _own_jiffies(self0))
    return round(max(0.0, others / (t1 - t0) * n), 2)


def busy_elsewhere(interval: float = SAMPLE_S) -> tuple[float | None, str]:
    """(CPUs busy with other processes, how it was known) right now."""
    stat, own = Path("/proc/stat"), Path("/proc/self/stat")
    try:
        s0, o0 = stat.read_text(), own.read_text()
        time.sleep(interval)
        s1, o1 = stat.read_text(), own.read_text()
        value = busy_from_samples(s0, o0, s1, o1)
        if value is not None:
            return value, "sample"
    except (OSError, ValueError, IndexError):
        pass
    try:  # the load average counts this process too (it is running now): take one off
        return round(max(0.0, os.getloadavg()[0] - 1.0), 2), "loadavg"
    except (AttributeError, OSError):
        return None, "none"


def pick_threads(environ: Mapping[str, str] | None = None, interval: float = SAMPLE_S) -> ThreadChoice:
    """The thread count for synthesis now: `VOICEBANK_THREADS` if set, else the rule above."""
    env = os.environ if environ is None else environ
    cpus = usable_cpus()
    cap = physical_cores(usable=cpus)
    pinned = (env.get(ENV_PIN) or "").strip()
    if pinned.isdigit() and int(pinned) > 0:
        return ThreadChoice(int(pinned), cpus, cap, None, "pinned")
    busy, source = busy_elsewhere(interval)
    return ThreadChoice(threads_for(cpus, cap, busy), cpus, cap, busy, source)
