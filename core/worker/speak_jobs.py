"""The worker's speaking jobs: `prepare_voice` (load a voice ahead of the first sentence) and
`speak` (text -> speech, each sentence written and announced as it is made), with what they
share: the voice's files from params, the Synthesizer loaded once and kept in the worker's cache
(one voice in memory at a time), the pronunciation dictionary, and writing the speech WAVs.

The engine (core.runtime.pipeline, and with it torch) is imported inside the jobs through
`_engine()`, never at module import: the worker must start and answer `ping` at once. Tests put
a stand-in pipeline module in sys.modules under that name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.worker import protocol
from core.worker.context import JobCancelled, JobContext, JobError, JobFn, existing_file

SPEAK_SAMPLE_RATE = 32_000      # GPT-SoVITS v2 speaks at 32 kHz


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
        reference=existing_file(params, "reference", "reference recording",
                                 "Record it again or choose another take."),
        gpt=existing_file(params, "gpt", "GPT voice model (.ckpt)"),
        sovits=existing_file(params, "sovits", "SoVITS voice model (.pth)"),
        hubert=existing_file(params, "hubert", "speech feature model (chinese-hubert-base)", required=False),
        bert=existing_file(params, "bert", "text feature model (chinese-roberta-wwm-ext-large)", required=False),
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
    from core.text import g2pw

    g2pw.get()      # the optional polyphone model, if installed: loaded now, not at the first sentence
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
        spoken = 0
        extra = {"userdict": userdict} if userdict is not None else {}
        # pieces=True: the first sentence comes in pieces while it is still being made, so the
        # first sound plays within about half a second; `piece` numbers the chunks in order.
        for sentence in synth.stream(text, synth_options, cancel=ctx.cancelled, pieces=True, **extra):
            audio = np.asarray(sentence.audio, dtype=np.float32).reshape(-1)
            part = getattr(sentence, "part", 0)
            chunk = _write_speech(ctx.job_dir / f"sentence-{sentence.index}-{part}.wav", audio, rate)
            pieces.append(audio)
            spoken += bool(getattr(sentence, "last", True))
            ctx.progress("speak", sentence.index + 1, sentence.total, sentence.text, chunk=str(chunk),
                         piece=len(pieces))
            ctx.raise_if_cancelled({"sentences": spoken})
    except engine.SynthesisCancelled as exc:
        raise JobCancelled() from exc
    except engine.SynthesisError as exc:
        raise JobError(str(exc), "synthesis_failed") from exc
    if not pieces:
        raise JobError("Nothing was spoken: the text has no words the voice can say.", "nothing_spoken")
    audio = np.concatenate(pieces)
    _write_speech(out, audio, rate)
    data: dict[str, Any] = {"out": str(out), "seconds": round(len(audio) / rate, 3),
                            "sentences": spoken}
    if isinstance(ref_info, dict):
        data["reference"] = ref_info            # what of the reference was used (trimmed, cached...)
    notes = getattr(synth, "last_notes", None)
    if notes:
        data["notes"] = list(notes)             # e.g. characters the voice skipped
    data.update(_fast_path_status(synth))       # what ran: the details view follows a voice loaded here too
    return data



# the kinds this module answers (core.worker.jobs gathers them into its registry)
JOBS: dict[str, JobFn] = {"prepare_voice": prepare_voice, "speak": speak}
