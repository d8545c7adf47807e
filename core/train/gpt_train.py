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

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from . import checkpoints
from .dataset import Item, length_batches, steps_per_epoch
from .device import Device, adamw, is_oom, oom_error, release_memory
from .errors import BuildCancelled, BuildError


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


class GPTTrainer:
    def __init__(self, model, cfg: GPTTrainConfig, dev: Device) -> None:
        self.cfg, self.dev = cfg, dev
        self.model = model.to(dev.device)
        if cfg.grad_checkpointing:
            _enable_grad_checkpointing(self.model)
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
        for items in batches:
            b = collate(items, eos, self.dev.device)
            with self.dev.autocast():
                _, loss, acc = model.forward_train(b["x"], b["x_lens"], b["bert"], b["y"], b["y_lens"])
            # The summed loss also counts the padding positions (as the original); normalise by
            # the real targets (codes + EOS) of the whole accumulated step.
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
    log: Callable[[str], None] | None = None,
):
    """Fine-tune the GPT on `items`; resumes from `ckpt_path`. Returns (model, step, epoch)."""
    if not items:
        raise BuildError("No take is usable for GPT training (each needs 3-25 phones per second "
                         "of speech). Check that the takes' texts match what was said.")
    torch.manual_seed(cfg.seed + 1)
    trainer = GPTTrainer(model, cfg, dev)
    lengths = [it.codes.numel() + it.phones.numel() for it in items]
    # The original caps the batch at a quarter of the data so an epoch has at least ~4 batches.
    batch_size = max(1, min(cfg.batch_size, len(items) // 4))
    step = 0
    state = checkpoints.load_state(ckpt_path)
    if state is not None and state.get("stage") == "gpt":
        trainer.load(state)
        step, batch_size = int(state["step"]), int(state["batch_size"])
        if state.get("done"):
            return trainer.model, step, int(state["epoch"])
        if log:
            log(f"GPT: resuming at step {step}")

    def plan(bs: int) -> tuple[int, int]:
        n_batches = steps_per_epoch(len(items), bs)
        spe = math.ceil(n_batches / cfg.accumulate)
        total = cfg.epochs * spe
        return spe, min(total, cfg.max_steps) if cfg.max_steps else total

    spe, total = plan(batch_size)
    t0, done_here = time.monotonic(), 0
    epoch = step // spe
    while step < total:
        if cancel is not None and cancel():
            checkpoints.save_state(ckpt_path, trainer.state(step, epoch, batch_size))
            raise BuildCancelled(f"GPT training was cancelled at step {step} of {total}; "
                                 "build again to go on from there.")
        epoch, index = divmod(step, spe)
        order = length_batches(lengths, batch_size, torch.Generator().manual_seed(cfg.seed * 100003 + epoch))
        group = order[index * cfg.accumulate:(index + 1) * cfg.accumulate]
        try:
            losses = trainer.step([[items[i] for i in b] for b in group])
        except Exception as exc:
            if not is_oom(exc):
                raise
            release_memory(dev)
            if batch_size == 1:
                raise oom_error("GPT", dev) from None
            batch_size //= 2
            if log:
                log(f"GPT: out of GPU memory; retrying with batch size {batch_size}")
            spe, total = plan(batch_size)
            step = epoch * spe
            continue
        step += 1
        done_here += 1
        rate = (time.monotonic() - t0) / done_here
        if progress is not None:
            progress(step=step, total=total, epoch=epoch + 1, loss=losses["loss"],
                     eta_s=rate * (total - step), losses=losses)
        if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < total:
            checkpoints.save_state(ckpt_path, trainer.state(step, step // spe, batch_size))
    checkpoints.save_state(ckpt_path, trainer.state(step, step // spe, batch_size, done=True))
    return trainer.model, step, step // spe
