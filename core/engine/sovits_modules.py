"""Building blocks of the SoVITS v2 model (VITS lineage), written for state-dict compatibility.

Parameter names follow the official checkpoints exactly (e.g. `gamma`/`beta` for layer norms,
`weight_g`/`weight_v` for weight-normed convolutions), which is why some modules are thin wrappers.
Everything here is shape-agnostic: sizes come in as arguments from `SoVITSConfig`.

Here: weight-normed convolutions, the text/content encoders (relative-position transformer,
MRTE), the WaveNet flow and posterior encoder, and the residual vector quantizer of the semantic
codes. The HiFi-GAN generator is in `core.engine.sovits_vocoder`, the reference style encoder in
`core.engine.sovits_style`.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sequence_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """[B] lengths -> [B, max_len] bool, True on valid frames."""
    max_len = int(max_len if max_len is not None else lengths.max())
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


# ---------------------------------------------------------------------------------- weight norm


class _WeightNorm:
    """Mixin: store a conv weight as direction `weight_v` times per-output-channel gain `weight_g`.

    Same parametrisation and names as the old `torch.nn.utils.weight_norm(dim=0)`, which the
    official files use. `fold()` bakes the weight back into a plain `weight` for faster inference.
    """

    def _init_weight_norm(self) -> None:
        w = self.weight.detach()
        del self._parameters["weight"]
        self.weight_g = nn.Parameter(self._norm(w))
        self.weight_v = nn.Parameter(w.clone())

    @staticmethod
    def _norm(v: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(v, dim=tuple(range(1, v.dim())), keepdim=True)

    def effective_weight(self) -> torch.Tensor:
        if "weight" in self._parameters:
            return self._parameters["weight"]
        return self.weight_v * (self.weight_g / self._norm(self.weight_v))

    def fold(self) -> None:
        if "weight" in self._parameters:
            return
        w = self.effective_weight().detach()
        del self._parameters["weight_g"], self._parameters["weight_v"]
        self.weight = nn.Parameter(w)


class WNConv1d(_WeightNorm, nn.Conv1d):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_weight_norm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.effective_weight(), self.bias)


class WNConv2d(_WeightNorm, nn.Conv2d):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_weight_norm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.effective_weight(), self.bias)


class WNConvTranspose1d(_WeightNorm, nn.ConvTranspose1d):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_weight_norm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(
            x, self.effective_weight(), self.bias, self.stride, self.padding,
            self.output_padding, self.groups, self.dilation,
        )


def fold_weight_norm(model: nn.Module) -> nn.Module:
    """Replace every weight_g/weight_v pair by a plain weight (inference only; same numbers)."""
    for module in model.modules():
        if isinstance(module, _WeightNorm):
            module.fold()
    return model


# ---------------------------------------------------------------------------------- transformer


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels of a [B, C, T] tensor (params named gamma/beta as in the files)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.transpose(1, -1), self.gamma.shape, self.gamma, self.beta, self.eps)
        return x.transpose(1, -1)


class RelativeAttention(nn.Module):
    """Multi-head attention over [B, C, T] with 1x1-conv projections.

    With `window` set, learned relative-position embeddings (shared by all heads) add a bias to the
    logits and a term to the output for every key within `window` frames of the query (the VITS
    text encoder's scheme); keys farther away get no positional term.
    """

    def __init__(self, channels: int, out_channels: int, n_heads: int, p_dropout: float = 0.0,
                 window: int | None = None) -> None:
        super().__init__()
        assert channels % n_heads == 0
        self.n_heads, self.head_dim, self.window = n_heads, channels // n_heads, window
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        self.drop = nn.Dropout(p_dropout)
        if window is not None:
            std = self.head_dim ** -0.5
            self.emb_rel_k = nn.Parameter(torch.randn(1, 2 * window + 1, self.head_dim) * std)
            self.emb_rel_v = nn.Parameter(torch.randn(1, 2 * window + 1, self.head_dim) * std)
        nn.init.xavier_uniform_(self.conv_q.weight)
        nn.init.xavier_uniform_(self.conv_k.weight)
        nn.init.xavier_uniform_(self.conv_v.weight)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        return x.view(b, self.n_heads, self.head_dim, t).transpose(2, 3)  # [B, H, T, D]

    def _relative_index(self, t: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        # offset[i, j] = j - i shifted into embedding rows; `near` marks |j - i| <= window.
        pos = torch.arange(t, device=device)
        offset = pos[None, :] - pos[:, None]
        near = offset.abs() <= self.window
        return (offset.clamp(-self.window, self.window) + self.window), near

    def forward(self, x: torch.Tensor, c: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        q = self._heads(self.conv_q(x)) / math.sqrt(self.head_dim)
        k, v = self._heads(self.conv_k(c)), self._heads(self.conv_v(c))
        scores = q @ k.transpose(-2, -1)  # [B, H, Tq, Tk]
        if self.window is not None:
            t = q.shape[2]
            assert k.shape[2] == t, "relative attention is self-attention only"
            idx, near = self._relative_index(t, q.device)
            rel_logits = q @ self.emb_rel_k.unsqueeze(0).transpose(-2, -1)  # [B, H, T, 2W+1]
            scores = scores + torch.gather(rel_logits, 3, idx.expand(*rel_logits.shape[:2], t, t)) * near
        if mask is not None:
            scores = scores.masked_fill(mask == 0, -1e4)
        p = self.drop(torch.softmax(scores, dim=-1))
        out = p @ v
        if self.window is not None:
            # Sum the attention mass falling on each relative offset, then mix the value embeddings.
            rel_p = torch.zeros(*p.shape[:3], 2 * self.window + 1, dtype=p.dtype, device=p.device)
            rel_p.scatter_add_(3, idx.expand_as(p), p * near)
            out = out + rel_p @ self.emb_rel_v.unsqueeze(0)
        b, h, t, d = out.shape
        return self.conv_o(out.transpose(2, 3).reshape(b, h * d, t))


class FFN(nn.Module):
    """Two 'same'-padded convolutions with ReLU, masked before each (VITS encoder FFN)."""

    def __init__(self, channels: int, filter_channels: int, kernel_size: int, p_dropout: float) -> None:
        super().__init__()
        self.pad = ((kernel_size - 1) // 2, kernel_size // 2)
        self.conv_1 = nn.Conv1d(channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, channels, kernel_size)
        self.drop = nn.Dropout(p_dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv_1(F.pad(x * mask, self.pad)))
        x = self.conv_2(F.pad(self.drop(x) * mask, self.pad))
        return x * mask


class Encoder(nn.Module):
    """Post-norm transformer encoder with relative positions over [B, C, T]."""

    def __init__(self, channels: int, filter_channels: int, n_heads: int, n_layers: int,
                 kernel_size: int, p_dropout: float, window: int = 4) -> None:
        super().__init__()
        self.drop = nn.Dropout(p_dropout)
        self.attn_layers = nn.ModuleList(
            RelativeAttention(channels, channels, n_heads, p_dropout, window) for _ in range(n_layers))
        self.norm_layers_1 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(
            FFN(channels, filter_channels, kernel_size, p_dropout) for _ in range(n_layers))
        self.norm_layers_2 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        attn_mask = mask.unsqueeze(2) * mask.unsqueeze(-1)
        x = x * mask
        for attn, norm1, ffn, norm2 in zip(self.attn_layers, self.norm_layers_1,
                                           self.ffn_layers, self.norm_layers_2):
            x = norm1(x + self.drop(attn(x, x, attn_mask)))
            x = norm2(x + self.drop(ffn(x, mask)))
        return x * mask


class MRTE(nn.Module):
    """Cross-attention from content (SSL) frames to phones, plus the style vector."""

    def __init__(self, channels: int, hidden: int, n_heads: int) -> None:
        super().__init__()
        self.cross_attention = RelativeAttention(hidden, hidden, n_heads)
        self.c_pre = nn.Conv1d(channels, hidden, 1)
        self.text_pre = nn.Conv1d(channels, hidden, 1)
        self.c_post = nn.Conv1d(hidden, channels, 1)

    def forward(self, ssl: torch.Tensor, ssl_mask: torch.Tensor, text: torch.Tensor,
                text_mask: torch.Tensor, ge: torch.Tensor) -> torch.Tensor:
        attn_mask = text_mask.unsqueeze(2) * ssl_mask.unsqueeze(-1)
        ssl = self.c_pre(ssl * ssl_mask)
        text = self.text_pre(text * text_mask)
        x = self.cross_attention(ssl * ssl_mask, text * text_mask, attn_mask) + ssl + ge
        return self.c_post(x * ssl_mask)


# ---------------------------------------------------------------------------------- WaveNet / flow


class WN(nn.Module):
    """Non-causal WaveNet stack with gated tanh units, global conditioning and skip sums."""

    def __init__(self, hidden: int, kernel_size: int, dilation_rate: int, n_layers: int,
                 gin_channels: int = 0, p_dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden, self.n_layers = hidden, n_layers
        self.drop = nn.Dropout(p_dropout)
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        if gin_channels:  # one 1x1 conv makes the conditioning of every layer at once
            self.cond_layer = WNConv1d(gin_channels, 2 * hidden * n_layers, 1)
        for i in range(n_layers):
            dilation = dilation_rate ** i
            pad = (kernel_size * dilation - dilation) // 2
            self.in_layers.append(WNConv1d(hidden, 2 * hidden, kernel_size, dilation=dilation, padding=pad))
            # the last layer only feeds the skip path
            out = 2 * hidden if i < n_layers - 1 else hidden
            self.res_skip_layers.append(WNConv1d(hidden, out, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        out = torch.zeros_like(x)
        cond = self.cond_layer(g) if g is not None else None
        h = self.hidden
        for i, (inp, res_skip) in enumerate(zip(self.in_layers, self.res_skip_layers)):
            a = inp(x)
            if cond is not None:
                a = a + cond[:, 2 * h * i: 2 * h * (i + 1)]
            acts = self.drop(torch.tanh(a[:, :h]) * torch.sigmoid(a[:, h:]))
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = (x + rs[:, :h]) * mask
                out = out + rs[:, h:]
            else:
                out = out + rs
        return out * mask


class CouplingLayer(nn.Module):
    """Mean-only affine coupling: the second half of the channels is shifted by a WaveNet
    function of the first half (volume preserving, so no log-det in inference)."""

    def __init__(self, channels: int, hidden: int, kernel_size: int, dilation_rate: int,
                 n_layers: int, gin_channels: int) -> None:
        super().__init__()
        self.half = channels // 2
        self.pre = nn.Conv1d(self.half, hidden, 1)
        self.enc = WN(hidden, kernel_size, dilation_rate, n_layers, gin_channels)
        self.post = nn.Conv1d(hidden, self.half, 1)
        nn.init.zeros_(self.post.weight)  # starts as the identity map
        nn.init.zeros_(self.post.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None,
                reverse: bool = False) -> torch.Tensor:
        x0, x1 = x[:, : self.half], x[:, self.half:]
        h = self.enc(self.pre(x0) * mask, mask, g=g)
        m = self.post(h) * mask
        x1 = (x1 - m) * mask if reverse else m + x1 * mask
        return torch.cat([x0, x1], dim=1)


class Flip(nn.Module):
    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return torch.flip(x, [1])


class Flow(nn.Module):
    """Coupling layers alternating with channel flips (indices 0, 2, 4, ... hold parameters)."""

    def __init__(self, channels: int, hidden: int, kernel_size: int, dilation_rate: int,
                 n_layers: int, n_flows: int, gin_channels: int) -> None:
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_flows):
            self.flows.append(CouplingLayer(channels, hidden, kernel_size, dilation_rate, n_layers, gin_channels))
            self.flows.append(Flip())

    def forward(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None = None,
                reverse: bool = False) -> torch.Tensor:
        for flow in (reversed(self.flows) if reverse else self.flows):
            x = flow(x, mask, g, reverse=reverse)
        return x


class PosteriorEncoder(nn.Module):
    """Linear spectrogram -> posterior mean/log-std (training only; absent from fine-tunes)."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int, kernel_size: int,
                 dilation_rate: int, n_layers: int, gin_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.pre = nn.Conv1d(in_channels, hidden, 1)
        self.enc = WN(hidden, kernel_size, dilation_rate, n_layers, gin_channels)
        self.proj = nn.Conv1d(hidden, out_channels * 2, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, g: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        mask = sequence_mask(lengths, x.size(2)).unsqueeze(1).to(x.dtype)
        if g is not None:
            g = g.detach()  # the style encoder is not trained through the posterior
        h = self.enc(self.pre(x) * mask, mask, g=g)
        m, logs = torch.split(self.proj(h) * mask, self.out_channels, dim=1)
        z = (m + torch.randn_like(m) * torch.exp(logs)) * mask
        return z, m, logs, mask


# ---------------------------------------------------------------------------------- quantizer


class Codebook(nn.Module):
    """EMA k-means codebook (EnCodec style); only the nearest-entry lookup runs at inference."""

    def __init__(self, dim: int, size: int) -> None:
        super().__init__()
        self.register_buffer("inited", torch.tensor([1.0]))
        self.register_buffer("cluster_size", torch.zeros(size))
        self.register_buffer("embed", torch.randn(size, dim))
        self.register_buffer("embed_avg", self.embed.clone())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> nearest code ids [B, T] (squared Euclidean distance)."""
        flat = x.reshape(-1, x.shape[-1])
        embed = self.embed.t()
        dist = -(flat.pow(2).sum(1, keepdim=True) - 2 * flat @ embed + embed.pow(2).sum(0, keepdim=True))
        return dist.argmax(dim=-1).view(*x.shape[:-1])

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.embed)


class _VQ(nn.Module):
    def __init__(self, dim: int, size: int) -> None:
        super().__init__()
        self._codebook = Codebook(dim, size)


class _RVQLayers(nn.Module):
    def __init__(self, dim: int, size: int, n_q: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_VQ(dim, size) for _ in range(n_q))


class ResidualVectorQuantizer(nn.Module):
    """Residual VQ over [B, D, T]; codes are laid out [n_q, B, T] as in the original."""

    def __init__(self, dim: int, size: int, n_q: int) -> None:
        super().__init__()
        self.vq = _RVQLayers(dim, size, n_q)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        residual = x.transpose(1, 2)
        codes = []
        for layer in self.vq.layers:
            ids = layer._codebook.encode(residual)
            residual = residual - layer._codebook.decode(ids)
            codes.append(ids)
        return torch.stack(codes)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [n_q, B, T] -> summed code vectors [B, D, T]."""
        out = sum(layer._codebook.decode(ids) for layer, ids in zip(self.vq.layers, codes))
        return out.transpose(1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training path: straight-through quantization plus commitment loss."""
        codes = self.encode(x)
        quantized = self.decode(codes)
        commit = F.mse_loss(quantized.detach(), x)
        quantized = x + (quantized - x).detach()
        return quantized, codes, commit
