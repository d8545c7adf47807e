"""The thread-count rule under load (core/runtime/threads.py), on made-up inputs: no timings."""
from __future__ import annotations

import pytest

from core.runtime import threads
from core.runtime.threads import busy_from_samples, physical_cores, pick_threads, threads_for


@pytest.mark.parametrize("cpus, cap, busy, want", [
    (2, 2, 0.0, 2),      # quiet 2-core box: both cores
    (2, 2, 0.3, 2),      # a little background work does not cost a thread
    (2, 2, 1.0, 1),      # one busy neighbour: one thread, never two teams fighting for a core
    (2, 2, 0.6, 1),      # more than half a core taken: rounds down
    (2, 2, 2.0, 1),      # fully busy: still at least one
    (2, 2, 5.0, 1),      # more busy than there are cores (a VM's steal, other CPUs' load)
    (8, 8, 3.0, 5),
    (16, 8, 4.0, 8),     # hyperthreads: 12 free logical CPUs, at most one thread per physical core
    (16, 8, 12.0, 4),
    (4, 4, None, 4),     # not measurable (Windows): all physical cores, as torch does
    (1, 1, 0.9, 1),
])
def test_rule(cpus, cap, busy, want):
    assert threads_for(cpus, cap, busy) == want


def test_rule_never_exceeds_the_usable_cpus():
    assert threads_for(2, 8, 0.0) == 2


def _stat(busy: int, idle: int, cpus: int = 2) -> str:
    # user nice system idle iowait irq softirq steal guest guest_nice
    lines = [f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0"]
    lines += [f"cpu{i} 0 0 0 0 0 0 0 0 0 0" for i in range(cpus)]
    return "\n".join(lines + ["intr 1 2 3", "ctxt 5"])


def _self(utime: int, stime: int) -> str:
    # pid (comm) state ppid ... field 14 utime, 15 stime; a name with spaces and parentheses
    return f"123 (py (x) y) R 1 1 1 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1"


def test_busy_elsewhere_leaves_out_this_process():
    # 2 CPUs over 100 ticks of each: 150 busy ticks in all, 40 of them ours -> 110 of 200 elsewhere
    before = (_stat(1000, 5000), _self(10, 5))
    after = (_stat(1150, 5050), _self(40, 15))
    assert busy_from_samples(before[0], before[1], after[0], after[1]) == pytest.approx(1.1)


def test_busy_elsewhere_counts_steal_as_busy():
    s0 = "cpu  0 0 0 1000 0 0 0 0\ncpu0 0\ncpu1 0"
    s1 = "cpu  0 0 0 1100 0 0 0 100\ncpu0 0\ncpu1 0"   # half of the time stolen by the hypervisor
    assert busy_from_samples(s0, _self(0, 0), s1, _self(0, 0)) == pytest.approx(1.0)


def test_busy_elsewhere_no_time_passed_is_unknown():
    assert busy_from_samples(_stat(1, 1), _self(0, 0), _stat(1, 1), _self(0, 0)) is None


def test_own_spinning_threads_are_not_a_neighbour():
    # all the busy time is ours (our OpenMP team spinning): nothing elsewhere
    assert busy_from_samples(_stat(0, 0), _self(0, 0), _stat(200, 0), _self(150, 50)) == 0.0


def test_physical_cores_from_cpuinfo():
    ht = "".join(f"processor : {i}\nphysical id : 0\ncore id : {i % 4}\n\n" for i in range(8))
    assert physical_cores(ht, usable=8) == 4
    assert physical_cores(ht, usable=2) == 1       # a 2-CPU affinity on a hyperthreaded box
    plain = "".join(f"processor : {i}\nphysical id : 0\ncore id : {i}\n\n" for i in range(2))
    assert physical_cores(plain, usable=2) == 2
    assert physical_cores("processor : 0\n", usable=3) == 3     # no core ids (ARM, VMs): the usable count


def test_pick_threads_uses_the_sample(monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "physical_cores", lambda usable=None: 2)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda interval=0.1: (1.0, "sample"))
    choice = pick_threads(environ={})
    assert choice.threads == 1 and choice.busy_elsewhere == 1.0 and choice.source == "sample"
    assert "1 threads" in choice.summary() and "1.00 busy" in choice.summary()
    monkeypatch.setattr(threads, "busy_elsewhere", lambda interval=0.1: (0.1, "loadavg"))
    assert pick_threads(environ={}).threads == 2


def test_pinned_by_the_environment(monkeypatch):
    monkeypatch.setattr(threads, "busy_elsewhere", lambda interval=0.1: pytest.fail("no sampling when pinned"))
    choice = pick_threads(environ={"VOICEBANK_THREADS": "3"})
    assert choice.threads == 3 and choice.source == "pinned"
    monkeypatch.setattr(threads, "busy_elsewhere", lambda interval=0.1: (0.0, "sample"))
    for junk in ("x", "0", "-1", ""):
        assert pick_threads(environ={"VOICEBANK_THREADS": junk}).source == "sample"


def test_cpu_default_fast_paths_take_the_picked_count(monkeypatch):
    from core.runtime import levers

    monkeypatch.setattr(levers, "pick_threads", lambda: threads.ThreadChoice(1, 2, 2, 1.0, "sample"))
    assert levers.FastPaths.for_device("cpu").threads == 1
    assert levers.FastPaths.for_device("cuda").threads is None
    assert levers.FastPaths.plain().threads is None


def test_real_machine_gives_a_usable_answer():
    choice = pick_threads(environ={}, interval=0.02)
    assert 1 <= choice.threads <= choice.cap <= choice.cpus
