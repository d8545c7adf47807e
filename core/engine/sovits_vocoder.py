"""The SoVITS v2 vocoder: a HiFi-GAN v1-style generator (latent frames -> 32 kHz waveform).

Names and shapes match the official files' `dec.*` layout. `stage_a`/`stage_b` split the forward
pass in two so that a caller may run each over chunks of its own size (`valid` marks where a
padded input's padding starts); `forward` is the two in sequence.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.engine.sovits_modules import WNConv1d, WNConvTranspose1d

__all__ = ["LRELU_SLOPE", "ResBlock1", "ResBlock2", "Generator"]

LRELU_SLOPE = 0.1


def _same_pad(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def _zero_tail(x: torch.Tensor, valid: int | None) -> torch.Tensor:
    """Zero the samples from `valid` on (in place): a padded input then computes exactly what the
    unpadded one does, whose convolutions see zeros there (the chunked vocoder pads short inputs)."""
    if valid is not None:
        x[..., valid:] = 0
    return x


class ResBlock1(nn.Module):
    """HiFi-GAN residual block, type 1: dilated conv then plain conv, per dilation."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, dilation=d, padding=_same_pad(kernel_size, d))
            for d in dilations)
        self.convs2 = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, padding=_same_pad(kernel_size)) for _ in dilations)

    def forward(self, x: torch.Tensor, valid: int | None = None) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            h = _zero_tail(c1(F.leaky_relu(x, LRELU_SLOPE)), valid)
            x = x + _zero_tail(c2(F.leaky_relu(h, LRELU_SLOPE)), valid)
        return x


class ResBlock2(nn.Module):
    """HiFi-GAN residual block, type 2: one dilated conv per dilation (first two dilations)."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, dilation=d, padding=_same_pad(kernel_size, d))
            for d in dilations[:2])

    def forward(self, x: torch.Tensor, valid: int | None = None) -> torch.Tensor:
        for c in self.convs:
            x = x + _zero_tail(c(F.leaky_relu(x, LRELU_SLOPE)), valid)
        return x


class Generator(nn.Module):
    """HiFi-GAN v1-style vocoder: latent frames -> waveform, upsampling by prod(upsample_rates)."""

    def __init__(self, in_channels: int, resblock: str, resblock_kernel_sizes: list[int],
                 resblock_dilation_sizes: list[list[int]], upsample_rates: list[int],
                 upsample_initial_channel: int, upsample_kernel_sizes: list[int], gin_channels: int) -> None:
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.conv_pre = nn.Conv1d(in_channels, upsample_initial_channel, 7, 1, padding=3)
        block = ResBlock1 if str(resblock) == "1" else ResBlock2
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        ch = upsample_initial_channel
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            ch = upsample_initial_channel // (2 ** (i + 1))
            self.ups.append(WNConvTranspose1d(2 * ch, ch, k, u, padding=(k - u) // 2))
            for rk, rd in zip(resblock_kernel_sizes, resblock_dilation_sizes):
                self.resblocks.append(block(ch, rk, rd))
        for up in self.ups:  # HiFi-GAN's N(0, 0.01) init of the upsampler directions
            nn.init.normal_(up.weight_v, 0.0, 0.01)
        self.conv_post = nn.Conv1d(ch, 1, 7, 1, padding=3, bias=False)
        if gin_channels:
            self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        return self.stage_b(self.stage_a(x, g))

    # Two halves (core.runtime.chunked_vocoder runs each over chunks of its own size). `valid`:
    # samples from there on are padding, zeroed after every layer as zero padding would be.
    def stage_a(self, x: torch.Tensor, g: torch.Tensor | None = None, valid: int | None = None) -> torch.Tensor:
        """conv_pre, style, the first upsampling stage."""
        x = self.conv_pre(x)
        if g is not None:
            x = x + self.cond(g)
        return self._stage(0, _zero_tail(x, valid), valid)[0]

    def stage_b(self, x: torch.Tensor, valid: int | None = None) -> torch.Tensor:
        """The other upsampling stages and the output conv."""
        for i in range(1, len(self.ups)):
            x, valid = self._stage(i, x, valid)
        # the original uses leaky_relu's default slope (0.01) here, not 0.1
        return torch.tanh(self.conv_post(F.leaky_relu(x)))

    def _stage(self, i: int, x: torch.Tensor, valid: int | None) -> tuple[torch.Tensor, int | None]:
        """Upsampling stage i; returns its output and its valid length."""
        if valid is not None:
            valid *= int(self.ups[i].stride[0])
        x = _zero_tail(self.ups[i](F.leaky_relu(x, LRELU_SLOPE)), valid)
        blocks = self.resblocks[i * self.num_kernels: (i + 1) * self.num_kernels]
        out = blocks[0](x, valid)
        for block in blocks[1:]:        # not sum(): its 0 + first block is one more full pass
            out = out + block(x, valid)
        return out / self.num_kernels, valid

