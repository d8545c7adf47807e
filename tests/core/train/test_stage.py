"""The shared stage loop (core.train.stage) with a stand-in trainer: its policies, quickly."""
from __future__ import annotations

import pytest
import torch

from core.train import checkpoints, device
from core.train.distributed import Dist, RankOutOfMemory
from core.train.errors import BuildCancelled, BuildError
from core.train.stage import StagePlan, run_stage


class Counter:
    """A 'model' whose state is the number of items it has seen."""

    def __init__(self) -> None:
        self.seen = 0

    def state(self, step, epoch, batch_size, done=False):
        return {"stage": "toy", "step": step, "epoch": epoch, "batch_size": batch_size, "done": done,
                "seen": self.seen}

    def load(self, state):
        self.seen = state["seen"]


class TwoRanks(Dist):
    """Rank 0 of 2 with no process group: collectives return this rank's own values."""

    def any(self, flag):
        return bool(flag)

    def min_int(self, n):
        return int(n)

    def mean(self, values):
        return values


def plan(**kw) -> StagePlan:
    defaults = dict(stage="toy", label="Toy", lengths=list(range(10, 30)), batch_size=4, epochs=2,
                    checkpoint_every=0)
    defaults.update(kw)
    return StagePlan(**defaults)


def test_schedule_counts_accumulation_and_ranks():
    p = plan(batch_size=4, accumulate=1)
    assert p.schedule(4) == (5, 10)                 # 20 items / 4
    assert p.schedule(4, world=2) == (3, 6)         # 5 batches over 2 ranks: 3 each (one padded)
    assert plan(accumulate=4).schedule(2) == (3, 6)  # 10 batches, 4 per step
    assert plan(max_steps=3).schedule(4) == (5, 3)
    groups = [plan().group(s, 4) for s in range(5)]
    assert sorted(i for g in groups for b in g for i in b) == list(range(20))   # an epoch: each once
    r0 = [plan().group(s, 4, TwoRanks(0, 2)) for s in range(3)]
    r1 = [plan().group(s, 4, TwoRanks(1, 2)) for s in range(3)]
    assert {i for g in r0 + r1 for b in g for i in b} == set(range(20))
    assert not {tuple(b) for g in r0[:2] for b in g} & {tuple(b) for g in r1[:2] for b in g}


def test_oom_halves_the_batch_then_gives_up_and_ranks_restart(tmp_path):
    trainer, sizes = Counter(), []

    def step(group):
        sizes.append(len(group[0]))
        if len(group[0]) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        trainer.seen += 1
        return {"loss": 1.0}

    logs = []
    steps, _ = run_stage(plan(max_steps=3), trainer, step, device.choose("cpu"), tmp_path / "a.pt",
                         log=logs.append)
    assert sizes[:3] == [4, 2, 1] and steps == 3 and trainer.seen == 3
    assert "batch size 1" in logs[-1]
    assert checkpoints.load_state(tmp_path / "a.pt")["batch_size"] == 1

    def always(group):
        raise RuntimeError("CUDA error: out of memory")

    with pytest.raises(BuildError, match="ran out of memory during Toy"):
        run_stage(plan(batch_size=1), Counter(), always, device.choose("cpu"), tmp_path / "b.pt")
    # Under DDP the other ranks are inside a collective: the run restarts with half the batch.
    with pytest.raises(RankOutOfMemory) as info:
        run_stage(plan(), Counter(), always, device.choose("cpu"), tmp_path / "c.pt", dist=TwoRanks(0, 2))
    assert (info.value.stage, info.value.batch_size) == ("toy", 2)


def test_other_errors_pass_through_and_progress_has_eta(tmp_path):
    seen = []

    def step(group):
        return {"loss": 0.5, "part": 0.25}

    run_stage(plan(max_steps=2), Counter(), step, device.choose("cpu"), tmp_path / "a.pt",
              progress=lambda **kw: seen.append(kw))
    assert [p["step"] for p in seen] == [1, 2] and seen[0]["total"] == 2
    assert seen[0]["eta_s"] >= 0 and seen[-1]["eta_s"] == 0 and seen[0]["losses"]["part"] == 0.25

    def bad(group):
        raise ValueError("not memory")

    with pytest.raises(ValueError):
        run_stage(plan(), Counter(), bad, device.choose("cpu"), tmp_path / "b.pt")


def test_cancel_resume_and_a_cap_that_restarts_the_epoch(tmp_path):
    trainer, path, ends = Counter(), tmp_path / "toy.pt", []

    def stepper(t: Counter):
        def step(group):
            t.seen += len(group[0])
            return {"loss": 1.0}
        return step

    calls = []
    with pytest.raises(BuildCancelled, match="Toy training was cancelled at step 7 of 10"):
        run_stage(plan(), trainer, stepper(trainer), device.choose("cpu"), path,
                  cancel=lambda: len(calls.append(1) or calls) > 7, end_epoch=lambda: ends.append(1))
    assert checkpoints.load_state(path)["step"] == 7 and len(ends) == 1   # one epoch (5 steps) ended

    again = Counter()
    steps, epochs = run_stage(plan(), again, stepper(again), device.choose("cpu"), path)
    assert (steps, epochs) == (10, 2) and again.seen == 28 + 12        # loaded 28, 3 batches of 4
    assert checkpoints.load_state(path)["done"]
    # a finished stage returns at once
    assert run_stage(plan(), Counter(), None, device.choose("cpu"), path) == (10, 2)

    # resumed after an out-of-memory restart with a smaller cap: epoch 2 starts again
    checkpoints.save_state(path, {**Counter().state(7, 1, 4), "world": 1})
    seen = []
    steps, _ = run_stage(plan(batch_cap=2), Counter(), stepper(Counter()), device.choose("cpu"), path,
                         progress=lambda **kw: seen.append(kw["step"]))
    assert seen[0] == 11 and steps == 20       # 10 steps per epoch at batch 2, epoch 2 from its start
