"""The SoVITS v2 style encoder (the original's MelStyleEncoder): reference spectrogram -> `ge`.

Names match the official files' `ref_enc.*` layout (`fc` one level down, as its `LinearNorm`).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["StyleEncoder"]


class _Linear(nn.Module):
    """nn.Linear one level down (`.fc`), matching the files' `LinearNorm` naming."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class _Mish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tanh(F.softplus(x))


class _ConvGLU(nn.Module):
    """Residual gated conv: x + a * sigmoid(b) with [a, b] = conv(x)."""

    def __init__(self, channels: int, kernel_size: int, p_dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Module()
        self.conv1.conv = nn.Conv1d(channels, 2 * channels, kernel_size, padding=(kernel_size - 1) // 2)
        self.drop = nn.Dropout(p_dropout)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.split(self.conv1.conv(x), self.channels, dim=1)
        return x + self.drop(a * torch.sigmoid(b))


class _StyleAttention(nn.Module):
    """Self-attention of the style encoder; logits scaled by sqrt(model dim), as the original."""

    def __init__(self, n_heads: int, dim: int, p_dropout: float) -> None:
        super().__init__()
        self.n_heads, self.head_dim, self.dim = n_heads, dim // n_heads, dim
        self.w_qs = nn.Linear(dim, dim)
        self.w_ks = nn.Linear(dim, dim)
        self.w_vs = nn.Linear(dim, dim)
        self.fc = nn.Linear(dim, dim)
        self.drop = nn.Dropout(p_dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # [B, H, T, D]
        q, k, v = split(self.w_qs(x)), split(self.w_ks(x)), split(self.w_vs(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.dim)
        if pad is not None:
            scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        out = (self.drop(torch.softmax(scores, dim=-1)) @ v).transpose(1, 2).reshape(b, t, -1)
        return self.drop(self.fc(out)) + x


class StyleEncoder(nn.Module):
    """Reference spectrogram [B, bins, T] -> style vector `ge` [B, out_dim, 1] (MelStyleEncoder)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, kernel_size: int, n_heads: int,
                 p_dropout: float = 0.1) -> None:
        super().__init__()
        self.spectral = nn.Sequential(
            _Linear(in_dim, hidden), _Mish(), nn.Dropout(p_dropout),
            _Linear(hidden, hidden), _Mish(), nn.Dropout(p_dropout))
        self.temporal = nn.Sequential(
            _ConvGLU(hidden, kernel_size, p_dropout), _ConvGLU(hidden, kernel_size, p_dropout))
        self.slf_attn = _StyleAttention(n_heads, hidden, p_dropout)
        self.fc = _Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        pad = (mask.int() == 0).squeeze(1) if mask is not None else None  # True on padding
        x = self.spectral(x.transpose(1, 2))
        x = self.temporal(x.transpose(1, 2)).transpose(1, 2)
        if pad is not None:
            x = x.masked_fill(pad.unsqueeze(-1), 0)
        x = self.fc(self.slf_attn(x, pad))
        if pad is None:
            w = x.mean(dim=1)
        else:  # masked temporal mean
            w = x.masked_fill(pad.unsqueeze(-1), 0).sum(dim=1) / (~pad).sum(dim=1, keepdim=True)
        return w.unsqueeze(-1)
