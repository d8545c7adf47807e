"""`voicebank bench`'s fine-tuning figures (`train.sovits`, `train.gpt`).

One optimiser step of the generator (SoVITS: reconstruction + KL-like + commitment terms, no
discriminator) or of the GPT (`forward_train`'s summed cross-entropy) with AdamW at a fixed
batch; they measure the models' forward/backward cost, not `core.train`'s loop.
"""
from __future__ import annotations

import gc
from typing import Any

import torch

from core.bench.machine import median, peak_rss_mb, reset_peak_rss, timed
from core.bench.models import gpt_config, sovits_hparams

__all__ = ["train_figures"]


def train_figures(device: torch.device, quick: bool, steps: int) -> dict:
    from core.engine.checkpoint import HParams
    from core.engine.gpt import Text2Semantic
    from core.engine.sovits import SoVITS, SoVITSConfig

    amp_modes: list[torch.dtype | None] = [None]
    if device.type == "cuda":
        amp_modes.append(torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    out: dict[str, Any] = {}

    def measure(build, make_batch, loss_fn, amp):
        torch.manual_seed(0)
        model = build().to(device).train()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
        batch = make_batch()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        else:
            gc.collect()
            reset_peak_rss()  # peak = the process while training this model (CPU)

        def step():
            opt.zero_grad(set_to_none=True)
            ctx = torch.autocast(device.type, dtype=amp) if amp is not None else torch.autocast(device.type, enabled=False)
            with ctx:
                loss = loss_fn(model, batch)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()

        step()  # warm-up
        times = [timed(step, device)[0] for _ in range(steps)]
        peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else peak_rss_mb())
        model = opt = None  # free them now (not `del`: step() closes over them)
        return {"steps_per_s": round(1 / median(times), 3), "peak_mb": round(peak, 1)}

    # SoVITS generator step.
    scfg = SoVITSConfig.from_hparams(HParams(**sovits_hparams(quick)))
    B, T = (2, 64) if quick else ((8, 250) if device.type == "cuda" else (2, 200))

    def sov_batch():
        g = torch.Generator().manual_seed(0)
        return dict(ssl=torch.randn(B, 768, T, generator=g).to(device),
                    spec=torch.rand(B, scfg.spec_channels, T, generator=g).to(device),
                    spec_lengths=torch.full((B,), T, device=device),
                    phones=torch.randint(0, 732, (B, 60), generator=g).to(device),
                    phone_lengths=torch.full((B,), 60, device=device))

    def sov_loss(model, b):
        o = model(**b)
        kl = (o.logs_q.exp().pow(2) + (o.z_p - o.m_p).pow(2)).mean() - o.logs_p.mean()
        return o.wav.float().abs().mean() + kl.float() + o.commit_loss.float().mean()

    sov = {"batch": B, "frames": T}
    for amp in amp_modes:
        key = "fp32" if amp is None else "amp"
        sov[key] = measure(lambda: SoVITS(scfg, with_posterior=True), sov_batch, sov_loss, amp)
        sov.setdefault("amp", None)
        if amp is not None:
            sov["amp"]["dtype"] = str(amp).replace("torch.", "")
    out["sovits"] = sov

    # GPT step.
    gcfg = gpt_config(quick)
    GB, TX, TY = (2, 30, 50) if quick else ((8, 60, 250) if device.type == "cuda" else (4, 60, 250))

    def gpt_batch():
        g = torch.Generator().manual_seed(0)
        return (torch.randint(0, 732, (GB, TX), generator=g).to(device), torch.full((GB,), TX, device=device),
                torch.randn(GB, 1024, TX, generator=g).to(device),
                torch.randint(0, 1024, (GB, TY), generator=g).to(device), torch.full((GB,), TY, device=device))

    def gpt_loss(model, b):
        return model.forward_train(*b)[1].float() / GB

    gp = {"batch": GB, "text_tokens": TX, "audio_tokens": TY}
    for amp in amp_modes:
        key = "fp32" if amp is None else "amp"
        gp[key] = measure(lambda: Text2Semantic(gcfg), gpt_batch, gpt_loss, amp)
        gp.setdefault("amp", None)
        if amp is not None:
            gp["amp"]["dtype"] = str(amp).replace("torch.", "")
    out["gpt"] = gp
    return out
