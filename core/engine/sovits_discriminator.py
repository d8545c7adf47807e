"""The SoVITS v2 training discriminator: HiFi-GAN's scale + multi-period discriminators.

Only fine-tuning needs it (it starts from the official `s2D*.pth`); names and shapes match that
file's layout, including the `weight_g`/`weight_v` weight-norm parameters.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .sovits_modules import WNConv1d, WNConv2d
from .sovits_vocoder import LRELU_SLOPE, _same_pad

__all__ = ["DiscriminatorP", "DiscriminatorS", "MultiPeriodDiscriminator"]



class DiscriminatorP(nn.Module):
    """Period discriminator: the waveform folded into [T / p, p] and scanned with 2-D convs."""

    def __init__(self, period: int, kernel_size: int = 5, stride: int = 3) -> None:
        super().__init__()
        self.period = period
        chans = [1, 32, 128, 512, 1024, 1024]
        pad = (_same_pad(kernel_size), 0)
        self.convs = nn.ModuleList(
            WNConv2d(chans[i], chans[i + 1], (kernel_size, 1), (stride if i < 4 else 1, 1), padding=pad)
            for i in range(5))
        self.conv_post = WNConv2d(1024, 1, (3, 1), 1, padding=(1, 0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fmap = []
        b, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), "reflect")
            t = x.shape[-1]
        x = x.view(b, c, t // self.period, self.period)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


class DiscriminatorS(nn.Module):
    """Scale discriminator on the raw waveform with grouped strided 1-D convs."""

    def __init__(self) -> None:
        super().__init__()
        spec = [(1, 16, 15, 1, 1, 7), (16, 64, 41, 4, 4, 20), (64, 256, 41, 4, 16, 20),
                (256, 1024, 41, 4, 64, 20), (1024, 1024, 41, 4, 256, 20), (1024, 1024, 5, 1, 1, 2)]
        self.convs = nn.ModuleList(
            WNConv1d(i, o, k, s, groups=g, padding=p) for i, o, k, s, g, p in spec)
        self.conv_post = WNConv1d(1024, 1, 3, 1, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


class MultiPeriodDiscriminator(nn.Module):
    """Scale discriminator plus one period discriminator per period (v2: 2, 3, 5, 7, 11)."""

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11)) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList([DiscriminatorS(), *(DiscriminatorP(p) for p in periods)])

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor):
        real, fake, fmap_real, fmap_fake = [], [], [], []
        for d in self.discriminators:
            r, fr = d(y)
            f, ff = d(y_hat)
            real.append(r), fake.append(f), fmap_real.append(fr), fmap_fake.append(ff)
        return real, fake, fmap_real, fmap_fake
