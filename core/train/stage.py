"""The loop both training stages share, so their policies cannot drift apart.

`run_stage` owns: resuming from the stage's checkpoint, planning steps per epoch and in all,
the per-epoch batch order (and each rank's shard of it), cancel (agreed by all ranks, then a
checkpoint), halving the batch when the GPU runs out of memory, progress with the time left,
and the periodic and final checkpoints (written by rank 0 only). A stage supplies the trainer
(state/load), the function that does one optimizer step on a group of batches (lists of item
indices), and optionally what happens at the end of an epoch (SoVITS steps its schedulers).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import torch

from . import checkpoints
from .dataset import length_batches, steps_per_epoch
from .device import Device, is_oom, oom_error, release_memory
from .distributed import SOLO, Dist, RankOutOfMemory, shard
from .errors import BuildCancelled


class Trainer(Protocol):
    def state(self, step: int, epoch: int, batch_size: int, done: bool = False) -> dict: ...

    def load(self, state: dict) -> None: ...


@dataclass
class StagePlan:
    stage: str                       # the checkpoint's tag: "sovits" | "gpt"
    label: str                       # in messages: "SoVITS" | "GPT"
    lengths: list[int]               # per item, to batch similar lengths together
    batch_size: int
    epochs: int
    max_steps: int | None = None
    accumulate: int = 1              # batches per optimizer step
    checkpoint_every: int = 50
    seed: int = 0
    batch_cap: int | None = None     # after an out-of-memory restart: never more than this

    def schedule(self, batch_size: int, world: int = 1) -> tuple[int, int]:
        """(optimizer steps per epoch, steps in all) for this batch size and number of ranks."""
        per_rank = math.ceil(steps_per_epoch(len(self.lengths), batch_size) / world)
        spe = max(1, math.ceil(per_rank / self.accumulate))
        total = self.epochs * spe
        return spe, min(total, self.max_steps) if self.max_steps else total

    def group(self, step: int, batch_size: int, dist: Dist = SOLO) -> list[list[int]]:
        """The batches (item indices) of this rank for optimizer step `step`."""
        spe, _ = self.schedule(batch_size, dist.world)
        epoch, index = divmod(step, spe)
        order = length_batches(self.lengths, batch_size,
                               torch.Generator().manual_seed(self.seed * 100003 + epoch))
        mine = shard(order, dist.rank, dist.world)
        return mine[index * self.accumulate:(index + 1) * self.accumulate]


def run_stage(
    plan: StagePlan, trainer: Trainer, step_fn: Callable[[list[list[int]]], dict[str, float]],
    dev: Device, ckpt_path: Path, progress: Callable[..., None] | None = None,
    cancel: Callable[[], bool] | None = None, log: Callable[[str], None] | None = None,
    end_epoch: Callable[[], None] | None = None, dist: Dist = SOLO,
) -> tuple[int, int]:
    """Train `plan.stage` to its end; returns (steps, epochs). Raises BuildCancelled after a
    cancel (the checkpoint is written first) and BuildError when it cannot go on."""
    label = plan.label
    batch_size, step = plan.batch_size, 0
    state = checkpoints.load_state(ckpt_path)
    if state is not None and state.get("stage") == plan.stage:
        trainer.load(state)
        step, batch_size = int(state["step"]), int(state["batch_size"])
        if state.get("done"):
            return step, int(state["epoch"])
        saved_world = int(state.get("world", 1))
        if dist.rank:  # the checkpoint holds rank 0's random state: other ranks draw their own
            torch.manual_seed(plan.seed + 7919 * dist.rank + step)
        if log:
            log(f"{label}: resuming at step {step}")
    else:
        saved_world = dist.world
    batch_size = dist.min_int(batch_size)  # ranks may size their batch from different GPUs
    if plan.batch_cap:
        batch_size = min(batch_size, plan.batch_cap)
    if step and (batch_size, dist.world) != (int(state["batch_size"]), saved_world):
        # A different batch or number of ranks than when saved: the step count means other
        # batches now, so the interrupted epoch starts again.
        old_spe, _ = plan.schedule(int(state["batch_size"]), saved_world)
        step = (step // old_spe) * plan.schedule(batch_size, dist.world)[0]

    def save(step: int, epoch: int, done: bool = False) -> None:
        if dist.main:
            checkpoints.save_state(ckpt_path, {**trainer.state(step, epoch, batch_size, done),
                                               "world": dist.world})

    spe, total = plan.schedule(batch_size, dist.world)
    t0, done_here = time.monotonic(), 0
    epoch = step // spe
    while step < total:
        if dist.any(cancel is not None and cancel()):
            save(step, epoch)
            raise BuildCancelled(f"{label} training was cancelled at step {step} of {total}; "
                                 "build again to go on from there.")
        epoch = step // spe
        try:
            losses = step_fn(plan.group(step, batch_size, dist))
        except Exception as exc:
            if not is_oom(exc):
                raise
            release_memory(dev)
            if batch_size == 1:
                raise oom_error(label, dev) from None
            if dist.world > 1:
                raise RankOutOfMemory(plan.stage, batch_size // 2) from None
            batch_size //= 2
            if log:
                log(f"{label}: out of GPU memory; retrying with batch size {batch_size}")
            spe, total = plan.schedule(batch_size, dist.world)
            step = epoch * spe  # the epoch restarts with the smaller batches
            continue
        step += 1
        done_here += 1
        if end_epoch is not None and step % spe == 0:
            end_epoch()
        losses = dist.mean(losses)
        rate = (time.monotonic() - t0) / done_here
        if progress is not None and dist.main:
            progress(step=step, total=total, epoch=epoch + 1, loss=losses["loss"],
                     eta_s=rate * (total - step), losses=losses)
        if plan.checkpoint_every and step % plan.checkpoint_every == 0 and step < total:
            save(step, step // spe)
    save(step, step // spe, done=True)
    return step, step // spe
