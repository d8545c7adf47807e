"""One training process of a multi-GPU build: `python -m core.train.rank_main JOB_DIR`.

Started by torchrun (core.train.distributed.launch), which sets RANK, WORLD_SIZE, LOCAL_RANK
and the rendezvous. Reads JOB_DIR/launch.json, joins the process group (nccl on CUDA, gloo on
the CPU), loads the prepared features and runs the same training as a single-process build
(core.train.finetune) on its shard of the batches. It ends by writing ranks/rank<r>.json.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


def _load_items(paths: list[str]) -> list:
    from core.torchfile import SMALL_FILE_LIMIT, load_torch_file

    from .dataset import Item

    return [Item.from_dict(load_torch_file(p, limit=SMALL_FILE_LIMIT, what="feature file"))
            for p in paths]


def run(job_dir: Path) -> int:
    import torch
    import torch.distributed as tdist

    from . import device as devices
    from .distributed import (
        CANCEL_FILE, LAUNCH_FILE, Dist, RankOutcome, RankOutOfMemory, backend_for, emit, write_outcome,
    )
    from .errors import BuildCancelled, BuildError
    from .finetune import TrainSpec, finetune

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    try:
        launch = json.loads((job_dir / LAUNCH_FILE).read_text(encoding="utf-8"))
        spec = TrainSpec(**launch["spec"])
        on_cuda = launch["device"] == "cuda"
        if on_cuda:
            torch.cuda.set_device(local_rank)
        dev = devices.choose(f"cuda:{local_rank}" if on_cuda else "cpu", launch["precision"])
        tdist.init_process_group(backend_for(dev.device.type))
        dist = Dist(rank, world, local_rank, dev.device)
        items = _load_items(launch["items"])

        def progress(stage: str):
            def cb(step, total, epoch, loss, eta_s, losses):
                emit({"stage": stage, "step": step, "total": total, "epoch": epoch, "loss": loss,
                      "eta_s": eta_s, "losses": losses})
            return cb

        def log(message: str) -> None:
            if dist.main:
                emit({"log": message})

        cancel_file = job_dir / CANCEL_FILE
        finetune(spec, items, dev, job_dir, progress, cancel_file.exists, log, dist)
        write_outcome(job_dir, rank, RankOutcome("done"))
        tdist.destroy_process_group()
        return 0
    except BuildCancelled as exc:   # every rank stops at the same step; rank 0 has saved
        write_outcome(job_dir, rank, RankOutcome("cancelled", str(exc)))
        return 0
    except RankOutOfMemory as exc:
        write_outcome(job_dir, rank, RankOutcome("oom", str(exc), exc.stage, exc.batch_size))
        return 1
    except BuildError as exc:
        write_outcome(job_dir, rank, RankOutcome("error", str(exc)))
        return 1
    except Exception as exc:  # noqa: BLE001 - reported to the parent, traceback to the log
        traceback.print_exc()
        write_outcome(job_dir, rank, RankOutcome(
            "error", f"Training process {rank} of {world} failed ({type(exc).__name__}: {exc}). "
                     "The work up to the last checkpoint is kept: build again to go on."))
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: torchrun ... -m core.train.rank_main JOB_DIR", file=sys.stderr)
        return 2
    code = run(Path(args[0]))
    sys.stdout.flush()
    sys.stderr.flush()
    # A failed rank must not wait at exit for peers stuck in a collective: leave at once
    # (torchrun then stops the others).
    os._exit(code)


if __name__ == "__main__":
    main()
