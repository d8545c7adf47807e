"""SoVITS fine-tuning: the VITS recipe of the original `s2_train.py`, written out plainly.

Per step, on a batch of takes:
  G forward: posterior z from the linear spectrogram, prior from SSL codes + phones, flow z -> z_p,
             the decoder renders a random `segment_size`-frame window of z
  D step:    LSGAN, real = the matching window of the real audio, fake = the rendering (detached)
  G step:    LSGAN generator loss + feature matching + 45 x L1(log-mel 128 bins) + KL + commitment

The SSL projection and the codebook stay frozen (requires_grad False, eval mode): the GPT's
targets were made with them. The text-side modules train at 0.4 x the learning rate.
AdamW(1e-4, betas (0.8, 0.99), eps 1e-9) for G and D, ExponentialLR(0.999875) stepped per epoch.
Sets of fewer than 100 clips are repeated within an epoch, as the original.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from . import checkpoints
from .dataset import HOP, Item
from .device import Device, adamw
from .distributed import SOLO, Dist
from .errors import BuildError
from .stage import StagePlan, run_stage

PERIODS = (2, 3, 5, 7, 11, 17, 23)  # v2 uses the first 5; a file's count of discriminators decides
TEXT_MODULES = ("enc_p.text_embedding", "enc_p.encoder_text", "enc_p.mrte")


@dataclass
class SoVITSTrainConfig:
    epochs: int = 8
    max_steps: int | None = None
    batch_size: int = 4
    lr: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.99)
    eps: float = 1e-9
    lr_decay: float = 0.999875          # ExponentialLR gamma, per epoch
    text_low_lr_rate: float = 0.4
    c_mel: float = 45.0
    c_kl: float = 1.0
    min_items_per_epoch: int = 100      # smaller sets are repeated (the original's min_num)
    checkpoint_every: int = 50
    grad_checkpointing: bool = False
    seed: int = 0


# ---------------------------------------------------------------------------------- losses


def discriminator_loss(real: list[Tensor], fake: list[Tensor]) -> Tensor:
    """LSGAN: real outputs towards 1, fake towards 0."""
    return sum(torch.mean((1 - r.float()) ** 2) + torch.mean(f.float() ** 2) for r, f in zip(real, fake))


def generator_loss(fake: list[Tensor]) -> Tensor:
    return sum(torch.mean((1 - f.float()) ** 2) for f in fake)


def feature_loss(fmap_real: list[list[Tensor]], fmap_fake: list[list[Tensor]]) -> Tensor:
    """L1 between D's feature maps of real and generated audio, x2 (as VITS)."""
    loss = 0.0
    for real_maps, fake_maps in zip(fmap_real, fmap_fake):
        for r, g in zip(real_maps, fake_maps):
            loss = loss + torch.mean(torch.abs(r.float().detach() - g.float()))
    return loss * 2


def kl_loss(z_p: Tensor, logs_q: Tensor, m_p: Tensor, logs_p: Tensor, mask: Tensor) -> Tensor:
    """KL(q || p) of the flowed posterior sample z_p against the prior N(m_p, exp(logs_p)),
    averaged over valid frames (the VITS estimator)."""
    kl = logs_p - logs_q - 0.5 + 0.5 * (z_p - m_p) ** 2 * torch.exp(-2.0 * logs_p)
    return torch.sum(kl * mask) / torch.sum(mask)


def slice_frames(x: Tensor, starts: Tensor, size: int) -> Tensor:
    """x [B, C, T]: the window [start, start + size) of every row."""
    idx = starts[:, None] + torch.arange(size, device=x.device)[None]
    return torch.gather(x, 2, idx[:, None, :].expand(-1, x.size(1), -1))


# ---------------------------------------------------------------------------------- models


def load_discriminator(path: Path):
    """The base discriminator from an official `s2D*.pth` ({"weight": state_dict}, fp16)."""
    from core.engine.checkpoint import CheckpointError, load_checkpoint
    from core.engine.sovits_discriminator import MultiPeriodDiscriminator

    ckpt = load_checkpoint(path)
    weight = ckpt["weight"]
    n = len({k.split(".")[1] for k in weight if k.startswith("discriminators.")})
    if n < 2:
        raise CheckpointError(f"{Path(path).name} is not a SoVITS discriminator file.")
    d = MultiPeriodDiscriminator(PERIODS[: n - 1])
    try:
        d.load_state_dict({k: v.float() for k, v in weight.items()}, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{Path(path).name} does not match the discriminator layout: "
                              f"{str(exc).splitlines()[0]}") from None
    return d


def _codebook_in_fp32(g) -> None:
    """Under autocast, run the SSL projection and the quantizer in fp32 (as the original): codes
    chosen in half precision could differ from the ones the GPT's targets were made with."""
    for module in (g.ssl_proj, g.quantizer):
        plain = module.forward

        def forward(x, *args, _plain=plain, **kwargs):
            with torch.autocast(x.device.type, enabled=False):
                return _plain(x.float(), *args, **kwargs)

        module.forward = forward


def freeze_codebook(g) -> None:
    """The SSL projection and the quantizer never train (see the module docstring)."""
    for module in (g.ssl_proj, g.quantizer):
        module.requires_grad_(False)
        module.eval()


def param_groups(g, cfg: SoVITSTrainConfig) -> list[dict]:
    text, rest = [], []
    for name, p in g.named_parameters():
        if not p.requires_grad:
            continue
        (text if name.startswith(TEXT_MODULES) else rest).append(p)
    return [{"params": rest, "lr": cfg.lr},
            {"params": text, "lr": cfg.lr * cfg.text_low_lr_rate}]


def _enable_grad_checkpointing(g) -> None:
    """Recompute the large submodules' activations in the backward pass (less memory, slower).
    The forward is swapped on the instances, so state-dict names do not change."""
    from torch.utils.checkpoint import checkpoint

    for module in (g.enc_p, g.enc_q, g.flow, g.dec):
        plain = module.forward
        module.forward = (lambda f: lambda *a, **k: checkpoint(f, *a, use_reentrant=False, **k))(plain)


# ---------------------------------------------------------------------------------- the trainer


class SoVITSTrainer:
    def __init__(self, g, d, cfg: SoVITSTrainConfig, dev: Device, dist: Dist = SOLO) -> None:
        self.cfg, self.dev, self.dist = cfg, dev, dist
        self.g, self.d = g.to(dev.device), d.to(dev.device)
        self.mcfg = g.cfg
        self.segment = g.cfg.segment_size
        freeze_codebook(self.g)
        if dev.amp_dtype is not None:
            _codebook_in_fp32(self.g)
        if cfg.grad_checkpointing:
            _enable_grad_checkpointing(self.g)
        # Under DDP (several ranks) G and D average their gradients over the ranks in backward.
        # Wrapped after freezing, so the frozen codebook is not part of the reduction. The D
        # pass of the generator step uses the plain D (no gradient for D there, nothing to sync).
        self.g_train = dist.wrap(self.g, find_unused=True)
        self.d_train = dist.wrap(self.d)
        self.opt_g = adamw(param_groups(self.g, cfg), cfg.lr, betas=cfg.betas, eps=cfg.eps)
        self.opt_d = adamw([p for p in self.d.parameters() if p.requires_grad], cfg.lr,
                           betas=cfg.betas, eps=cfg.eps)
        self.sched_g = torch.optim.lr_scheduler.ExponentialLR(self.opt_g, cfg.lr_decay)
        self.sched_d = torch.optim.lr_scheduler.ExponentialLR(self.opt_d, cfg.lr_decay)
        self.scaler = dev.scaler()

    # ---- batches ----------------------------------------------------------------------------

    def collate(self, items: list[Item]) -> dict[str, Tensor]:
        from core.engine.spectrogram import linear_spectrogram

        m, dev = self.mcfg, self.dev.device
        T = max(max(it.frames for it in items), self.segment)
        T += T % 2  # the 25 Hz codebook halves the frames; keep them even
        L = max(it.phones.numel() for it in items)
        B = len(items)
        ssl = torch.zeros(B, items[0].ssl.shape[0], T, device=dev)
        spec = torch.zeros(B, m.spec_channels, T, device=dev)
        wav = torch.zeros(B, 1, T * HOP, device=dev)
        phones = torch.zeros(B, L, dtype=torch.long, device=dev)
        for i, it in enumerate(items):
            n = it.frames
            ssl[i, :, :n] = it.ssl.to(dev).float()
            w = it.wav.to(dev).float() / 32768.0
            spec[i, :, :n] = linear_spectrogram(w, m.filter_length, m.hop_length, m.win_length)[0, :, :n]
            wav[i, 0, : n * HOP] = w[: n * HOP]
            phones[i, : it.phones.numel()] = it.phones.to(dev)
        return {
            "ssl": ssl, "spec": spec, "wav": wav, "phones": phones,
            "spec_lengths": torch.tensor([it.frames for it in items], device=dev),
            "phone_lengths": torch.tensor([it.phones.numel() for it in items], device=dev),
        }

    # ---- one step ---------------------------------------------------------------------------

    def step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        from core.engine.spectrogram import mel_spectrogram, spec_to_mel

        cfg, m, g, d = self.cfg, self.mcfg, self.g, self.d
        g.train(), d.train()
        freeze_codebook(g)
        with self.dev.autocast():
            out = self.g_train(batch["ssl"], batch["spec"], batch["spec_lengths"], batch["phones"], batch["phone_lengths"])
        y = slice_frames(batch["wav"], out.ids_slice * HOP, self.segment * HOP)
        y_hat = out.wav

        # Discriminator
        d.requires_grad_(True)
        with self.dev.autocast():
            real, fake, _, _ = self.d_train(y, y_hat.detach())
        loss_d = discriminator_loss(real, fake)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss_d).backward()
        self.scaler.unscale_(self.opt_d)
        self.scaler.step(self.opt_d)

        # Generator (D's parameters need no gradient here)
        d.requires_grad_(False)
        with self.dev.autocast():
            real, fake, fmap_r, fmap_g = d(y, y_hat)
        mel = spec_to_mel(batch["spec"], m.sampling_rate, m.filter_length, m.n_mel_channels, m.mel_fmin, m.mel_fmax)
        y_mel = slice_frames(mel, out.ids_slice, self.segment)
        y_hat_mel = mel_spectrogram(y_hat.squeeze(1).float(), m.filter_length, m.hop_length, m.win_length,
                                    m.sampling_rate, m.n_mel_channels, m.mel_fmin, m.mel_fmax)
        loss_mel = F.l1_loss(y_mel, y_hat_mel) * cfg.c_mel
        loss_kl = kl_loss(out.z_p.float(), out.logs_q.float(), out.m_p.float(), out.logs_p.float(),
                          out.mask.float()) * cfg.c_kl
        loss_fm = feature_loss(fmap_r, fmap_g)
        loss_gen = generator_loss(fake)
        commit = out.commit_loss.float()
        loss_g = loss_gen + loss_fm + loss_mel + loss_kl + commit
        if not torch.isfinite(loss_g.detach()):  # checked before any update touches the weights
            raise BuildError("SoVITS training diverged (the loss became NaN). Build again with "
                             "precision fp32, or leave out takes graded red.")
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        self.scaler.unscale_(self.opt_g)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        d.requires_grad_(True)
        parts = {"loss": loss_g, "disc": loss_d, "gen": loss_gen, "fm": loss_fm, "mel": loss_mel,
                 "kl": loss_kl, "commit": commit}
        return {k: float(v.detach()) for k, v in parts.items()}

    # ---- state ------------------------------------------------------------------------------

    def state(self, step: int, epoch: int, batch_size: int, done: bool = False) -> dict:
        return {
            "stage": "sovits", "step": step, "epoch": epoch, "batch_size": batch_size, "done": done,
            "g": self.g.state_dict(), "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict(),
            "scaler": self.scaler.state_dict(), "rng": checkpoints.rng_state(),
            "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.cfg).items()},
        }

    def load(self, state: dict) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.scaler.load_state_dict(state["scaler"])
        checkpoints.set_rng_state(state["rng"])


def epoch_items(items: list[Item], min_items: int) -> list[Item]:
    """The original repeats small sets: max(2, min_num // n) copies when n < min_num."""
    if 0 < len(items) < min_items:
        return items * max(2, min_items // len(items))
    return list(items)


def train_sovits(
    g, d, items: list[Item], cfg: SoVITSTrainConfig, dev: Device, ckpt_path: Path,
    progress: Callable[..., None] | None = None, cancel: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None, dist: Dist = SOLO, batch_cap: int | None = None,
):
    """Fine-tune G (and D) on `items`; resumes from `ckpt_path` if it holds a checkpoint.

    Returns (g, step, epoch). Checkpoints every cfg.checkpoint_every steps, on cancel (then
    raises BuildCancelled) and at the end (marked done); see stage.run_stage.
    """
    if not items:
        raise BuildError("No take is usable for SoVITS training (each must be 0.6-54 s long).")
    torch.manual_seed(cfg.seed + 7919 * dist.rank)  # ranks cut different random windows
    trainer = SoVITSTrainer(g, d, cfg, dev, dist)
    data = epoch_items(items, cfg.min_items_per_epoch)
    plan = StagePlan("sovits", "SoVITS", [it.frames for it in data],
                     batch_size=max(1, min(cfg.batch_size, len(data))), epochs=cfg.epochs,
                     max_steps=cfg.max_steps, checkpoint_every=cfg.checkpoint_every, seed=cfg.seed,
                     batch_cap=batch_cap)

    def end_epoch() -> None:  # ExponentialLR is stepped per epoch, as the original
        trainer.sched_g.step()
        trainer.sched_d.step()

    step, epoch = run_stage(
        plan, trainer, lambda group: trainer.step(trainer.collate([data[i] for i in group[0]])),
        dev, ckpt_path, progress, cancel, log, end_epoch, dist)
    return trainer.g, step, epoch
