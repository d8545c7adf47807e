"""Fine-tuning figures of the GPU bench (`python -m core.bench.gpu`): the app's own trainers.

Unlike `core.bench.training` (one bare forward/backward of each model), these run the trainers a
build runs (`core.train.sovits_train.SoVITSTrainer`: G and D with every loss;
`core.train.gpt_train.GPTTrainer`), on the precision `core.train.device.choose` gives, with
full-size random models (reduced ones under `smoke`).

`train_steps` (key `train`): per stage (sovits, gpt), four settings: fp32, amp (bf16 where the
card has it, else fp16 with loss scaling: the build's "auto"), and each with gradient
checkpointing (`*_ckpt`). Each: {precision, steps_per_s (one optimizer step over one batch,
median after a warm-up step), peak_mb (torch.cuda.max_memory_allocated over the measured steps:
weights, gradients, AdamW state and activations; the process's peak RSS on the CPU),
resident_mb (allocated after the warm-up: weights, gradients, optimiser state), activation_mb
(peak - resident: what a step adds, where AMP and checkpointing act), batch, frames / tokens}. On CUDA "fp32" runs TF32 matmuls, as a build does (`choose` turns TF32 on). Also
`amp_speedup` and `amp_memory_saving` (1 - amp peak / fp32 peak) per stage.

`finetune_minute` (key `finetune_minute`): the wall time of fine-tuning a voice on one minute of
speech, as `core.train.build` does it after the bank is read: load HuBERT, BERT and the base
SoVITS, extract the features of 15 takes of 4 s (speech-like audio, Chinese sentences), then
`core.train.finetune` (SoVITS then GPT, the default epochs for one minute: 8 and 15, batch from
free memory), then write the voice's two files. {speech_s, takes, wall_s, load_s, features_s,
sovits_s, gpt_s, save_s, sovits_steps, gpt_steps, precision, device, target_s (180)}.
"""
from __future__ import annotations

import gc
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from core.bench.machine import median, peak_rss_mb, reset_peak_rss, sync

__all__ = ["train_steps", "finetune_minute", "synthetic_items"]

SETTINGS = (("fp32", "fp32", False), ("amp", "auto", False), ("fp32_ckpt", "fp32", True),
            ("amp_ckpt", "auto", True))
MINUTE_TARGET_S = 180.0


def synthetic_items(n: int, seconds: float, phones: int, seed: int = 0) -> list:
    """Training items with random features (what `dataset.extract_item` makes from a take)."""
    from core.train.dataset import HOP, Item

    g = torch.Generator().manual_seed(seed)
    frames = int(seconds * 50)
    out = []
    for i in range(n):
        wav = (torch.randn(frames * HOP, generator=g) * 3000).clamp(-32767, 32767).to(torch.int16)
        out.append(Item(f"b{i}", "x", wav, torch.randn(768, frames, generator=g).half(),
                        torch.randint(0, 700, (phones,), generator=g),
                        torch.randn(1024, phones, generator=g).half(),
                        torch.randint(0, 1024, (frames // 2,), generator=g)))
    return out


def _configs(smoke: bool):
    """(SoVITS, GPT) configurations: full size, or the bench's tiny ones under `smoke`."""
    from core.bench.models import gpt_config, sovits_hparams
    from core.engine.checkpoint import HParams
    from core.engine.sovits import SoVITSConfig

    return SoVITSConfig.from_hparams(HParams(**sovits_hparams(tiny=smoke))), gpt_config(tiny=smoke)


def _discriminator(smoke: bool):
    from core.engine.sovits_discriminator import MultiPeriodDiscriminator
    from core.train.sovits_train import PERIODS

    return MultiPeriodDiscriminator(PERIODS[:1] if smoke else PERIODS[:5])


def _measure(device: str, precision: str, build: Callable[[Any], tuple[Any, Callable[[], Any]]],
             steps: int) -> dict[str, Any]:
    """`build(dev)` -> (trainer, one_step); times `steps` steps after one warm-up step."""
    from core.train.device import choose

    dev = choose(device, precision)
    gc.collect()
    if dev.is_cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev.device)
    trainer, step = build(dev)
    step()                                            # warm-up: kernels chosen, AdamW state made
    sync(dev.device)
    if dev.is_cuda:
        resident = torch.cuda.memory_allocated(dev.device) / 2**20
        torch.cuda.reset_peak_memory_stats(dev.device)
    else:
        resident = None
        reset_peak_rss()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        sync(dev.device)
        times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated(dev.device) / 2**20 if dev.is_cuda else peak_rss_mb()
    return {"precision": dev.precision, "steps_per_s": round(1 / median(times), 3), "peak_mb": round(peak, 1),
            "resident_mb": None if resident is None else round(resident, 1),
            "activation_mb": None if resident is None else round(peak - resident, 1)}


def train_steps(device: str = "cuda", smoke: bool = False, steps: int | None = None,
                log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Steps/s and peak memory of both trainers, AMP and gradient checkpointing on and off."""
    from core.engine.gpt import Text2Semantic
    from core.engine.sovits import SoVITS
    from core.train.gpt_train import GPTTrainConfig, GPTTrainer
    from core.train.sovits_train import SoVITSTrainConfig, SoVITSTrainer

    say = log or (lambda s: None)
    steps = steps or (1 if smoke else 5)
    scfg, gcfg = _configs(smoke)
    batch, seconds, phones = (2, 1.5, 12) if smoke else (8, 8.0, 100)
    items = synthetic_items(batch, seconds, phones)
    out: dict[str, Any] = {}

    def sovits(ckpt: bool):
        def build(dev):
            torch.manual_seed(0)
            trainer = SoVITSTrainer(SoVITS(scfg, with_posterior=True), _discriminator(smoke),
                                    SoVITSTrainConfig(batch_size=batch, grad_checkpointing=ckpt), dev)
            data = trainer.collate(items)
            return trainer, lambda: trainer.step(data)
        return build

    def gpt(ckpt: bool):
        def build(dev):
            torch.manual_seed(0)
            trainer = GPTTrainer(Text2Semantic(gcfg), GPTTrainConfig(batch_size=batch, grad_checkpointing=ckpt,
                                                                     accumulate=1), dev)
            return trainer, lambda: trainer.step([items])
        return build

    for stage, make, size in (("sovits", sovits, {"frames": int(seconds * 50)}),
                              ("gpt", gpt, {"text_tokens": phones, "audio_tokens": int(seconds * 25)})):
        row: dict[str, Any] = {"batch": batch, **size}
        for name, precision, ckpt in SETTINGS:
            if precision == "auto" and not device.startswith("cuda"):
                row[name] = None                      # the CPU trains in fp32 only
                continue
            say(f"train {stage} {name}")
            try:
                row[name] = _measure(device, precision, make(ckpt), steps)
            except Exception as exc:  # noqa: BLE001 - one setting failing (out of memory) is a figure too
                row[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        fp32, amp = row.get("fp32") or {}, row.get("amp") or {}
        if fp32.get("steps_per_s") and amp.get("steps_per_s"):
            row["amp_speedup"] = round(amp["steps_per_s"] / fp32["steps_per_s"], 3)
            row["amp_memory_saving"] = round(1 - amp["peak_mb"] / fp32["peak_mb"], 3)
        else:
            row["amp_speedup"] = row["amp_memory_saving"] = None
        out[stage] = row
    errors = [r["error"] for stage in out.values() for r in stage.values() if isinstance(r, dict) and "error" in r]
    measured = [r for stage in out.values() for r in stage.values() if isinstance(r, dict) and "steps_per_s" in r]
    if errors and not measured:       # nothing measured at all (no GPU, say): the part failed
        raise RuntimeError(errors[0])
    return out


@dataclass
class _Take:
    """What `dataset.extract_item` reads of a take."""
    id: str
    text: str
    path: Path

    def best_audio_path(self) -> Path:
        return self.path


def _base_files(folder: Path, smoke: bool) -> tuple[Path, Path]:
    """A base generator WITH its posterior encoder (as the pretrained s2G) and a discriminator."""
    from core.bench.memory import sovits_file_config
    from core.engine.checkpoint import save_sovits
    from core.engine.sovits import SoVITS

    scfg, _ = _configs(smoke)
    torch.manual_seed(1)
    g_path, d_path = folder / "s2G.pth", folder / "s2D.pth"
    save_sovits(g_path, SoVITS(scfg, with_posterior=True).state_dict(), sovits_file_config(tiny=smoke),
                "voicebank bench base (random weights)")
    d = _discriminator(smoke)
    torch.save({"weight": {k: v.half() for k, v in d.state_dict().items()}, "info": "bench"}, d_path)
    return g_path, d_path


def finetune_minute(models: Path, device: str = "cuda", smoke: bool = False,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Wall time of fine-tuning on one minute of speech (module docstring); `models`: the
    folder `core.bench.memory.save_models` wrote (its GPT is the base GPT)."""
    from core.bench.memory import gpt_file_config, sovits_file_config
    from core.bench.models import LONG_TEXTS, reference_wav
    from core.engine.checkpoint import save_gpt, save_sovits
    from core.engine.features import BERT_NAME, HUBERT_NAME, load_bert, load_hubert
    from core.engine.gpt import checkpoint_weights
    from core.engine.sovits import load_sovits
    from core.train.dataset import FeatureModels, extract_item, minutes
    from core.train.device import choose
    from core.train.finetune import TrainSpec, finetune
    from core.train.ready import default_epochs

    say = log or (lambda s: None)
    takes_n, seconds = (2, 1.5) if smoke else (15, 4.0)
    res: dict[str, Any] = {"takes": takes_n, "target_s": MINUTE_TARGET_S}
    with tempfile.TemporaryDirectory(prefix="voicebank-finetune-") as tmp:
        work = Path(tmp)
        g_path, d_path = _base_files(work, smoke)
        takes = [_Take(f"t{i}", LONG_TEXTS[i % len(LONG_TEXTS)],
                       reference_wav(work / f"t{i}.wav", seconds, seed=10 + i)) for i in range(takes_n)]
        say(f"fine-tuning on {takes_n} x {seconds} s")
        t0 = time.perf_counter()
        dev = choose(device, "auto")
        fm = FeatureModels(load_hubert(models / HUBERT_NAME, dev.device), load_bert(models / BERT_NAME, dev.device),
                           load_sovits(g_path, dev.device), dev.device)
        t_load = time.perf_counter()
        items = [it for it in (extract_item(t, fm) for t in takes) if it is not None]
        sync(dev.device)
        t_feat = time.perf_counter()
        stages: dict[str, float] = {}

        def progress(stage: str):
            def report(**kw) -> None:
                stages[stage] = time.perf_counter()
            return report

        sov_epochs, gpt_epochs = default_epochs(minutes(items))
        spec = TrainSpec(base_gpt=str(models / "gpt.ckpt"), base_sovits_g=str(g_path), base_sovits_d=str(d_path),
                         sovits_epochs=sov_epochs, gpt_epochs=gpt_epochs, max_steps=1 if smoke else None)
        trained = finetune(spec, items, dev, work / "job", progress, base_g=fm.sovits, log=say)
        sync(dev.device)
        t_train = time.perf_counter()
        save_sovits(work / "sovits.pth", trained.sovits_weights, sovits_file_config(tiny=smoke), "bench")
        save_gpt(work / "gpt.ckpt", checkpoint_weights(trained.gpt), gpt_file_config(trained.gpt if smoke else None),
                 "bench")
        t_end = time.perf_counter()
    sovits_end = stages.get("sovits", t_feat)
    res.update(speech_s=round(sum(it.seconds for it in items), 2), items=len(items),
               wall_s=round(t_end - t0, 2), load_s=round(t_load - t0, 2), features_s=round(t_feat - t_load, 2),
               sovits_s=round(sovits_end - t_feat, 2), gpt_s=round(t_train - sovits_end, 2),
               save_s=round(t_end - t_train, 2), sovits_steps=trained.sovits_steps, gpt_steps=trained.gpt_steps,
               sovits_epochs=sov_epochs, gpt_epochs=gpt_epochs, precision=dev.precision, device=dev.name)
    return res
