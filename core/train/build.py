"""Build a personal voice from a speaker's bank: the public API of core.train.

    blockers = check_ready(BuildConfig("anna"))          # [] when a build can start
    voice = build_voice(cfg, job_dir, progress, cancel)   # <speaker>/voices/<id>/, resumable
    make_zero_shot_voice(speaker)                         # base models + one reference take
    list_voices(speaker)

Stages (each reports BuildProgress): features (cached per take), sovits, gpt, export. A job
folder holds job.json (the voice id, so a resumed build finishes the same voice) and one
checkpoint per training stage; calling build_voice again with the same folder goes on from the
last checkpoint (stage and step). A voice folder appears only when complete: it is written as
`.<id>.part` and renamed.

Training runs in this process on one device, or, with several GPUs (cfg.gpus; by default all
of them when there are more than one), in one torchrun rank per GPU under DistributedDataParallel
(core.train.distributed); rank 0 writes the checkpoints, and the voice is exported from them here.

Voice folder: gpt.ckpt and sovits.pth in the official formats, reference.wav (32 kHz) and
reference.txt, voice.json (the VoiceCard). Zero-shot voices hold no model files: their card's
gpt_path/sovits_path are empty, meaning the base models of the model store. The card, list_voices
and voice_model_paths live in core.voices.card (reading a voice needs no training code); they stay
part of this API because the worker reads a finished voice through this module.
"""
from __future__ import annotations

import secrets
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

# list_voices / voice_model_paths are used through this module by the worker (core.worker.build_jobs),
# whose tests put a stand-in for it in sys.modules.
from core.voices.card import VoiceCard, list_voices, voice_model_paths
from core.voices.files import BASE_MODEL, VOICES

from .errors import GET_MODELS, BuildCancelled, BuildError
# What a build starts from and whether it can start (core.train.ready); BuildConfig, check_ready
# and usable_audio are part of this API too (the worker and `voicebank build` use them from here).
from .ready import (BASE_G_FILE, BASE_GPT_FILE, REF_MAX_S, REF_MIN_S, BuildConfig, check_ready,
                    default_epochs, describe_duration, model_paths, open_bank, pick_reference,
                    usable_audio)

__all__ = [
    "BuildConfig", "BuildProgress", "BuildError", "BuildCancelled", "VoiceCard",
    "usable_audio", "check_ready", "build_voice", "make_zero_shot_voice", "list_voices",
    "voice_model_paths", "pick_reference", "default_epochs",
]


@dataclass
class BuildProgress:
    stage: str            # "features" | "sovits" | "gpt" | "export"
    step: int
    total: int
    epoch: int | None = None
    loss: float | None = None
    eta_s: float | None = None
    message: str = ""


# ---------------------------------------------------------------------------------- build


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _write_json(path: Path, data) -> None:
    from core.bank.files import write_json_atomic

    write_json_atomic(path, data)


def _read_json(path: Path):
    from core.bank.files import read_json

    return read_json(path)


def _as_build_error(exc: Exception) -> BuildError:
    return BuildError(str(exc))


def build_voice(cfg: BuildConfig, job_dir: Path,
                progress: Callable[[BuildProgress], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> Path:
    """Fine-tune a voice for cfg.speaker_id; returns its folder. Resumable with the same job_dir."""
    from core.engine.checkpoint import CheckpointError
    from core.engine.features import ModelMissingError, load_bert, load_hubert
    from core.engine.sovits import load_sovits

    from . import dataset, device as devices, distributed
    from .finetune import TrainSpec, finetune, trained_from_checkpoints

    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda p: None)
    job = _read_json(job_dir / "job.json") or {}
    if job.get("voice") and (Path(job["voice"]) / "voice.json").is_file():
        return Path(job["voice"])  # finished earlier

    blockers = check_ready(cfg)
    if blockers:
        raise BuildError("\n".join(blockers))
    dev = devices.choose(cfg.device, cfg.precision)
    import torch

    n_procs = distributed.process_count(cfg.gpus, cfg.device,
                                        torch.cuda.device_count() if torch.cuda.is_available() else 0,
                                        distributed.can_launch())
    if n_procs > 1 and dev.is_cuda:  # one precision that every card can use
        cards = [devices.card(i) for i in range(n_procs)]
        dev.precision = devices.precision_for(cards, cfg.precision)
        dev.name = f"{n_procs} GPUs ({', '.join(sorted({c.name for c in cards}))})"
    elif n_procs > 1:
        dev.name += f", {n_procs} processes"
    paths = model_paths(cfg)
    speaker = open_bank(cfg).speaker(cfg.speaker_id)
    if not job.get("voice_id"):
        job = {"voice_id": f"v{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}",
               "speaker": cfg.speaker_id, "started": _now()}
        _write_json(job_dir / "job.json", job)
    from core.trust.consent import ConsentError, require_consent   # the consenting person's voice?

    try:
        job["speaker_check"] = require_consent(speaker, include_red=cfg.include_red).to_dict()
    except ConsentError as exc:
        raise BuildError(str(exc)) from None
    _write_json(job_dir / "job.json", job)

    # ---- features
    try:
        base_g = load_sovits(paths["g"], dev.device)
    except CheckpointError as exc:
        raise BuildError(f"The base SoVITS generator cannot be used: {exc} {GET_MODELS}") from None
    if not base_g.has_posterior:
        raise BuildError(f"{paths['g'].name} is a fine-tuned voice file, not the pretrained base "
                         "generator (it lacks the training-only posterior encoder). Use s2G2333k.pth.")

    def load_models():
        try:
            return dataset.FeatureModels(load_hubert(paths["hubert"], dev.device),
                                         load_bert(paths["bert"], dev.device), base_g, dev.device)
        except ModelMissingError as exc:
            raise BuildError(str(exc)) from None

    takes = dataset.usable_takes(speaker, cfg.include_red)
    key = dataset.models_identity(paths["g"], paths["hubert"], paths["bert"])
    report(BuildProgress("features", 0, len(takes), message="Preparing the recordings"))
    items, stats = dataset.extract_features(
        takes, dataset.cache_dir_of(speaker), key, load_models,
        lambda i, n, tid: report(BuildProgress("features", i, n, message=f"Prepared take {tid}")),
        cancel)
    if not items:
        raise BuildError("None of the recordings could be used (all silent, unreadable or without "
                         "text). Record the prompts again and check the microphone.")
    data_minutes = dataset.minutes(items)
    if data_minutes < cfg.min_minutes:
        raise BuildError(f"Only {describe_duration(data_minutes * 60)} of the recordings could be used; a "
                         f"voice needs at least {cfg.min_minutes:g} minute(s). Record more prompts.")
    sov_epochs, gpt_epochs = default_epochs(data_minutes)
    sov_epochs, gpt_epochs = cfg.sovits_epochs or sov_epochs, cfg.gpt_epochs or gpt_epochs
    job.update(data_minutes=round(data_minutes, 2), takes=len(items), features=stats["extracted"],
               cached=stats["cached"], skipped=stats["skipped"])
    _write_json(job_dir / "job.json", job)
    devices.release_memory(dev)

    def stage_progress(stage):
        def cb(step, total, epoch, loss, eta_s, losses):
            report(BuildProgress(stage, step, total, epoch, loss, eta_s,
                                 " ".join(f"{k} {v:.3g}" for k, v in losses.items())))
        return cb

    # ---- SoVITS, then GPT (core.train.finetune), in this process or in n_procs ranks
    spec = TrainSpec(
        base_gpt=str(paths["gpt"]), base_sovits_g=str(paths["g"]), base_sovits_d=str(paths["d"]),
        sovits_epochs=sov_epochs, gpt_epochs=gpt_epochs, max_steps=cfg.max_steps,
        batch_size=cfg.batch_size, checkpoint_every=cfg.checkpoint_every,
        grad_checkpointing=cfg.grad_checkpointing, seed=cfg.seed)
    if n_procs == 1:
        trained = finetune(spec, items, dev, job_dir, stage_progress, cancel, base_g=base_g)
    else:
        del base_g  # the ranks load their own copies
        devices.release_memory(dev)
        kept = {it.take_id for it in items}
        files = [str(dataset.cache_path(dataset.cache_dir_of(speaker), t, key))
                 for t in takes if t.id in kept]
        _train_in_ranks(spec, files, dev, n_procs, job_dir, report, cancel)
        trained = trained_from_checkpoints(spec, job_dir)
    sovits_weights, gpt = trained.sovits_weights, trained.gpt
    sovits_steps, sovits_epoch = trained.sovits_steps, trained.sovits_epoch
    gpt_steps, gpt_epoch = trained.gpt_steps, trained.gpt_epoch
    if cancel is not None and cancel():
        raise BuildCancelled("The build was cancelled before the voice was saved; build again to "
                             "finish it (training is done).")

    # ---- export
    report(BuildProgress("export", 0, 1, message="Saving the voice"))
    folder = _export(cfg, speaker, job, paths, gpt, sovits_weights, sovits_epoch, sovits_steps,
                     gpt_epoch, gpt_steps, data_minutes, len(items), dev)
    job["voice"] = str(folder)
    job["finished"] = _now()
    _write_json(job_dir / "job.json", job)
    report(BuildProgress("export", 1, 1, message=f"Voice saved in {folder}"))
    return folder


def _train_in_ranks(spec, item_files: list[str], dev, n: int, job_dir: Path,
                    report: Callable[[BuildProgress], None], cancel) -> None:
    """Train under torchrun with n ranks (see core.train.distributed). A rank out of GPU memory
    restarts the run from the last checkpoint with half the batch for that stage."""
    from dataclasses import asdict as as_dict

    from . import distributed

    def relay(event: dict) -> None:
        if "stage" in event:
            losses = event.get("losses") or {}
            report(BuildProgress(event["stage"], int(event["step"]), int(event["total"]),
                                 event.get("epoch"), event.get("loss"), event.get("eta_s"),
                                 " ".join(f"{k} {v:.3g}" for k, v in losses.items())))

    while True:
        launch = {"spec": as_dict(spec), "items": item_files, "device": dev.device.type,
                  "precision": dev.precision}
        outcome = distributed.launch(n, job_dir, launch, relay, cancel)
        if outcome.kind != "oom":
            return
        spec.batch_caps[outcome.stage] = outcome.batch_size
        report(BuildProgress(outcome.stage, 0, 0, message=(
            f"Out of GPU memory; starting again from the last checkpoint with batch size "
            f"{outcome.batch_size}")))


def _export(cfg, speaker, job, paths, gpt, sovits_weights, sovits_epoch, sovits_steps,
            gpt_epoch, gpt_steps, data_minutes, n_takes, dev) -> Path:
    from core.engine.checkpoint import load_checkpoint, save_gpt, save_sovits
    from core.engine.gpt import checkpoint_weights

    from .dataset import usable_takes

    voice_id = job["voice_id"]
    voices = Path(speaker.folder) / VOICES
    final = voices / voice_id
    part = voices / f".{voice_id}.part"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        base_g = load_checkpoint(paths["g"])
        base_gpt = load_checkpoint(paths["gpt"])
        save_sovits(part / "sovits.pth", sovits_weights, _finetune_config(base_g["config"]),
                    f"{sovits_epoch}epoch_{sovits_steps}iteration")
        save_gpt(part / "gpt.ckpt", checkpoint_weights(gpt), base_gpt["config"], f"GPT-e{gpt_epoch}")
        ref = pick_reference(usable_takes(speaker, cfg.include_red))
        _write_reference(part, ref)
        card = VoiceCard(
            id=voice_id, name=cfg.name or f"My voice ({datetime.now():%Y-%m-%d})", kind="fine-tuned",
            base_model=f"{BASE_MODEL} ({paths['gpt'].name}, {paths['g'].name})",
            data_minutes=round(data_minutes, 2), takes=n_takes, sovits_steps=sovits_steps,
            gpt_steps=gpt_steps, created=_now(), reference_take=ref.id, reference_text=ref.text,
            device=dev.name, precision=dev.precision)
        _write_json(part / "voice.json", asdict(card))
        if final.exists():
            shutil.rmtree(final)
        part.rename(final)
    except OSError as exc:
        shutil.rmtree(part, ignore_errors=True)
        raise BuildError(f"The voice could not be saved in {voices} ({exc.strerror or exc}). "
                         "Free some disk space and build again; training will not be repeated.") from exc
    return final


def _finetune_config(base_config) -> dict:
    """The base model's training config as the original's own fine-tuned files carry it: the
    version named at the top and under `model`, so ports that read those fields accept our voices."""
    config = base_config.to_dict() if hasattr(base_config, "to_dict") else dict(base_config)
    config["version"] = "v2"
    config["model"] = {**(config.get("model") or {}), "version": "v2"}
    return config


def _write_reference(folder: Path, take) -> None:
    from core.audio.io import read_audio, resample, write_wav

    clip = read_audio(take.best_audio_path())
    write_wav(folder / "reference.wav", resample(clip.samples, clip.sample_rate, 32000), 32000)
    (folder / "reference.txt").write_text(take.text.strip() + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------- voices


def make_zero_shot_voice(speaker, take=None, name: str | None = None) -> Path:
    """A voice from the base models and one reference take (no training): ready at once."""
    if take is None:
        from .dataset import usable_takes

        take = pick_reference(usable_takes(speaker, include_red=False))
        if take is None:
            raise BuildError("No take is between 3 and 10 seconds long (and not graded red); "
                             "record a prompt of one or two sentences to use as the reference.")
    elif not REF_MIN_S <= (take.duration_s or 0) <= REF_MAX_S:
        raise BuildError(f"The reference take is {take.duration_s:.1f} s long; it must be 3-10 s.")
    from core.trust.consent import ConsentError, require_consent   # it clones the voice too

    try:
        speaker_check = require_consent(speaker, [take]).to_dict()
    except ConsentError as exc:
        raise BuildError(str(exc)) from None
    voice_id = f"z{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    voices = Path(speaker.folder) / VOICES
    part, final = voices / f".{voice_id}.part", voices / voice_id
    part.mkdir(parents=True)
    try:
        _write_reference(part, take)
        card = VoiceCard(
            id=voice_id, name=name or f"Quick voice ({datetime.now():%Y-%m-%d})", kind="zero-shot",
            base_model=f"{BASE_MODEL} ({BASE_GPT_FILE}, {BASE_G_FILE})",
            data_minutes=round(take.duration_s / 60.0, 3), takes=1, sovits_steps=0, gpt_steps=0,
            created=_now(), reference_take=take.id, reference_text=take.text, device="", precision="",
            gpt_path="", sovits_path="")
        _write_json(part / "voice.json", {**asdict(card), "speaker_check": speaker_check})
        part.rename(final)
    except OSError as exc:
        shutil.rmtree(part, ignore_errors=True)
        raise BuildError(f"The voice could not be saved in {voices} ({exc.strerror or exc}).") from exc
    return final
