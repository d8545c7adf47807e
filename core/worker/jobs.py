"""The jobs a worker can run: kind -> callable(params, ctx) -> result dict.

A job reports through its `JobContext` (progress, log), checks `ctx.cancelled()` between
steps and stops by raising `JobCancelled` (or simply returning: a job that returns after a
cancel was asked for is still reported as cancelled). A failure the user can act on is a
`JobError(message)`; any other exception becomes an `error` event with the traceback tail.

Heavy imports (torch, the engine) happen inside the jobs, never at module import: the worker
must start and answer `ping` in a fraction of a second.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.paths import jobs_dir
from core.worker import protocol

SPEAK_SAMPLE_RATE = 32_000      # GPT-SoVITS v2 speaks at 32 kHz


class JobError(Exception):
    """A failure worded for the user: what happened and what to do."""

    def __init__(self, message: str, code: str = protocol.JOB_FAILED, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail


class JobCancelled(Exception):
    """Raised by a job (or `ctx.raise_if_cancelled()`) to stop after a cancel request."""

    def __init__(self, data: dict[str, Any] | None = None):
        super().__init__("cancelled")
        self.data = data


Emit = Callable[[dict[str, Any]], None]


@dataclass
class JobContext:
    job: str
    job_dir: Path
    emit: Emit
    cancel_event: threading.Event = field(default_factory=threading.Event)
    cache: dict[Any, Any] = field(default_factory=dict)   # lives as long as the worker (loaded models)

    def progress(self, stage: str, step: int, total: int, message: str = "", **extra: Any) -> None:
        self.emit(protocol.progress_event(self.job, stage, step, total, message, **extra))

    def log(self, message: str, level: str = "info") -> None:
        self.emit(protocol.log_event(self.job, message, level))

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def raise_if_cancelled(self, data: dict[str, Any] | None = None) -> None:
        if self.cancel_event.is_set():
            raise JobCancelled(data)


JobFn = Callable[[dict[str, Any], JobContext], "dict[str, Any] | None"]
REGISTRY: dict[str, JobFn] = {}


def job(kind: str) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        REGISTRY[kind] = fn
        return fn
    return register


def job_dir_for(job_id: str, params: dict[str, Any]) -> Path:
    given = params.get("job_dir")
    return Path(given) if given else jobs_dir() / job_id


# parameter helpers: bad params are the GUI's bug, but still a readable error --------------

def _number(params: dict[str, Any], name: str, default: float, lo: float, hi: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise JobError(f"Parameter {name!r} must be a number from {lo} to {hi}; got {value!r}.",
                       protocol.BAD_COMMAND)
    return value


def _optional_step(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    return None if value is None else int(_number(params, name, 0, 0, 1_000_000))


# selftest ----------------------------------------------------------------------------------

@job("selftest")
def selftest(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """A diagnostic the app can run, and what the tests drive: steps with a delay, then a result.

    params: steps (5), delay_s (0.01), fail_at (JobError at that step), bug_at (a plain
    exception: an internal error), crash_at (os._exit(3): a dying worker), hang (ignore
    cancel and never finish), stray (text print()ed and written to fd 1, as a chatty
    library would).
    """
    steps = int(_number(params, "steps", 5, 0, 100_000))
    delay_s = float(_number(params, "delay_s", 0.01, 0, 60))
    fail_at, bug_at, crash_at = (_optional_step(params, n) for n in ("fail_at", "bug_at", "crash_at"))
    if params.get("hang"):
        ctx.log("selftest: hanging on purpose; only a kill stops this", "warning")
        while True:         # deliberately deaf to cancel: the client's kill fallback is under test
            time.sleep(0.05)
    if params.get("stray"):             # both land on stderr: the worker redirects stdout and fd 1
        print(params["stray"])
        sys.stdout.flush()
        os.write(1, f"{params['stray']} (fd 1)\n".encode())
    (ctx.job_dir / "selftest.txt").write_text(f"pid {os.getpid()}\n", encoding="utf-8")
    for step in range(1, steps + 1):
        if step == crash_at:
            sys.stderr.write(f"selftest: crashing on purpose at step {step}\n")
            sys.stderr.flush()
            os._exit(3)
        if step == fail_at:
            raise JobError(f"The self-test failed on purpose at step {step}. Nothing is wrong; "
                           "run it without fail_at to see it pass.", "selftest_failed")
        if step == bug_at:
            raise ValueError(f"selftest bug on purpose at step {step}")
        if delay_s:
            ctx.cancel_event.wait(delay_s)      # wakes at once on cancel
        ctx.raise_if_cancelled({"steps_done": step - 1})
        ctx.progress("selftest", step, steps, f"step {step} of {steps}",
                     eta_s=round((steps - step) * delay_s, 3))
    return {"steps": steps, "pid": os.getpid(), "job_dir": str(ctx.job_dir),
            "torch_loaded": "torch" in sys.modules}


# speak -------------------------------------------------------------------------------------

MODEL_HINT = "Download the models again, or choose the file where it is now."


def _existing_file(params: dict[str, Any], name: str, what: str, hint: str = MODEL_HINT,
                   required: bool = True) -> Path | None:
    value = params.get(name)
    if not value:
        if required:
            raise JobError(f"No {what} was given. Choose one and try again.", "missing_input")
        return None
    path = Path(value)
    if not path.exists():
        raise JobError(f"The {what} is missing: {path}. {hint}", "missing_file")
    return path


def _speak_userdict(value: Any):
    """The speak job's `userdict` param -> UserDict (None when not given). Raises JobError."""
    if not value:
        return None
    from core.text.userdict import UserDict, UserDictError
    try:
        if isinstance(value, dict):
            return UserDict(value)
        return UserDict.load(Path(str(value)))
    except (UserDictError, OSError) as exc:
        raise JobError(f"The pronunciation dictionary cannot be used: {exc} Fix or remove the "
                       "entry in the dictionary (Speak page), then speak again.", "bad_userdict") from exc


def _engine():
    """The engine's pipeline module, imported lazily: torch loads here, in the worker, never in the GUI."""
    import importlib

    try:
        pipeline = importlib.import_module("core.runtime.pipeline")
    except ImportError as exc:
        raise JobError(f"The speech engine is not installed or is incomplete ({exc}). "
                       "Reinstall the app.", "engine_missing") from exc
    return pipeline


@dataclass(frozen=True)
class VoiceFiles:
    reference: Path
    gpt: Path
    sovits: Path
    hubert: Path | None
    bert: Path | None
    device: str


def _voice_files(params: dict[str, Any]) -> VoiceFiles:
    """The files of the voice named by params; a missing one is a JobError saying which."""
    return VoiceFiles(
        reference=_existing_file(params, "reference", "reference recording",
                                 "Record it again or choose another take."),
        gpt=_existing_file(params, "gpt", "GPT voice model (.ckpt)"),
        sovits=_existing_file(params, "sovits", "SoVITS voice model (.pth)"),
        hubert=_existing_file(params, "hubert", "speech feature model (chinese-hubert-base)", required=False),
        bert=_existing_file(params, "bert", "text feature model (chinese-roberta-wwm-ext-large)", required=False),
        device=str(params.get("device") or "cpu"))


def _ready_voice(files: VoiceFiles, reference_text: str | None, ctx: JobContext):
    """The voice loaded once and kept (one voice in memory at a time), with its reference
    prepared. Returns (synthesizer, reference info). Progress stage "load" only when it is not
    loaded yet."""
    engine = _engine()
    f = files
    key = ("synthesizer", str(f.gpt), str(f.sovits), str(f.hubert), str(f.bert), f.device)
    synth = ctx.cache.get(key)
    if synth is None:
        ctx.cache.clear()       # one voice in memory at a time: models are hundreds of MB
        ctx.progress("load", 0, 1, "Loading the voice (the first time takes a while)")
        synth = engine.Synthesizer(engine.ModelPaths(gpt=f.gpt, sovits=f.sovits, hubert=f.hubert, bert=f.bert),
                                   device=f.device)
        ctx.cache[key] = synth
        ctx.progress("load", 1, 1, "Voice loaded")
    ctx.raise_if_cancelled()
    from core.watermark import payload_id_for_files
    synth.watermark_id = payload_id_for_files(f.reference, f.gpt, f.sovits)   # the voice's id in the watermark
    ref_info = synth.set_reference(f.reference, text=reference_text or None)
    return synth, ref_info


@job("prepare_voice")
def prepare_voice(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Load a voice and prepare its reference before the first `speak` needs them, so that the
    first sentence does not wait for ~10 s of loading (the Speak page asks for this as soon as it
    is shown). params: as `speak`'s, without text/options/out. Result: loaded, reference."""
    files = _voice_files(params)
    engine = _engine()
    try:
        synth, ref_info = _ready_voice(files, params.get("reference_text"), ctx)
    except engine.SynthesisCancelled as exc:
        raise JobCancelled() from exc
    except engine.SynthesisError as exc:
        raise JobError(str(exc), "synthesis_failed") from exc
    data: dict[str, Any] = {"loaded": True}
    if isinstance(ref_info, dict):
        data["reference"] = ref_info
    data.update(_fast_path_status(synth))
    return data


def _fast_path_status(synth: Any) -> dict[str, Any]:
    """The voice's fast paths as loaded on this CPU: each lossy one's gate figure and whether it
    is on (`FastPathReport.status()`), for the Speak page's details. Empty if not reported."""
    report = getattr(synth, "fast_report", None)
    status = getattr(report, "status", None)
    return {"fast_paths": status()} if callable(status) else {}


def _write_speech(path: Path, audio, rate: int) -> Path:
    """A speak job's WAV; a full disk is worded for the person who typed (the worker sends it
    as a disk_full error)."""
    from core.audio.io import write_wav
    from core.diskspace import FREE_SPACE_THEN_RETRY, reporting_disk_full

    with reporting_disk_full("its sound could not be saved", path.parent, needed_bytes=2 * len(audio) + 44,
                             kept="Nothing half-written was left behind; your voice and recordings "
                                  "are unchanged.", advice=FREE_SPACE_THEN_RETRY):
        return write_wav(path, audio, rate)


@job("speak")
def speak(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Text -> speech with a cached Synthesizer; each sentence is written and announced as it is made.

    params: text, reference (wav), reference_text (optional), gpt, sovits, hubert, bert
    (model paths; hubert/bert optional), device ("cpu"), options (SynthesisOptions fields),
    out (optional; default job_dir/speech.wav), userdict (optional: the path of a pronunciation
    dictionary in core.text.userdict's JSON format, or its entries as an object).
    Progress: stage "load" (only when the voice is not loaded yet: `prepare_voice` loads it
    ahead), then stage "speak" once per sentence with `chunk` = job_dir/sentence-<i>.wav.
    Result: out, seconds, sentences, and reference / notes when the engine reports them.
    """
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise JobError("There is no text to speak. Type something first.", "missing_input")
    files = _voice_files(params)
    options = params.get("options") or {}
    if not isinstance(options, dict):
        raise JobError("Parameter 'options' must be a JSON object.", protocol.BAD_COMMAND)
    out = Path(params["out"]) if params.get("out") else ctx.job_dir / "speech.wav"
    userdict = _speak_userdict(params.get("userdict"))
    engine = _engine()
    import numpy as np

    try:
        synth_options = engine.SynthesisOptions(**options)
    except TypeError as exc:
        raise JobError(f"Unknown speaking option ({exc}).", protocol.BAD_COMMAND) from exc
    try:
        synth, ref_info = _ready_voice(files, params.get("reference_text"), ctx)
        rate = int(getattr(synth, "SAMPLE_RATE", SPEAK_SAMPLE_RATE))
        pieces: list[np.ndarray] = []
        extra = {"userdict": userdict} if userdict is not None else {}
        for sentence in synth.stream(text, synth_options, cancel=ctx.cancelled, **extra):
            audio = np.asarray(sentence.audio, dtype=np.float32).reshape(-1)
            chunk = _write_speech(ctx.job_dir / f"sentence-{sentence.index}.wav", audio, rate)
            pieces.append(audio)
            ctx.progress("speak", sentence.index + 1, sentence.total, sentence.text, chunk=str(chunk))
            ctx.raise_if_cancelled({"sentences": len(pieces)})
    except engine.SynthesisCancelled as exc:
        raise JobCancelled() from exc
    except engine.SynthesisError as exc:
        raise JobError(str(exc), "synthesis_failed") from exc
    if not pieces:
        raise JobError("Nothing was spoken: the text has no words the voice can say.", "nothing_spoken")
    audio = np.concatenate(pieces)
    _write_speech(out, audio, rate)
    data: dict[str, Any] = {"out": str(out), "seconds": round(len(audio) / rate, 3),
                            "sentences": len(pieces)}
    if isinstance(ref_info, dict):
        data["reference"] = ref_info            # what of the reference was used (trimmed, cached...)
    notes = getattr(synth, "last_notes", None)
    if notes:
        data["notes"] = list(notes)             # e.g. characters the voice skipped
    data.update(_fast_path_status(synth))       # what ran: the details view follows a voice loaded here too
    return data


# build and zero_shot -----------------------------------------------------------------------

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
        out[name] = _existing_file(params, name, f"base model file ({name})", required=False)
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


@job("build")
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
    steps = _optional_step(params, "steps")
    gpus = None if params.get("gpus") is None else int(_number(params, "gpus", 1, 1, 64))
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
        batch_size=_optional_step(params, "batch_size") or None,
        base_gpt=given["base_gpt"], base_sovits_g=given["base_sovits_g"],
        base_sovits_d=given["base_sovits_d"], hubert=given["hubert"], bert=given["bert"])
    if params.get("min_minutes") is not None and hasattr(cfg, "min_minutes"):
        cfg.min_minutes = float(_number(params, "min_minutes", 1.0, 0.0, 600.0))
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


@job("zero_shot")
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


@job("likeness")
def likeness(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """How much a new voice sounds like the speaker: its sample vs the speaker's recordings.

    params: speaker_id, bank_root (optional), voice_dir, sample (WAV the voice said), mine
    (optional: the speaker's recording shown beside it). The figure is kept in voice.json under
    "likeness". Result: similarity (cosine or null when not measured), percent, words, sample,
    mine, takes, encoder.
    """
    speaker = load_speaker(params)
    sample = _existing_file(params, "sample", "sample of the new voice", hint="Build the voice again.")
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

