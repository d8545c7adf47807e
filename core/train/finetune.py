"""The two training stages in order (SoVITS, then GPT), from prepared features to trained weights.

The same function runs in the build's own process (one device) and in every rank of a
multi-GPU build (core.train.rank_main), so both paths train alike. `TrainSpec` holds what it
needs as plain values: it travels to the ranks as JSON.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from . import checkpoints
from .dataset import Item, gpt_items, sovits_items
from .device import Device, auto_batch_size, release_memory
from .distributed import SOLO, Dist
from .errors import GET_MODELS, BuildError

SOVITS_STATE = "sovits.state.pt"
GPT_STATE = "gpt.state.pt"


@dataclass
class TrainSpec:
    base_gpt: str
    base_sovits_g: str
    base_sovits_d: str
    sovits_epochs: int
    gpt_epochs: int
    max_steps: int | None = None
    batch_size: int | None = None          # None -> from this device's free memory
    checkpoint_every: int = 50
    grad_checkpointing: bool = False
    seed: int = 0
    batch_caps: dict[str, int] = field(default_factory=dict)   # per stage, after an OOM restart


@dataclass
class Trained:
    sovits_weights: dict[str, torch.Tensor]     # G without the training-only posterior encoder
    gpt: Any                                     # the fine-tuned GPT model
    sovits_steps: int
    sovits_epoch: int
    gpt_steps: int
    gpt_epoch: int


ProgressFactory = Callable[[str], Callable[..., None]]


def _export_weights(g_state: dict) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in g_state.items() if "enc_q" not in k}


def finetune(spec: TrainSpec, items: list[Item], dev: Device, job_dir: Path,
             progress: ProgressFactory | None = None, cancel: Callable[[], bool] | None = None,
             log: Callable[[str], None] | None = None, dist: Dist = SOLO, base_g=None) -> Trained:
    """Train SoVITS then GPT, resuming from the checkpoints in job_dir. `base_g` may be the base
    generator already loaded (for the features) to save loading it twice."""
    from core.engine.checkpoint import CheckpointError
    from core.engine.gpt import load_gpt
    from core.engine.sovits import load_sovits

    from .gpt_train import GPTTrainConfig, train_gpt
    from .sovits_train import SoVITSTrainConfig, load_discriminator, train_sovits

    job_dir = Path(job_dir)
    stage_progress = progress or (lambda stage: None)

    # ---- SoVITS
    if base_g is None:
        try:
            base_g = load_sovits(Path(spec.base_sovits_g), dev.device)
        except CheckpointError as exc:
            raise BuildError(f"The base SoVITS generator cannot be used: {exc} {GET_MODELS}") from None
    scfg = SoVITSTrainConfig(
        epochs=spec.sovits_epochs, max_steps=spec.max_steps,
        batch_size=spec.batch_size or auto_batch_size(dev, "sovits"),
        checkpoint_every=spec.checkpoint_every, grad_checkpointing=spec.grad_checkpointing, seed=spec.seed)
    try:
        d = load_discriminator(Path(spec.base_sovits_d))
    except CheckpointError as exc:
        raise BuildError(f"The base SoVITS discriminator cannot be used: {exc} {GET_MODELS}") from None
    g, sovits_steps, sovits_epoch = train_sovits(
        base_g, d, sovits_items(items), scfg, dev, job_dir / SOVITS_STATE, stage_progress("sovits"),
        cancel, log, dist, spec.batch_caps.get("sovits"))
    sovits_weights = _export_weights(g.state_dict())
    del g, d, base_g
    release_memory(dev)

    # ---- GPT
    try:
        gpt = load_gpt(Path(spec.base_gpt), dev.device)
    except CheckpointError as exc:
        raise BuildError(f"The base GPT model cannot be used: {exc} {GET_MODELS}") from None
    gcfg = GPTTrainConfig(
        epochs=spec.gpt_epochs, max_steps=spec.max_steps,
        batch_size=spec.batch_size or auto_batch_size(dev, "gpt"),
        checkpoint_every=spec.checkpoint_every, grad_checkpointing=spec.grad_checkpointing, seed=spec.seed)
    gpt, gpt_steps, gpt_epoch = train_gpt(gpt, gpt_items(items), gcfg, dev, job_dir / GPT_STATE,
                                          stage_progress("gpt"), cancel, log, dist,
                                          spec.batch_caps.get("gpt"))
    return Trained(sovits_weights, gpt, sovits_steps, sovits_epoch, gpt_steps, gpt_epoch)


def trained_from_checkpoints(spec: TrainSpec, job_dir: Path) -> Trained:
    """What a multi-GPU build trained, read back from the final checkpoints rank 0 wrote."""
    from core.engine.gpt import load_gpt

    job_dir = Path(job_dir)
    sov = checkpoints.load_state(job_dir / SOVITS_STATE)
    gst = checkpoints.load_state(job_dir / GPT_STATE)
    if not (sov and sov.get("done") and gst and gst.get("done")):
        raise BuildError("The training processes ended without finishing the training; build "
                         "again to go on from the last checkpoint.")
    gpt = load_gpt(Path(spec.base_gpt), torch.device("cpu"))
    gpt.load_state_dict(gst["model"])
    return Trained(_export_weights(sov["g"]), gpt, int(sov["step"]), int(sov["epoch"]),
                   int(gst["step"]), int(gst["epoch"]))
