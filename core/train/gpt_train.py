"""GPT (text-to-semantic) fine-tuning: next-token cross-entropy over the take's semantic codes.

Batches: phones and BERT features LEFT-padded (as the original's collate; see
`Text2Semantic.forward_train`), codes right-padded with EOS. One optimizer step per
`accumulate` (4) batches, as the original's manual optimization; a "step" below is one optimizer
step. The batch is capped at a quarter of the data set, so every epoch has about 4 batches.

Optimizer: the original uses icefall's ScaledAdam with its learning rate locked at 0.002.
ScaledAdam scales each update by the parameter's RMS (typically 0.02-0.1 for these weights), so
its effective per-element step is about 0.002 x 0.05 = 1e-4. We use plain AdamW at that lr
(1e-4, betas (0.9, 0.95) as ScaledAdam, no weight decay, constant as the locked schedule) and
clip the gradient norm at 1.0 (ScaledAdam's clipping_scale plays that role there). The summed
cross-entropy is divided by the number of target tokens before the backward pass: Adam is
invariant to the loss scale, but the clipping threshold is not. The reported loss is the mean
per-token cross-entropy.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from . import checkpoints
from .dataset import Item
from .device import Device, adamw
from .distributed import SOLO, Dist
from .errors import BuildError
from .stage import StagePlan, run_stage


@dataclass
class GPTTrainConfig:
    epochs: int = 15
    max_steps: int | None = None
    batch_size: int = 8
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    accumulate: int = 4                 # batches per optimizer step (the original's 4)
    checkpoint_every: int = 50
    grad_checkpointing: bool = False
    seed: int = 0


def collate(items: list[Item], eos: int, device: torch.device) -> dict[str, Tensor]:
    B = len(items)
    Tx = max(it.phones.numel() for it in items)
    Ty = max(it.codes.numel() for it in items)
    x = torch.zeros(B, Tx, dtype=torch.long)
    bert = torch.zeros(B, 1024, Tx)
    y = torch.full((B, Ty), eos, dtype=torch.long)
    for i, it in enumerate(items):
        n, t = it.phones.numel(), it.codes.numel()
        x[i, Tx - n:] = it.phones        # left padding
        bert[i, :, Tx - n:] = it.bert_or_zeros().float()
        y[i, :t] = it.codes
    return {"x": x.to(device), "x_lens": torch.tensor([it.phones.numel() for it in items], device=device),
            "bert": bert.to(device), "y": y.to(device),
            "y_lens": torch.tensor([it.codes.numel() for it in items], device=device)}


def _enable_grad_checkpointing(model) -> None:
    """Recompute each transformer layer in the backward pass; names and weights are unchanged."""
    from torch.utils.checkpoint import checkpoint

    for layer in model.h.layers:
        plain = layer.forward
        layer.forward = (lambda f: lambda *a, **k: checkpoint(f, *a, use_reentrant=False, **k))(plain)


class _ForwardTrain(torch.nn.Module):
    """`forward` = the GPT's forward_train, so that DistributedDataParallel (which hooks
    `forward`) sees the training pass."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args):
        return self.model.forward_train(*args)


class GPTTrainer:
    def __init__(self, model, cfg: GPTTrainConfig, dev: Device, dist: Dist = SOLO) -> None:
        self.cfg, self.dev, self.dist = cfg, dev, dist
        self.model = model.to(dev.device)
        if cfg.grad_checkpointing:
            _enable_grad_checkpointing(self.model)
        # Under DDP the gradients are averaged over ranks in the backward pass of the last
        # micro-batch of a step; single process: the plain model.
        self.forward = dist.wrap(_ForwardTrain(self.model), find_unused=True) if dist.world > 1 \
            else self.model.forward_train
        self.opt = adamw(self.model.parameters(), cfg.lr, betas=cfg.betas,
                         weight_decay=cfg.weight_decay)
        self.scaler = dev.scaler()

    def step(self, batches: list[list[Item]]) -> dict[str, float]:
        """One optimizer step over `batches` (gradients accumulated)."""
        model, eos = self.model, self.model.cfg.eos
        model.train()
        self.opt.zero_grad(set_to_none=True)
        n_tokens = sum(it.codes.numel() + 1 for b in batches for it in b)
        total_loss, total_acc = 0.0, 0.0
        for i, items in enumerate(batches):
            b = collate(items, eos, self.dev.device)
            last = i == len(batches) - 1
            with contextlib.nullcontext() if last else self.dist.no_sync(self.forward):
                with self.dev.autocast():
                    _, loss, acc = self.forward(b["x"], b["x_lens"], b["bert"], b["y"], b["y_lens"])
                # The summed loss also counts the padding positions (as the original); normalise
                # by the real targets (codes + EOS) of the whole accumulated step.
                self.scaler.scale(loss.float() / n_tokens).backward()
            total_loss += float(loss.detach())
            total_acc += float(acc) * len(items)
        self.scaler.unscale_(self.opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        if not math.isfinite(total_loss):
            raise BuildError("GPT training diverged (the loss became NaN). Build again with "
                             "precision fp32, or leave out takes graded red.")
        n_items = sum(len(b) for b in batches)
        return {"loss": total_loss / n_tokens, "top3_acc": total_acc / n_items}

    def state(self, step: int, epoch: int, batch_size: int, done: bool = False) -> dict:
        return {"stage": "gpt", "step": step, "epoch": epoch, "batch_size": batch_size, "done": done,
                "model": self.model.state_dict(), "opt": self.opt.state_dict(),
                "scaler": self.scaler.state_dict(), "rng": checkpoints.rng_state(),
                "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.cfg).items()}}

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.scaler.load_state_dict(state["scaler"])
        checkpoints.set_rng_state(state["rng"])


def train_gpt(
    model, items: list[Item], cfg: GPTTrainConfig, dev: Device, ckpt_path: Path,
    progress: Callable[..., None] | None = None, cancel: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None, dist: Dist = SOLO, batch_cap: int | None = None,
):
    """Fine-tune the GPT on `items`; resumes from `ckpt_path`. Returns (model, step, epoch)."""
    if not items:
        raise BuildError("No take is usable for GPT training (each needs 3-25 phones per second "
                         "of speech). Check that the takes' texts match what was said.")
    torch.manual_seed(cfg.seed + 1 + 7919 * dist.rank)
    trainer = GPTTrainer(model, cfg, dev, dist)
    plan = StagePlan(
        "gpt", "GPT", [it.codes.numel() + it.phones.numel() for it in items],
        # The original caps the batch at a quarter of the data so an epoch has at least ~4 batches.
        batch_size=max(1, min(cfg.batch_size, len(items) // 4)), epochs=cfg.epochs,
        max_steps=cfg.max_steps, accumulate=cfg.accumulate, checkpoint_every=cfg.checkpoint_every,
        seed=cfg.seed, batch_cap=batch_cap)
    step, epoch = run_stage(
        plan, trainer, lambda group: trainer.step([[items[i] for i in b] for b in group]), dev,
        ckpt_path, progress, cancel, log, dist=dist)
    return trainer.model, step, epoch
