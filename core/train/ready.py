"""Whether a build can start, and what it starts from: the build's settings (BuildConfig), the
base model files, the usable takes and how much audio they hold, the reference take and the number
of epochs. core.train.build, above it, builds the voice; nothing here imports torch at load.

    blockers = check_ready(BuildConfig("anna"))          # [] when a build can start
    minutes, takes = usable_audio(speaker)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.voices.files import BASE_FILES, BASE_MODEL

from .errors import GET_MODELS

BASE_GPT_FILE, BASE_G_FILE = BASE_FILES["gpt"], BASE_FILES["sovits"]
BASE_D_FILE = "s2D2333k.pth"
HUBERT_MODEL = "chinese-hubert-base"
BERT_MODEL = "chinese-roberta-wwm-ext-large"
REF_MIN_S, REF_MAX_S = 3.0, 10.0
MIN_MINUTES = 1.0          # the original's minimum; 5-30 minutes is better
GOOD_MINUTES = 5.0


@dataclass
class BuildConfig:
    speaker_id: str
    bank_root: Path | None = None          # None -> default bank
    device: str = "auto"                   # auto|cpu|cuda
    precision: str = "auto"                # auto|fp32|fp16|bf16
    sovits_epochs: int | None = None       # None -> from data amount (8 for 1-40 min)
    gpt_epochs: int | None = None          # None -> from data amount (15 for 1-40 min)
    max_steps: int | None = None           # cap per stage, for quick builds/tests
    batch_size: int | None = None          # None -> from free GPU memory / RAM
    include_red: bool = False
    checkpoint_every: int = 50             # steps
    seed: int = 0
    base_gpt: Path | None = None
    base_sovits_g: Path | None = None
    base_sovits_d: Path | None = None
    hubert: Path | None = None
    bert: Path | None = None
    # additions (defaults keep the API above unchanged)
    grad_checkpointing: bool = False       # less GPU memory, about 30 % slower
    min_minutes: float = MIN_MINUTES       # less usable audio than this is a blocker
    name: str | None = None                # the voice's display name; None -> dated default
    gpus: int | None = None                # training processes (DDP); None -> all GPUs if >1, else 1


def model_paths(cfg: BuildConfig) -> dict[str, Path]:
    """The base files (gpt, g, d) and feature model folders (hubert, bert): the config's own, or
    the model store's."""
    from core.models.store import model_dir, path_of

    def store(fn, *args):
        try:
            return fn(*args)
        except Exception:  # no manifest entry (should not happen): the plain layout
            from core.paths import models_dir

            return models_dir().joinpath(*args)

    return {
        "gpt": Path(cfg.base_gpt) if cfg.base_gpt else store(path_of, BASE_MODEL, BASE_GPT_FILE),
        "g": Path(cfg.base_sovits_g) if cfg.base_sovits_g else store(path_of, BASE_MODEL, BASE_G_FILE),
        "d": Path(cfg.base_sovits_d) if cfg.base_sovits_d else store(path_of, BASE_MODEL, BASE_D_FILE),
        "hubert": Path(cfg.hubert) if cfg.hubert else store(model_dir, HUBERT_MODEL),
        "bert": Path(cfg.bert) if cfg.bert else store(model_dir, BERT_MODEL),
    }


_WHAT = {"gpt": "base GPT model", "g": "base SoVITS generator", "d": "base SoVITS discriminator",
         "hubert": f"{HUBERT_MODEL} feature model", "bert": f"{BERT_MODEL} feature model"}


def _file_problem(path: Path) -> str | None:
    import zipfile

    if not path.is_file():
        return "is missing"
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if head not in (b"PK", b"00", b"01") or (head == b"PK" and not zipfile.is_zipfile(path)):
        return "is damaged or incomplete (an interrupted download?)"
    return None


def _folder_problem(folder: Path) -> str | None:
    if not folder.is_dir():
        return "is missing"
    if not (folder / "config.json").is_file():
        return "is incomplete (config.json is missing)"
    if not any(folder.glob("*.bin")) and not any(folder.glob("*.safetensors")):
        return "is incomplete (its weights file is missing)"
    return None


def open_bank(cfg: BuildConfig):
    """The bank the config names (None: the default one)."""
    from core.bank.store import Bank

    return Bank(Path(cfg.bank_root) if cfg.bank_root else None)


def usable_audio(speaker, include_red: bool = False) -> tuple[float, int]:
    """(minutes, takes) of the recordings a build would use (see dataset.usable_takes)."""
    from .dataset import usable_takes

    takes = usable_takes(speaker, include_red)
    return sum(t.duration_s for t in takes) / 60.0, len(takes)


def describe_duration(seconds: float) -> str:
    """A duration as the messages say it: seconds under 90 s, else minutes."""
    return f"{seconds:.0f} seconds" if seconds < 90 else f"{seconds / 60:.1f} minutes"


def pick_reference(takes: list) -> object | None:
    """The best green take of 3-10 s (highest SNR, then closest to 6 s); else any 3-10 s take."""
    in_range = [t for t in takes if REF_MIN_S <= (t.duration_s or 0) <= REF_MAX_S
                and (t.text or "").strip() and t.best_audio_path().exists()]
    if not in_range:
        return None
    green = [t for t in in_range if t.grade == "green"] or [t for t in in_range if t.grade != "red"] or in_range

    def score(t):
        snr = (t.quality or {}).get("snr_db")
        return (snr if isinstance(snr, (int, float)) else -1e9, -abs(t.duration_s - 6.0))

    return max(green, key=score)


def check_ready(cfg: BuildConfig) -> list[str]:
    """Everything that stops a build from starting, in words for the user ([] = ready)."""
    from core.bank.store import BankError

    blockers = []
    paths = model_paths(cfg)
    for key in ("gpt", "g", "d"):
        problem = _file_problem(paths[key])
        if problem:
            blockers.append(f"The {_WHAT[key]} ({paths[key].name}) {problem}; looked in "
                            f"{paths[key].parent}. {GET_MODELS}")
    for key in ("hubert", "bert"):
        problem = _folder_problem(paths[key])
        if problem:
            blockers.append(f"The {_WHAT[key]} {problem} (looked in {paths[key]}). {GET_MODELS}")
    try:
        speaker = open_bank(cfg).speaker(cfg.speaker_id)
    except BankError as exc:
        return blockers + [str(exc)]
    minutes, n = usable_audio(speaker, cfg.include_red)
    if n == 0:
        red = sum(1 for t in speaker.current_takes().values() if t.grade == "red")
        hint = (f" {red} take(s) graded red were left out; re-record them or allow red takes."
                if red and not cfg.include_red else "")
        blockers.append("There are no usable recordings yet: record some prompts first "
                        f"(at least {MIN_MINUTES:.0f} minute in all; {GOOD_MINUTES:.0f}-30 minutes "
                        f"give a better voice).{hint}")
    elif minutes < cfg.min_minutes:
        blockers.append(f"Only {describe_duration(minutes * 60)} of usable audio ({n} take(s)); a voice "
                        f"needs at least {cfg.min_minutes:g} minute(s) of speech, and "
                        f"{GOOD_MINUTES:.0f}-30 minutes give a better voice. Record more prompts.")
    if n and pick_reference(_usable(speaker, cfg.include_red)) is None:
        blockers.append("No take is between 3 and 10 seconds long; the voice needs one as its "
                        "reference. Record a prompt of one or two sentences.")
    from core.trust.consent import consent_blockers   # a consent recording comes first

    return blockers + consent_blockers(speaker)


def _usable(speaker, include_red: bool) -> list:
    from .dataset import usable_takes

    return usable_takes(speaker, include_red)


def default_epochs(minutes: float) -> tuple[int, int]:
    """(SoVITS, GPT) epochs. The original's defaults (8, 15) suit 1-40 minutes; more data needs
    fewer passes (over-training the GPT causes skipped and repeated words)."""
    if minutes <= 40:
        return 8, 15
    if minutes <= 120:
        return 6, 10
    return 4, 6
