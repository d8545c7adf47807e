"""Safe reading and writing of GPT-SoVITS voice files (SoVITS `.pth`, GPT `.ckpt`).

Both are `torch.save` zip archives whose `data.pkl` is an ordinary pickle. A pickle can call any
importable function, and a zip that looks like a TorchScript archive is handed by torch.load to
torch.jit.load, which runs its code: a voice file downloaded from the internet must never reach
either. Reading goes through `core.torchfile.load_torch_file` (inspection first, then
`torch.load` with weights_only=True), which admits only the globals these files really hold (tensor
rebuild functions, storages, OrderedDict and the original project's `utils.HParams`).
"""
from __future__ import annotations

import os
import pickle
import tempfile
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from core.torchfile import VOICE_FILE_LIMIT, TorchFileError, check_torch_file, human_size, load_torch_file

if TYPE_CHECKING:
    import torch

__all__ = [
    "CheckpointError",
    "CONFIG_CLASSES",
    "check_checkpoint",
    "HParams",
    "load_checkpoint",
    "checkpoint_kind",
    "detect_version",
    "require_v2",
    "save_sovits",
    "save_gpt",
]


class CheckpointError(Exception):
    """A voice file cannot be used; the message is meant for the user."""


# --------------------------------------------------------------------------------------------
# HParams: the original's config object, re-created as a small attribute dict


class HParams:
    """Nested config with attribute and item access (`hps.model.gin_channels`, `hps["model"]`).

    The original pickles its own `utils.HParams` as NEWOBJ + BUILD(__dict__); the same layout is
    produced here (see `_SavePickler`) so the original project can read files we write.
    """

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, HParams(**value) if isinstance(value, dict) else value)

    def __setstate__(self, state: dict) -> None:
        # BUILD from a pickle: nested sections arrive as HParams already (or plain dicts).
        for key, value in state.items():
            setattr(self, key, HParams(**value) if isinstance(value, dict) else value)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__

    def __iter__(self):
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HParams) and self.to_dict() == other.to_dict()

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)

    def keys(self):
        return self.__dict__.keys()

    def items(self):
        return self.__dict__.items()

    def values(self):
        return self.__dict__.values()

    def to_dict(self) -> dict:
        return {k: v.to_dict() if isinstance(v, HParams) else v for k, v in self.__dict__.items()}

    def __repr__(self) -> str:
        return f"HParams({self.to_dict()!r})"


# --------------------------------------------------------------------------------------------
# Reading: core.torchfile does the safe part (no code, bounded sizes, weights_only)

# The config classes a voice file may hold, by the names the original's pickles use.
CONFIG_CLASSES: dict[str, type] = {"utils.HParams": HParams, "GPT_SoVITS.utils.HParams": HParams}

# The first two bytes of a zip are "PK". The original overwrites them with an ASCII version mark
# for some formats (its process_ckpt.py: 00 v1, 01 v2, 02 v3, 03 v3 LoRA, 04 v4 LoRA, 05 v2Pro,
# 06 v2ProPlus); in practice v2Pro/v2ProPlus and the LoRA files carry one, v1/v2 files do not.
_VERSION_MARKS = {b"00": "v1", b"01": "v2", b"02": "v3", b"03": "v3-lora", b"04": "v4-lora",
                  b"05": "v2Pro", b"06": "v2ProPlus"}


def _header_tag(head: bytes) -> str | None:
    """'PK' for a plain zip, the version a mark announces, 'unknown' for an unknown mark, else None."""
    if head[:2] == b"PK":
        return "PK"
    if head[:2] in _VERSION_MARKS:
        return _VERSION_MARKS[head[:2]]
    # Tolerate the same marks written as raw bytes (e.g. b"\x05\x05").
    if len(head) == 2 and head[:1] == head[1:2] and b"0" + str(head[0]).encode() in _VERSION_MARKS:
        return _VERSION_MARKS[b"0" + str(head[0]).encode()]
    if len(head) == 2 and head[:1] == b"0" and head[1:2].isdigit():
        return "unknown"
    return None


def _read_voice_file(path: Path, limit: int) -> tuple[bytes, str]:
    """The file's bytes with the zip signature restored, and its header tag; CheckpointError else."""
    name = path.name
    try:
        if path.is_dir():
            raise CheckpointError(f"{name} is a folder, not a voice model file.")
        size = path.stat().st_size
        if size > limit:
            raise CheckpointError(
                f"{name} was not opened: it is {human_size(size)}, larger than any GPT-SoVITS "
                f"model file ({human_size(limit)} at most; the largest official one is 155 MB).")
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CheckpointError(f"{name}: file not found.") from None
    except PermissionError:
        raise CheckpointError(f"{name}: you do not have permission to read this file.") from None
    except OSError as exc:
        raise CheckpointError(f"{name}: cannot be read ({exc.strerror}).") from None

    tag = _header_tag(data[:2])
    if tag is None:
        if data[:1] == b"\x80":
            raise CheckpointError(
                f"{name} is an old-style (pre-zip) torch file; such voice files are not supported."
            )
        raise CheckpointError(f"{name} is not a GPT-SoVITS model file.")
    if tag == "unknown":
        raise CheckpointError(
            f"{name} carries a model-version mark ({data[:2].decode()}) from a newer GPT-SoVITS; "
            "such voices are not supported yet."
        )
    if tag != "PK":
        data = b"PK" + data[2:]  # restore the zip signature in memory only
    return data, tag


def check_checkpoint(path: str | os.PathLike, *, limit: int = VOICE_FILE_LIMIT) -> None:
    """The inspection `load_checkpoint` starts with (no code, bounded sizes), without loading the
    tensors: cheap enough to run before passing a voice file on."""
    path = Path(path)
    data, _tag = _read_voice_file(path, limit)
    try:
        check_torch_file(data, limit=limit, classes=CONFIG_CLASSES, name=path.name,
                         what="voice model file")
    except TorchFileError as exc:
        raise CheckpointError(str(exc)) from None


def load_checkpoint(path: str | os.PathLike, *, limit: int = VOICE_FILE_LIMIT) -> dict:
    """Read a SoVITS `.pth` or GPT `.ckpt` safely; returns the stored dict on the CPU.

    Nothing in the file runs: `core.torchfile` refuses TorchScript and any class but the
    tensors' own and the original's config, and bounds every size before torch allocates it.
    The key `_header` is added: "PK", or the version tag a swapped header announced
    ("v1", "v2", "v3", "v3-lora", "v4-lora", "v2Pro", "v2ProPlus"); `detect_version` uses it.
    """
    path = Path(path)
    name = path.name
    data, tag = _read_voice_file(path, limit)
    try:
        ckpt = load_torch_file(data, limit=limit, classes=CONFIG_CLASSES, name=name,
                               what="voice model file")
    except TorchFileError as exc:
        raise CheckpointError(str(exc)) from None

    if not isinstance(ckpt, dict) or "weight" not in ckpt or not isinstance(ckpt["weight"], Mapping):
        raise CheckpointError(f"{name} is a torch file but not a GPT-SoVITS voice model.")
    ckpt["_header"] = tag
    return ckpt


# --------------------------------------------------------------------------------------------
# Telling versions apart

_TEXT_EMB_SOVITS = "enc_p.text_embedding.weight"
_TEXT_EMB_GPT = "model.ar_text_embedding.word_embeddings.weight"


def checkpoint_kind(ckpt: Mapping) -> str:
    """'gpt' (keys prefixed `model.`) or 'sovits'."""
    keys = list(ckpt["weight"].keys())
    if keys and all(k.startswith("model.") for k in keys):
        return "gpt"
    return "sovits"


def _cfg_get(config: Any, *path: str) -> Any:
    node = config
    for part in path:
        if node is None:
            return None
        node = node.get(part) if hasattr(node, "get") else getattr(node, part, None)
    return node


def detect_version(ckpt: Mapping) -> str:
    """'v1', 'v2', 'v2Pro', 'v2ProPlus', 'v3' or 'v4' (GPT files: 'v1' or 'v2').

    Order of evidence: the swapped header, LoRA/CFM keys, the Pro speaker-verification layer, and
    finally the phone-embedding rows (322 in v1, 732 from v2 on).
    """
    weight = ckpt["weight"]
    if checkpoint_kind(ckpt) == "gpt":
        emb = weight.get(_TEXT_EMB_GPT)
        vocab = _cfg_get(ckpt.get("config"), "model", "phoneme_vocab_size")
        rows = emb.shape[0] if emb is not None else vocab
        return "v1" if rows is not None and rows < 732 else "v2"

    header = ckpt.get("_header", "PK")
    if header in ("v3-lora", "v4-lora"):
        return header[:2]
    if header in ("v1", "v3"):
        return header
    cfg_version = _cfg_get(ckpt.get("config"), "model", "version")
    if any(k.startswith("cfm.") for k in weight) or "lora_rank" in ckpt:
        # v3 and v4 share the CFM layout; only the config (or header) names v4.
        return "v4" if cfg_version == "v4" else "v3"
    if header in ("v2Pro", "v2ProPlus"):
        return header
    if "sv_emb.weight" in weight:
        if cfg_version in ("v2Pro", "v2ProPlus"):
            return cfg_version
        initial = _cfg_get(ckpt.get("config"), "model", "upsample_initial_channel")
        return "v2ProPlus" if initial is not None and initial > 512 else "v2Pro"
    emb = weight.get(_TEXT_EMB_SOVITS)
    if emb is None:
        raise CheckpointError("This file holds no SoVITS phone embedding; it is not a voice model.")
    return "v1" if emb.shape[0] < 732 else "v2"


def require_v2(ckpt: Mapping, name: str = "This file") -> str:
    """Raise a clear CheckpointError unless the file is a v2 model; returns its kind."""
    kind = checkpoint_kind(ckpt)
    version = detect_version(ckpt)
    if version != "v2":
        what = "GPT" if kind == "gpt" else "SoVITS"
        raise CheckpointError(
            f"{name} is a GPT-SoVITS {version} {what} model; {version} voices are not supported yet "
            "(only v2 models can be used for now)."
        )
    return kind


# --------------------------------------------------------------------------------------------
# Writing the official formats


class _SavePickler(pickle._Pickler):  # the pure-Python pickler lets us name HParams' class
    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is HParams:
            # The original project finds its config class as utils.HParams.
            self.write(pickle.GLOBAL + b"utils\nHParams\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


_save_pickle = types.SimpleNamespace(__name__="voicebank_save_pickle", Pickler=_SavePickler)


def _to_hparams(config: Any) -> HParams:
    if isinstance(config, HParams):
        return config
    if isinstance(config, Mapping):
        return HParams(**dict(config))
    raise TypeError(f"config must be HParams or a dict, not {type(config).__name__}")


def _atomic_save(obj: dict, path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            import torch   # here, not at the top: reading a voice file needs no torch

            torch.save(obj, f, pickle_module=_save_pickle, pickle_protocol=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # readers see either the old file or the complete new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _half_weights(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, tensor in weights.items():
        tensor = tensor.detach().cpu()
        out[key] = tensor.half() if tensor.is_floating_point() else tensor
    return out


def save_sovits(
    path: str | os.PathLike, weights: Mapping[str, torch.Tensor], config: Any, info: str
) -> None:
    """Write a SoVITS `.pth` as the original does: fp16 weights, `utils.HParams` config."""
    obj = {"weight": _half_weights(weights), "config": _to_hparams(config), "info": info}
    _atomic_save(obj, path)


def save_gpt(
    path: str | os.PathLike, weights: Mapping[str, torch.Tensor], config: Mapping, info: str
) -> None:
    """Write a GPT `.ckpt`: fp16 weights with `model.` names, plain-dict config."""
    cfg = config.to_dict() if isinstance(config, HParams) else dict(config)
    obj = {"weight": _half_weights(weights), "config": cfg, "info": info}
    _atomic_save(obj, path)
