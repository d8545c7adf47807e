"""The worker's jobs that make a voice from the bank: `build` (fine-tune a personal voice from
the speaker's takes), `zero_shot` (a first version at once, from the base models and one take)
and `likeness` (how much the new voice sounds like the speaker), with what they share: the
speaker from params, the base model files (given or from the model store), and the result that
describes a made voice (its folder, card and the files `speak` needs).

The training code (core.train.build, and with it torch) is imported inside the jobs through
`_import_train_build()`, never at module import; tests put a stand-in for it in sys.modules.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.worker import protocol
from core.worker.context import (JobCancelled, JobContext, JobError, JobFn, existing_file,
                                 number_param, optional_step)

# Base files a build needs, by the params that can name them instead of the model store:
# param -> (model id, file names it stands for; empty = every file of that model).
BASE_PARAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "base_gpt": ("gpt-sovits-v2", ("s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",)),
    "base_sovits_g": ("gpt-sovits-v2", ("s2G2333k.pth",)),
    "base_sovits_d": ("gpt-sovits-v2", ("s2D2333k.pth",)),
    "hubert": ("chinese-hubert-base", ()),
    "bert": ("chinese-roberta-wwm-ext-large", ()),
}
MODELS_HINT = ("Get them with `voicebank models download`, or without internet import a GPT-SoVITS "
               "pretrained_models folder (Build page: \u201cImport a folder\u2026\u201d, or "
               "`voicebank models import PATH`).")
TRAIN_HINT = "The training part of the app is not installed or is incomplete"


def load_speaker(params: dict[str, Any]):
    """The bank's Speaker named by params speaker_id (+ bank_root). Raises JobError."""
    from core.bank.store import Bank, BankError

    speaker_id = params.get("speaker_id")
    if not isinstance(speaker_id, str) or not speaker_id.strip():
        raise JobError("No speaker was given. Choose a speaker first (Ctrl+1).", "missing_input")
    bank_root = params.get("bank_root")
    try:
        return Bank(Path(bank_root) if bank_root else None).speaker(speaker_id)
    except BankError as exc:
        raise JobError(str(exc), "unknown_speaker") from exc


def base_paths(params: dict[str, Any]) -> dict[str, Path | None]:
    """The base files given explicitly in params (None: take it from the model store)."""
    out: dict[str, Path | None] = {}
    for name in BASE_PARAMS:
        out[name] = existing_file(params, name, f"base model file ({name})", required=False)
    return out


def missing_base_models(given: dict[str, Path | None]) -> list[str]:
    """`model/file` of each base file the store lacks, for the roles not given explicitly.

    The training code checks the files again (and their contents) in check_ready."""
    from core.models.store import missing

    needed: list[tuple[str, tuple[str, ...]]] = []
    for name, (model, names) in BASE_PARAMS.items():
        if given.get(name) is not None:
            continue
        needed.append((model, names))
    if not needed:
        return []
    out = []
    for st in missing(sorted({m for m, _ in needed}), purpose="train"):
        if any(st.model == m and (not names or st.file in names) for m, names in needed):
            out.append(f"{st.model}/{st.file} ({st.state})")
    return out


def _card_dict(card: Any) -> dict[str, Any]:
    import dataclasses

    if card is None:
        return {}
    raw = dataclasses.asdict(card) if dataclasses.is_dataclass(card) else dict(vars(card))
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in raw.items()}


def voice_files(voice_dir: Path, train_build: Any = None, card: Any = None) -> dict[str, str | None]:
    """What `speak` needs for a voice: GPT .ckpt, SoVITS .pth, reference WAV. A zero-shot voice's
    models are the base files (the training code's voice_model_paths knows)."""
    voice_dir = Path(voice_dir)
    reference = voice_dir / "reference.wav"
    resolve = getattr(train_build, "voice_model_paths", None)
    if resolve is not None:
        try:
            gpt, sovits = resolve(voice_dir, card)
            return {"gpt": str(gpt), "sovits": str(sovits),
                    "reference": str(reference) if reference.exists() else None}
        except Exception:   # an unreadable card: look at the files themselves
            pass

    def first(pattern: str) -> str | None:
        found = sorted(voice_dir.glob(pattern))
        return str(found[0]) if found else None

    reference = voice_dir / "reference.wav"
    return {"gpt": first("*.ckpt"), "sovits": first("*.pth"),
            "reference": str(reference) if reference.exists() else first("*.wav")}


def voice_result(train_build: Any, speaker: Any, voice_dir: Path) -> dict[str, Any]:
    card = None
    try:
        for path, found in train_build.list_voices(speaker):
            if Path(path).resolve() == Path(voice_dir).resolve():
                card = found
                break
    except Exception:       # the card is a nicety; the voice itself is made
        card = None
    return {"voice_dir": str(voice_dir), "card": _card_dict(card),
            "files": voice_files(voice_dir, train_build, card)}


def find_take(speaker: Any, take_id: str) -> Any:
    """The speaker's take with this id (or the current take of the prompt with this id)."""
    from core.bank.lookup import UnknownTakeError, find_take as bank_find_take

    try:
        return bank_find_take(speaker, take_id)
    except UnknownTakeError as exc:
        raise JobError(str(exc), "unknown_take") from None


def _import_train_build():
    try:    # lazily: torch loads here, in the worker, never in the GUI
        import importlib
        train_build = importlib.import_module("core.train.build")
    except ImportError as exc:
        raise JobError(f"{TRAIN_HINT} ({exc}). Reinstall the app.", "train_missing") from exc
    return train_build


def build(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Fine-tune a personal voice from the speaker's takes.

    params: speaker_id, bank_root (optional), device ("auto" | "cpu" | "cuda"), gpus (optional:
    training processes, one per GPU, under torch.distributed; default all GPUs when there are
    several, else 1), steps (optional: at most this many training steps per stage), batch_size and min_minutes (optional; tests), include_red (false), job_dir (optional; default
    `<speaker>/builds/current`, so that a build started again resumes), base_gpt, base_sovits_g,
    base_sovits_d, hubert, bert (optional: base files instead of the model store).
    Progress: stage "features" | "sovits" | "gpt" | "export" with step, total, epoch, loss,
    eta_s, message. A cancel stops at the next step; the checkpoint is kept (cancelled data:
    job_dir, resumable). Result: voice_dir, card (the voice's card), files (gpt, sovits, reference).
    """
    from core.voices.files import default_build_dir   # lazily: the worker starts fast

    speaker = load_speaker(params)
    device = str(params.get("device") or "auto")
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise JobError(f"Unknown device {device!r}: use auto, cpu or cuda.", protocol.BAD_COMMAND)
    steps = optional_step(params, "steps")
    gpus = None if params.get("gpus") is None else int(number_param(params, "gpus", 1, 1, 64))
    given = base_paths(params)
    absent = missing_base_models(given)
    if absent:
        raise JobError("These base model files are missing: " + "; ".join(absent) + ". " + MODELS_HINT,
                       "models_missing")
    build_dir = Path(params["job_dir"]) if params.get("job_dir") else default_build_dir(speaker.folder)
    train_build = _import_train_build()
    cfg = train_build.BuildConfig(
        speaker_id=speaker.id, bank_root=speaker.folder.parent, device=device,
        max_steps=steps or None, include_red=bool(params.get("include_red")),
        batch_size=optional_step(params, "batch_size") or None,
        base_gpt=given["base_gpt"], base_sovits_g=given["base_sovits_g"],
        base_sovits_d=given["base_sovits_d"], hubert=given["hubert"], bert=given["bert"])
    if params.get("min_minutes") is not None and hasattr(cfg, "min_minutes"):
        cfg.min_minutes = float(number_param(params, "min_minutes", 1.0, 0.0, 600.0))
    if gpus is not None and hasattr(cfg, "gpus"):
        cfg.gpus = gpus
    blockers = train_build.check_ready(cfg)
    if blockers:
        raise JobError("\n".join(str(b) for b in blockers), "not_ready")
    resuming = build_dir.is_dir() and any(build_dir.iterdir())
    try:
        build_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JobError(f"Could not create the build folder {build_dir} ({exc.strerror or exc}). "
                       "Check that the disk has space and the folder is writable.", "job_dir") from exc
    ctx.log(("Resuming the build from " if resuming else "Building in ") + str(build_dir))

    def relay(p: Any) -> None:
        ctx.progress(str(p.stage), int(p.step), int(p.total), str(p.message or ""),
                     epoch=p.epoch, loss=None if p.loss is None else float(p.loss),
                     eta_s=None if p.eta_s is None else float(p.eta_s))

    try:
        voice_dir = Path(train_build.build_voice(cfg, build_dir, progress=relay, cancel=ctx.cancelled))
    except train_build.BuildCancelled as exc:
        raise JobCancelled({"job_dir": str(build_dir), "resumable": True}) from exc
    except train_build.BuildError as exc:
        raise JobError(f"{exc} The work done so far is kept: build again to continue.",
                       "build_failed") from exc
    _keep_speaker_check(build_dir, voice_dir)
    if not params.get("job_dir"):
        import shutil
        shutil.rmtree(build_dir, ignore_errors=True)     # done: the next build starts afresh
    return voice_result(train_build, speaker, voice_dir)


def zero_shot(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """A first voice at once, with no training: the base models + one of the speaker's takes.

    params: speaker_id, bank_root (optional), take_id (optional: the reference take; default:
    chosen by the training code). Result: voice_dir, card, files (as for build).
    """
    speaker = load_speaker(params)
    take = find_take(speaker, str(params["take_id"])) if params.get("take_id") else None
    absent = missing_base_models({"base_sovits_d": Path()})     # speaking needs no discriminator
    if absent:
        raise JobError("These base model files are missing: " + "; ".join(absent) + ". " + MODELS_HINT,
                       "models_missing")
    train_build = _import_train_build()
    ctx.progress("zero_shot", 0, 1, "Making a first version of your voice")
    try:
        voice_dir = Path(train_build.make_zero_shot_voice(speaker, take=take))
    except train_build.BuildError as exc:
        raise JobError(str(exc), "build_failed") from exc
    ctx.progress("zero_shot", 1, 1, "First version ready")
    return voice_result(train_build, speaker, voice_dir)


# consent and likeness (core.trust) ---------------------------------------------------------


def _keep_speaker_check(build_dir: Path, voice_dir: Path) -> None:
    """The build's consent check (in job.json) goes into the voice's voice.json."""
    from core.bank.files import read_json
    from core.trust.likeness import store_in_voice

    check = (read_json(Path(build_dir) / "job.json") or {}).get("speaker_check")
    if isinstance(check, dict):
        try:
            store_in_voice(voice_dir, "speaker_check", check)
        except OSError:
            pass        # a record only; the voice itself is made


def likeness(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """How much a new voice sounds like the speaker: its sample vs the speaker's recordings.

    params: speaker_id, bank_root (optional), voice_dir, sample (WAV the voice said), mine
    (optional: the speaker's recording shown beside it). The figure is kept in voice.json under
    "likeness". Result: similarity (cosine or null when not measured), percent, words, sample,
    mine, takes, encoder.
    """
    speaker = load_speaker(params)
    sample = existing_file(params, "sample", "sample of the new voice", hint="Build the voice again.")
    ctx.progress("likeness", 0, 1, "Comparing the new voice with your recordings")
    try:
        from core.trust.likeness import sounds_like_you, store_in_voice
    except ImportError as exc:
        raise JobError(f"{TRAIN_HINT} ({exc}). Reinstall the app.", "train_missing") from exc
    mine = Path(params["mine"]) if params.get("mine") else None
    result = sounds_like_you(speaker, sample, mine).to_dict()
    if params.get("voice_dir"):
        try:
            store_in_voice(Path(params["voice_dir"]), "likeness", result)
        except OSError as exc:
            ctx.log(f"The score could not be saved in voice.json ({exc}).", "warning")
    ctx.progress("likeness", 1, 1, "Compared")
    return result



# the kinds this module answers (core.worker.jobs gathers them into its registry)
JOBS: dict[str, JobFn] = {"build": build, "zero_shot": zero_shot, "likeness": likeness}
