"""From a speaker's bank to training features, cached per take.

For every usable take (its cleaned copy if there is one), as the original's dataset tools do
(`1-get-text.py`, `2-get-hubert-wav32k.py`, `3-get-semantic.py`):
  audio -> 32 kHz mono -> loudness mix: 50 % as recorded + 50 % peak-normalised to 0.95 (stored
           int16; the SoVITS reconstruction target, its linear spectrogram is computed on the fly)
  mixed audio -> 16 kHz -> HuBERT -> SSL features [768, T50] (aligned to the spectrogram frames)
  SSL features -> the BASE SoVITS's frozen ssl_proj + codebook -> semantic codes [T25] (GPT targets)
  prompt text -> phones (+ word2ph) -> BERT features [1024, n_phones] (zeros outside Chinese)

Each take's features are one `torch.save` file in the speaker's cache folder, named by the take
and a key over (take id, file size and mtime, text, feature models, this module's version), and
read back with weights_only=True. Adding takes and building again processes only the new ones;
re-recording or re-cleaning a take changes its key, so it is redone.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from core.torchfile import SMALL_FILE_LIMIT, load_torch_file

from .errors import BuildCancelled, BuildError

FEATURE_VERSION = 1
SAMPLE_RATE = 32000
SSL_RATE = 16000
HOP = 640                      # 50 Hz frames at 32 kHz
TOKENS_PER_S = 25
MAX_PEAK = 2.2                 # the original skips clips louder than this
MIX_ALPHA, MIX_PEAK = 0.5, 0.95
HUBERT_SCALE = 1145.14         # the original feeds HuBERT this scale (its first layer is a group norm)

# Filters as the original's data loaders.
SOVITS_MIN_S, SOVITS_MAX_S = 0.6, 54.0
GPT_MAX_S = 54.0
GPT_MAX_PHONES = 540           # max_sec * 25 / 2.5
GPT_MIN_PS, GPT_MAX_PS = 3.0, 25.0   # phones per second


@dataclass
class Item:
    """One take's training features (CPU tensors)."""
    take_id: str
    text: str
    wav: Tensor              # int16 [N] at 32 kHz, the loudness-mixed audio
    ssl: Tensor              # float16 [768, T50], T50 = N // HOP
    phones: Tensor           # int64 [L]
    bert: Tensor | None      # float16 [1024, L], None where all zeros (no Chinese)
    codes: Tensor            # int64 [T50 // 2]

    @property
    def seconds(self) -> float:
        return self.wav.numel() / SAMPLE_RATE

    @property
    def frames(self) -> int:
        return self.ssl.shape[-1]

    def bert_or_zeros(self) -> Tensor:
        return self.bert if self.bert is not None else torch.zeros(1024, self.phones.numel(), dtype=torch.float16)

    def to_dict(self) -> dict:
        return {"version": FEATURE_VERSION, "take_id": self.take_id, "text": self.text,
                "wav": self.wav, "ssl": self.ssl, "phones": self.phones, "bert": self.bert,
                "codes": self.codes}

    @classmethod
    def from_dict(cls, d: dict) -> "Item":
        return cls(d["take_id"], d["text"], d["wav"], d["ssl"], d["phones"], d["bert"], d["codes"])


# ---------------------------------------------------------------------------------- take selection


def usable_takes(speaker, include_red: bool = False) -> list:
    """The takes a build uses: the current take of each prompt, with text and audio on disk,
    0.6-54 s long, red ones left out unless include_red."""
    out = []
    for take in speaker.current_takes().values():
        if take.grade == "red" and not include_red:
            continue
        if not (take.text or "").strip():
            continue
        if not SOVITS_MIN_S <= (take.duration_s or 0.0) <= SOVITS_MAX_S:
            continue
        if not take.best_audio_path().exists():
            continue
        out.append(take)
    return out


# ---------------------------------------------------------------------------------- models


@dataclass
class FeatureModels:
    hubert: torch.nn.Module
    bert: object                # core.engine.features.Bert
    sovits: torch.nn.Module     # the BASE SoVITS: only ssl_proj and the quantizer are used
    device: torch.device


def _folder_identity(folder: Path) -> list:
    folder = Path(folder)
    out = [str(folder.name)]
    for p in sorted(folder.glob("*")):
        if p.suffix in (".json", ".bin", ".safetensors", ".txt"):
            st = p.stat()
            out.append([p.name, st.st_size, st.st_mtime_ns])
    return out


def models_identity(base_sovits: Path, hubert: Path, bert: Path) -> str:
    """A short key that changes when any of the feature-producing models changes."""
    st = Path(base_sovits).stat()
    ident = [FEATURE_VERSION, [Path(base_sovits).name, st.st_size, st.st_mtime_ns],
             _folder_identity(hubert), _folder_identity(bert)]
    return hashlib.sha1(json.dumps(ident).encode()).hexdigest()[:16]


def _take_key(take, models_key: str) -> str:
    path = take.best_audio_path()
    st = path.stat()
    ident = [FEATURE_VERSION, take.id, path.name, st.st_size, st.st_mtime_ns, take.text, models_key]
    return hashlib.sha1(json.dumps(ident).encode()).hexdigest()[:16]


def cache_dir_of(speaker) -> Path:
    return Path(speaker.folder) / ".cache" / "train-features"


def cache_path(cache_dir: Path, take, models_key: str) -> Path:
    """The cache file of one take's features (its name changes when the take or models do)."""
    return Path(cache_dir) / f"{take.id}.{_take_key(take, models_key)}.pt"


# ---------------------------------------------------------------------------------- extraction


def _mixed_audio(path: Path) -> np.ndarray | None:
    """32 kHz loudness-mixed float audio, or None for a silent/overloaded clip (as the original)."""
    from core.audio.io import read_audio, resample

    clip = read_audio(path)
    wav = resample(clip.samples, clip.sample_rate, SAMPLE_RATE)
    peak = float(np.abs(wav).max()) if wav.size else 0.0
    if peak > MAX_PEAK or peak < 1e-4:
        return None
    mixed = wav / peak * (MIX_PEAK * MIX_ALPHA) + (1 - MIX_ALPHA) * wav
    return np.clip(mixed, -1.0, 1.0).astype(np.float32)


@torch.inference_mode()
def extract_item(take, models: FeatureModels) -> Item | None:
    """Features of one take; None if the take cannot be used (silent, unreadable, no text)."""
    from core.audio.io import AudioFileError, resample
    from core.engine.features import bert_features
    from core.text import TextError
    from core.text.frontend import phonemize

    try:
        wav = _mixed_audio(take.best_audio_path())
    except AudioFileError:
        return None
    if wav is None:
        return None
    try:
        ph = phonemize(take.text)
    except TextError:
        return None
    frames = len(wav) // HOP
    if frames < 2:
        return None
    dev = models.device
    wav16 = torch.from_numpy(resample(wav, SAMPLE_RATE, SSL_RATE) * HUBERT_SCALE).to(dev)
    ssl = models.hubert(wav16[None]).last_hidden_state.transpose(1, 2).float()  # [1, 768, T]
    if ssl.shape[-1] < frames:  # HuBERT gives one frame fewer for most lengths: repeat the last
        ssl = torch.nn.functional.pad(ssl, (0, frames - ssl.shape[-1]), mode="replicate")
    ssl = ssl[..., :frames]
    codes = models.sovits.extract_latent(ssl)[0, 0]  # [T // 2]
    bert = bert_features(models.bert, ph).float()
    if bert.shape[-1] != len(ph.ids):
        return None
    int16 = torch.from_numpy(np.round(wav * 32767.0).astype(np.int16))
    return Item(
        take_id=take.id, text=take.text, wav=int16, ssl=ssl[0].half().cpu(),
        phones=torch.tensor(ph.ids, dtype=torch.long),
        bert=None if not bool(bert.abs().sum()) else bert.half().cpu(),
        codes=codes.long().cpu(),
    )


def extract_features(
    takes: list,
    cache_dir: Path,
    models_key: str,
    load_models: Callable[[], FeatureModels],
    progress: Callable[[int, int, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[list[Item], dict]:
    """Items of all `takes`, from the cache where possible. Returns (items, stats) with stats
    {"cached": n, "extracted": n, "skipped": [take ids]}. Models are loaded only if needed."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []
    stats = {"cached": 0, "extracted": 0, "skipped": []}
    models: FeatureModels | None = None
    total = len(takes)
    for i, take in enumerate(takes):
        if cancel is not None and cancel():
            raise BuildCancelled("The build was cancelled while preparing the recordings.")
        path = cache_path(cache_dir, take, models_key)
        item = None
        if path.exists():
            try:
                data = load_torch_file(path, limit=SMALL_FILE_LIMIT, what="feature cache file")
                if data.get("version") == FEATURE_VERSION:
                    item = Item.from_dict(data)
                    stats["cached"] += 1
            except Exception:  # a damaged cache file is simply redone
                item = None
        if item is None:
            if models is None:
                models = load_models()
            item = extract_item(take, models)
            if item is None:
                stats["skipped"].append(take.id)
            else:
                _save_cached(path, item)
                stats["extracted"] += 1
                for old in cache_dir.glob(f"{take.id}.*.pt"):
                    if old != path:
                        old.unlink(missing_ok=True)
        if item is not None:
            items.append(item)
        if progress is not None:
            progress(i + 1, total, take.id)
    return items, stats


def _save_cached(path: Path, item: Item) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        torch.save(item.to_dict(), tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        import errno

        if exc.errno == errno.ENOSPC:
            raise BuildError(f"The disk is full while preparing the recordings ({path.parent}). "
                             "Free some space and start the build again.") from exc
        raise BuildError(f"Cannot write the feature cache in {path.parent} ({exc.strerror}).") from exc


# ---------------------------------------------------------------------------------- filters


def sovits_items(items: Iterable[Item]) -> list[Item]:
    return [it for it in items if SOVITS_MIN_S <= it.seconds <= SOVITS_MAX_S]


def gpt_items(items: Iterable[Item]) -> list[Item]:
    out = []
    for it in items:
        n_codes, n_phones = it.codes.numel(), it.phones.numel()
        if n_codes == 0 or n_codes > GPT_MAX_S * TOKENS_PER_S or n_phones > GPT_MAX_PHONES:
            continue
        rate = n_phones / (n_codes / TOKENS_PER_S)
        if GPT_MIN_PS <= rate <= GPT_MAX_PS:
            out.append(it)
    return out


def minutes(items: Iterable[Item]) -> float:
    return sum(it.seconds for it in items) / 60.0


def length_batches(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Indices grouped into batches of similar length (less padding), in random order.

    Items are shuffled, sorted by length within windows of 8 batches, cut into batches, and the
    batches shuffled: a cheap stand-in for the original's bucket sampler.
    """
    n = len(lengths)
    if n == 0:
        return []
    order = torch.randperm(n, generator=generator).tolist()
    window = batch_size * 8
    batches = []
    for start in range(0, n, window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    perm = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in perm]


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch of `length_batches` for n items."""
    window = batch_size * 8
    full, rest = divmod(n, window)
    return full * 8 + math.ceil(rest / batch_size)
