"""SoVITS v2: the GPT-SoVITS acoustic model (semantic codes + phones + reference -> 32 kHz audio).

Data flow at inference (`SoVITS.decode`):
  codes [1, 1, T25] --codebook--> [1, 768, T25] --x2 nearest--> 50 Hz content frames
  reference spectrogram(s) --style encoder--> ge [1, gin, 1] (averaged over references)
  content + phones + ge --enc_p (transformers + MRTE)--> prior mean / log-std [1, inter, T50]
  prior sample --flow (reversed)--> latent --HiFi-GAN generator--> waveform [1, 1, T50 * hop]

Module names and parameter layout match the official `SynthesizerTrn` so its `.pth` files load with
`strict=True`. All sizes come from the file's config (`SoVITSConfig.from_hparams`) or the weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from .checkpoint import CheckpointError, load_checkpoint, require_v2
from .sovits_modules import (
    MRTE, Encoder, Flow, PosteriorEncoder, ResidualVectorQuantizer, fold_weight_norm, sequence_mask,
)
from .sovits_style import StyleEncoder
from .sovits_vocoder import Generator

__all__ = ["SoVITSConfig", "TextEncoder", "SoVITS", "TrainOutput", "load_sovits", "fold_weight_norm", "check_sovits"]


@dataclass
class SoVITSConfig:
    # audio front end (hps.data)
    sampling_rate: int = 32000
    filter_length: int = 2048
    hop_length: int = 640
    win_length: int = 2048
    n_mel_channels: int = 128
    mel_fmin: float = 0.0
    mel_fmax: float | None = None
    segment_size: int = 32  # training crop, in frames (hps.train.segment_size // hop)
    # network (hps.model)
    inter_channels: int = 192
    hidden_channels: int = 192
    filter_channels: int = 768
    n_heads: int = 2
    n_layers: int = 6
    kernel_size: int = 3
    p_dropout: float = 0.1
    resblock: str = "1"
    resblock_kernel_sizes: list[int] = field(default_factory=lambda: [3, 7, 11])
    resblock_dilation_sizes: list[list[int]] = field(default_factory=lambda: [[1, 3, 5]] * 3)
    upsample_rates: list[int] = field(default_factory=lambda: [10, 8, 2, 2, 2])
    upsample_initial_channel: int = 512
    upsample_kernel_sizes: list[int] = field(default_factory=lambda: [16, 16, 8, 2, 2])
    gin_channels: int = 512
    semantic_frame_rate: str = "25hz"
    # fixed by the architecture rather than the config file (v2 values; overridable)
    n_symbols: int = 732
    ssl_dim: int = 768
    codebook_size: int = 1024
    n_codebooks: int = 1
    style_bins: int = 704  # the style encoder sees only the first 704 of 1025 bins (~0-11 kHz)
    style_hidden: int = 128
    style_kernel: int = 5
    style_heads: int = 2
    mrte_hidden: int = 512
    mrte_heads: int = 4
    rel_window: int = 4
    wn_kernel: int = 5
    posterior_layers: int = 16
    flow_layers: int = 4
    n_flows: int = 4

    @property
    def spec_channels(self) -> int:
        return self.filter_length // 2 + 1

    @classmethod
    def from_hparams(cls, hps: Any, **overrides: Any) -> "SoVITSConfig":
        """Build from the file's `HParams` (sections data/train/model); unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for section in ("data", "model"):
            part = hps.get(section) if hasattr(hps, "get") else getattr(hps, section, None)
            for key, value in (part.items() if part is not None else ()):
                if key in names:
                    values[key] = value
        train = hps.get("train") if hasattr(hps, "get") else None
        if train is not None and train.get("segment_size"):
            values["segment_size"] = train.get("segment_size") // values.get("hop_length", cls.hop_length)
        values.update(overrides)
        values["resblock"] = str(values.get("resblock", "1"))
        return cls(**values)


class TextEncoder(nn.Module):
    """The prior: content frames and phones (with style) -> mean and log-std of the latent."""

    def __init__(self, cfg: SoVITSConfig) -> None:
        super().__init__()
        h = cfg.hidden_channels
        self.out_channels = cfg.inter_channels
        enc = lambda n: Encoder(h, cfg.filter_channels, cfg.n_heads, n, cfg.kernel_size,
                                cfg.p_dropout, cfg.rel_window)
        self.ssl_proj = nn.Conv1d(cfg.ssl_dim, h, 1)
        self.encoder_ssl = enc(cfg.n_layers // 2)
        self.encoder_text = enc(cfg.n_layers)
        self.text_embedding = nn.Embedding(cfg.n_symbols, h)
        self.mrte = MRTE(h, cfg.mrte_hidden, cfg.mrte_heads)
        self.encoder2 = enc(cfg.n_layers // 2)
        self.proj = nn.Conv1d(h, cfg.inter_channels * 2, 1)

    def forward(self, y: torch.Tensor, y_lengths: torch.Tensor, text: torch.Tensor,
                text_lengths: torch.Tensor, ge: torch.Tensor, speed: float = 1.0
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """y [B, ssl_dim, T50], text [B, L] -> (hidden, m, logs, mask), all at T50 / speed."""
        y_mask = sequence_mask(y_lengths, y.size(2)).unsqueeze(1).to(y.dtype)
        y = self.ssl_proj(y * y_mask) * y_mask
        y = self.encoder_ssl(y * y_mask, y_mask)
        text_mask = sequence_mask(text_lengths, text.size(1)).unsqueeze(1).to(y.dtype)
        t = self.encoder_text(self.text_embedding(text).transpose(1, 2) * text_mask, text_mask)
        y = self.mrte(y, y_mask, t, text_mask, ge)
        y = self.encoder2(y * y_mask, y_mask)
        if speed != 1:
            # Speed changes the number of frames handed to the flow and vocoder (+1 as the original).
            y = F.interpolate(y, size=int(y.shape[-1] / speed) + 1, mode="linear")
            y_mask = F.interpolate(y_mask, size=y.shape[-1], mode="nearest")
        m, logs = torch.split(self.proj(y) * y_mask, self.out_channels, dim=1)
        return y, m, logs, y_mask


class SoVITS(nn.Module):
    """SynthesizerTrn (v2). Attribute names are the state-dict prefixes of the official files."""

    def __init__(self, cfg: SoVITSConfig, with_posterior: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        self.enc_p = TextEncoder(cfg)
        self.dec = Generator(cfg.inter_channels, cfg.resblock, cfg.resblock_kernel_sizes,
                             cfg.resblock_dilation_sizes, cfg.upsample_rates,
                             cfg.upsample_initial_channel, cfg.upsample_kernel_sizes, cfg.gin_channels)
        if with_posterior:  # only training needs it; fine-tuned files omit its weights
            self.enc_q = PosteriorEncoder(cfg.spec_channels, cfg.inter_channels, cfg.hidden_channels,
                                          cfg.wn_kernel, 1, cfg.posterior_layers, cfg.gin_channels)
        self.flow = Flow(cfg.inter_channels, cfg.hidden_channels, cfg.wn_kernel, 1,
                         cfg.flow_layers, cfg.n_flows, cfg.gin_channels)
        self.ref_enc = StyleEncoder(cfg.style_bins, cfg.style_hidden, cfg.gin_channels,
                                    cfg.style_kernel, cfg.style_heads)
        stride = 2 if cfg.semantic_frame_rate == "25hz" else 1
        self.ssl_proj = nn.Conv1d(cfg.ssl_dim, cfg.ssl_dim, stride, stride=stride)
        self.quantizer = ResidualVectorQuantizer(cfg.ssl_dim, cfg.codebook_size, cfg.n_codebooks)

    @property
    def has_posterior(self) -> bool:
        return hasattr(self, "enc_q")

    # ------------------------------------------------------------------ pieces

    def extract_latent(self, ssl: torch.Tensor) -> torch.Tensor:
        """SSL features [B, 768, T50] -> semantic codes [B, n_q, T25]."""
        return self.quantizer.encode(self.ssl_proj(ssl)).transpose(0, 1)

    def ref_style(self, spec: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Linear spectrogram [B, 1025, T] -> style vector ge [B, gin, 1]."""
        if lengths is None:
            lengths = torch.full((spec.size(0),), spec.size(2), dtype=torch.long, device=spec.device)
        mask = sequence_mask(lengths, spec.size(2)).unsqueeze(1).to(spec.dtype)
        return self.ref_enc(spec[:, : self.cfg.style_bins] * mask, mask)

    def content(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [n_q, B, T25] -> dequantized content at the 50 Hz frame rate [B, ssl_dim, T50]."""
        quantized = self.quantizer.decode(codes)
        if self.cfg.semantic_frame_rate == "25hz":
            quantized = F.interpolate(quantized, size=quantized.shape[-1] * 2, mode="nearest")
        return quantized

    def prior(self, codes: torch.Tensor, phones: torch.Tensor, ge: torch.Tensor, speed: float = 1.0):
        """(hidden, m_p, logs_p, mask) from codes [1, 1, T25] and phones [1, L] (batch of one)."""
        quantized = self.content(codes)
        y_lengths = torch.tensor([quantized.size(2)], device=codes.device)
        text_lengths = torch.tensor([phones.size(-1)], device=codes.device)
        return self.enc_p(quantized, y_lengths, phones, text_lengths, ge, speed)

    # ------------------------------------------------------------------ training

    def forward(self, ssl: torch.Tensor, spec: torch.Tensor, spec_lengths: torch.Tensor,
                phones: torch.Tensor, phone_lengths: torch.Tensor) -> "TrainOutput":
        """Training pass: ssl [B, 768, T50], spec [B, 1025, T50], phones [B, L].

        The SSL projection and codebook stay frozen (no gradient, eval mode): the GPT's tokens
        were made with the pretrained ones, so they must not drift during fine-tuning.
        """
        assert self.has_posterior, "training needs the posterior encoder (enc_q) weights"
        mask = sequence_mask(spec_lengths, spec.size(2)).unsqueeze(1).to(spec.dtype)
        ge = self.ref_enc(spec[:, : self.cfg.style_bins] * mask, mask)
        self.ssl_proj.eval()
        self.quantizer.eval()
        with torch.no_grad():
            quantized, _, commit = self.quantizer(self.ssl_proj(ssl))
        if self.cfg.semantic_frame_rate == "25hz":
            quantized = F.interpolate(quantized, size=quantized.shape[-1] * 2, mode="nearest")
        _, m_p, logs_p, _ = self.enc_p(quantized, spec_lengths, phones, phone_lengths, ge)
        z, m_q, logs_q, mask = self.enc_q(spec, spec_lengths, g=ge)
        z_p = self.flow(z, mask, g=ge)
        z_slice, ids_slice = _random_slices(z, spec_lengths, self.cfg.segment_size)
        wav = self.dec(z_slice, g=ge)
        return TrainOutput(wav, ids_slice, mask, z, z_p, m_p, logs_p, m_q, logs_q, commit)

    # ------------------------------------------------------------------ inference

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, phones: torch.Tensor, refer_specs: list[torch.Tensor] | torch.Tensor,
               noise_scale: float = 0.5, speed: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """codes [1, 1, T25], phones [1, L], reference spectrogram(s) [1, 1025, T] -> wav [1, 1, N]."""
        if isinstance(refer_specs, torch.Tensor):
            refer_specs = [refer_specs]
        # Several references: their style vectors are averaged.
        ge = torch.stack([self.ref_style(r) for r in refer_specs]).mean(0)
        _, m_p, logs_p, mask = self.prior(codes, phones, ge, speed)
        noise = torch.randn(m_p.shape, generator=generator, dtype=m_p.dtype, device=m_p.device)
        z_p = m_p + noise * torch.exp(logs_p) * noise_scale
        z = self.flow(z_p, mask, g=ge, reverse=True)
        return self.dec(z * mask, g=ge)


@dataclass
class TrainOutput:
    wav: torch.Tensor         # [B, 1, segment_size * hop] generated crops
    ids_slice: torch.Tensor   # [B] first frame of each crop (to cut the matching real audio)
    mask: torch.Tensor        # [B, 1, T50] valid spectrogram frames
    z: torch.Tensor           # posterior sample
    z_p: torch.Tensor         # posterior sample mapped through the flow (KL against the prior)
    m_p: torch.Tensor
    logs_p: torch.Tensor
    m_q: torch.Tensor
    logs_q: torch.Tensor
    commit_loss: torch.Tensor


def _random_slices(x: torch.Tensor, lengths: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random window of `size` frames per item, within its valid length."""
    max_start = (lengths - size + 1).clamp_min(1)
    starts = (torch.rand(x.size(0), device=x.device) * max_start).long()
    idx = starts[:, None] + torch.arange(size, device=x.device)[None, :]
    idx = idx.clamp_max(x.size(2) - 1)
    return torch.gather(x, 2, idx[:, None, :].expand(-1, x.size(1), -1)), starts


def _infer_fixed_sizes(weight: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """Sizes the config file does not state, read from the weights themselves."""
    sizes: dict[str, int] = {}
    emb = weight.get("enc_p.text_embedding.weight")
    if emb is not None:
        sizes["n_symbols"] = emb.shape[0]
    ssl = weight.get("ssl_proj.weight")
    if ssl is not None:
        sizes["ssl_dim"] = ssl.shape[0]
    code = weight.get("quantizer.vq.layers.0._codebook.embed")
    if code is not None:
        sizes["codebook_size"] = code.shape[0]
    sizes["n_codebooks"] = sum(1 for k in weight if k.endswith("._codebook.embed")) or 1
    ref = weight.get("ref_enc.spectral.0.fc.weight")
    if ref is not None:
        sizes["style_hidden"], sizes["style_bins"] = ref.shape
    mrte = weight.get("enc_p.mrte.c_pre.weight")
    if mrte is not None:
        sizes["mrte_hidden"] = mrte.shape[0]
    rel = weight.get("enc_p.encoder_text.attn_layers.0.emb_rel_k")
    if rel is not None:
        sizes["rel_window"] = (rel.shape[1] - 1) // 2
    sizes["posterior_layers"] = sum(1 for k in weight if k.startswith("enc_q.enc.in_layers.") and k.endswith("bias")) or 16
    sizes["n_flows"] = len({k.split(".")[2] for k in weight if k.startswith("flow.flows.")}) or 4
    sizes["flow_layers"] = sum(1 for k in weight if k.startswith("flow.flows.0.enc.in_layers.") and k.endswith("bias")) or 4
    return sizes


def load_sovits(path: str | Path, device: str | torch.device = "cpu") -> SoVITS:
    """Load an official (or fine-tuned) v2 SoVITS `.pth`; eval mode, fp32 weights."""
    ckpt = load_checkpoint(path)
    require_v2(ckpt, Path(path).name)
    weight = ckpt["weight"]
    try:
        cfg = SoVITSConfig.from_hparams(ckpt["config"], **_infer_fixed_sizes(weight))
    except (TypeError, AttributeError, KeyError) as exc:
        raise CheckpointError(f"{Path(path).name}: its configuration is unreadable ({exc}).") from None
    with_posterior = any(k.startswith("enc_q.") for k in weight)
    model = SoVITS(cfg, with_posterior=with_posterior)
    try:
        model.load_state_dict({k: v.float() for k, v in weight.items()}, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{Path(path).name} does not match the SoVITS v2 layout: {str(exc).splitlines()[0]}") from None
    return model.to(device).eval()


# ---------------------------------------------------------------------------------- conformance


def _rel(out: torch.Tensor, ref: torch.Tensor) -> float:
    out, ref = out.detach().double().cpu(), ref.detach().double().cpu()
    if out.shape != ref.shape:
        return float("inf")
    return float((out - ref).norm() / ref.norm().clamp_min(1e-30))


@torch.no_grad()
def check_sovits(model: SoVITS, expected: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Relative error ||out - ref|| / ||ref|| of every SoVITS output in `expected.pt`
    (codes: fraction of mismatching ids). Expects the model of `s2G_tiny.pth`."""
    from .spectrogram import linear_spectrogram, spec_to_mel

    cfg, e, r = model.cfg, expected, {}
    spec = linear_spectrogram(e["wave_32k"], cfg.filter_length, cfg.hop_length, cfg.win_length)
    r["spec"] = _rel(spec, e["spec"])
    mel = spec_to_mel(spec, cfg.sampling_rate, cfg.filter_length, cfg.n_mel_channels, cfg.mel_fmin, cfg.mel_fmax)
    r["mel"] = _rel(mel, e["mel"])
    ref_spec = e["spec"]  # downstream checks start from the reference inputs, to localise errors

    codes = model.extract_latent(e["ssl"])
    r["codes"] = float((codes != e["codes"]).float().mean()) if codes.shape == e["codes"].shape else 1.0
    r["quantized"] = _rel(model.quantizer.decode(e["codes"].transpose(0, 1)), e["quantized"])
    ge = model.ref_style(ref_spec)
    r["ge"] = _rel(ge, e["ge"])
    ge = e["ge"]
    if model.has_posterior:
        lengths = torch.tensor([ref_spec.size(2)])
        _, m_q, logs_q, _ = model.enc_q(ref_spec, lengths, g=ge)
        r["enc_q_m"], r["enc_q_logs"] = _rel(m_q, e["enc_q_m"]), _rel(logs_q, e["enc_q_logs"])
    mask = torch.ones_like(e["flow_in"][:, :1])
    r["flow_out"] = _rel(model.flow(e["flow_in"], mask, g=ge), e["flow_out"])
    r["flow_back"] = _rel(model.flow(e["flow_out"], mask, g=ge, reverse=True), e["flow_back"])
    r["dec_out"] = _rel(model.dec(e["flow_in"][:, :, :32], g=ge), e["dec_out"])
    _, m_p, logs_p, _ = model.prior(e["codes"], e["phones"], ge)
    r["enc_p_m"], r["enc_p_logs"] = _rel(m_p, e["enc_p_m"]), _rel(logs_p, e["enc_p_logs"])
    r["decode_wav"] = _rel(model.decode(e["codes"], e["phones"], [ref_spec], noise_scale=0.0), e["decode_wav"])
    r["decode_wav_speed1_25"] = _rel(
        model.decode(e["codes"], e["phones"], [ref_spec], noise_scale=0.0, speed=1.25),
        e["decode_wav_speed1_25"])
    return r
