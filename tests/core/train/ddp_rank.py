"""One rank of the 2-process DDP test (tests/core/train/test_distributed.py), in a module of its
own so that a spawned process imports only this (not the test fixtures)."""
from __future__ import annotations

from pathlib import Path

import torch

from core.train import checkpoints
from core.train.distributed import Dist
from core.train.errors import BuildCancelled


def _items(n=8):
    from core.train.dataset import Item

    g = torch.Generator().manual_seed(0)
    return [Item(f"t{i}", "x", torch.zeros(150 * 640, dtype=torch.int16),
                 torch.zeros(768, 150, dtype=torch.float16), torch.randint(0, 700, (30,), generator=g),
                 None, torch.randint(0, 1024, (40 + 5 * i,), generator=g)) for i in range(n)]


def gpt_rank(rank: int, world: int, folder: str, gpt_path: str, max_steps: int, cancel_after: int) -> None:
    """One rank (a spawned process): GPT training under DDP on the CPU, with a record of what
    it did (checkpoint saves, losses, final weights) for the test to compare."""
    import torch.distributed as tdist

    from core.engine.gpt import load_gpt
    from core.train import device
    from core.train.gpt_train import GPTTrainConfig, train_gpt

    folder_p = Path(folder)
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", init_method=f"file://{folder_p / f'pg{max_steps}'}",
                             rank=rank, world_size=world)
    saves, losses, calls = [], [], []
    real_save = checkpoints.save_state

    def save(path, obj):
        saves.append(obj["step"])
        real_save(path, obj)

    checkpoints.save_state = save

    def cancel() -> bool:   # only rank 1 is asked to stop: the ranks must agree
        calls.append(1)
        return rank == 1 and cancel_after > 0 and len(calls) > cancel_after

    model = load_gpt(gpt_path)
    cfg = GPTTrainConfig(batch_size=2, max_steps=max_steps, checkpoint_every=1)
    outcome = "done"
    try:
        model, _, _ = train_gpt(model, _items(), cfg, device.choose("cpu"), folder_p / "gpt.state.pt",
                                lambda step, loss, **_: losses.append((step, loss)), cancel,
                                dist=Dist(rank, world, rank))
    except BuildCancelled:
        outcome = "cancelled"
    torch.save({"outcome": outcome, "saves": saves, "losses": losses,
                "weights": model.state_dict()}, folder_p / f"rank{rank}.{max_steps}.pt")
    tdist.destroy_process_group()
