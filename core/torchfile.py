"""Reading torch files that came from outside without running anything they contain.

Every `.pth`, `.ckpt`, `.pt` or `pytorch_model.bin` the app opens goes through `load_torch_file`
(or `check_torch_file`, which only inspects): voice files, base models, a restored backup's
voices, feature caches, training checkpoints, the speaker-check weights. Two layers, both always:

1. **Inspection before torch sees the file** (`check_torch_file`), which allocates nothing but
   the pickle itself:
   - the file size is under the caller's limit (the largest official file of that kind, with
     margin);
   - a zip holds only the records `torch.save` writes (`data.pkl`, `data/<n>`, `version`, ...),
     all under one folder, stored uncompressed. A TorchScript archive (`constants.pkl`,
     `code/`) is refused by name, so torch never hands it to `torch.jit.load`, whose
     `__setstate__` runs TorchScript that can write files;
   - the pickle is dry-run with an unpickler that knows only the few globals weight files hold
     (tensor rebuild functions, storages, OrderedDict, torch.Size, and the caller's config
     classes) and calls none of torch's: each storage it declares must match the bytes that are
     really there, so a file cannot make torch allocate more than it holds.
   The legacy (pre-1.6, non-zip) format gets the same checks.
2. **`torch.load` with weights_only=True**, with the caller's config classes as the only extra safe
   globals: torch's own restricted unpickler, never the stock one.

A refusal is a `TorchFileError` whose message names the file, what was wrong and what to do.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping

__all__ = [
    "TorchFileError", "TorchFileSummary", "check_torch_file", "load_torch_file", "human_size",
    "VOICE_FILE_LIMIT", "FEATURE_MODEL_LIMIT", "TRAINING_STATE_LIMIT", "SMALL_FILE_LIMIT",
]

MiB = 1024 ** 2
GiB = 1024 ** 3
# The largest official GPT-SoVITS v2 file is the 155 MB GPT; v2ProPlus SoVITS is ~200 MB.
VOICE_FILE_LIMIT = 512 * MiB
# chinese-roberta-wwm-ext-large is 1.3 GB in fp32 (0.65 GB in the official fp16 copy).
FEATURE_MODEL_LIMIT = 2 * GiB
# A build's checkpoint: weights plus two Adam moments for SoVITS G + D, ~1.3 GB at v2 size.
TRAINING_STATE_LIMIT = 4 * GiB
# Feature caches, the speaker-check weights: a few MB.
SMALL_FILE_LIMIT = 256 * MiB
_PICKLE_LIMIT = 64 * MiB   # the pickle of a weights file is names and configs: well under 1 MB

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C   # torch's magic number for the pre-zip format

# Inspection needs no torch (the GUI process never imports it): storages by their item size.
_STORAGE_ITEMSIZE: dict[str, int] = {
    "HalfStorage": 2, "FloatStorage": 4, "DoubleStorage": 8, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "UntypedStorage": 1,
}
# torch dtypes a pickle may name (as `torch.float16` & co.): plain values, nothing to run.
_DTYPE_NAMES = frozenset({
    "float16", "half", "float32", "float", "float64", "double", "bfloat16", "int64", "long", "int32",
    "int", "int16", "short", "int8", "uint8", "bool", "complex64", "complex128"})

# What torch.save writes inside its zip, after the one top folder.
_ZIP_RECORDS = re.compile(
    r"(data\.pkl|version|\.format_version|\.storage_alignment|byteorder|\.data/serialization_id"
    r"|data/[0-9A-Za-z_]{1,64})")
_CODE_RECORDS = re.compile(r"(constants\.pkl|code/.*|constants/.*|extra/.*|\.data/version)")


class TorchFileError(Exception):
    """A torch file that cannot be used; the message is meant for the person who chose it."""


def human_size(n: int) -> str:
    if n >= GiB:
        return f"{n / GiB:.1f} GB"
    if n >= MiB:
        return f"{n / MiB:.0f} MB"
    return f"{n:,} bytes"


@dataclass
class TorchFileSummary:
    """What inspection found: the format, and the storages the pickle declares."""
    format: str                          # "zip" or "legacy"
    storages: dict[str, int] = field(default_factory=dict)   # key -> bytes
    classes: set[str] = field(default_factory=set)           # the globals the pickle names

    @property
    def tensor_bytes(self) -> int:
        return sum(self.storages.values())


# ------------------------------------------------------------------------------ the dry run


@dataclass(frozen=True)
class _StorageType:
    """Stands in for torch.FloatStorage & co. in the dry run: a name, not something to call."""
    name: str

    @property
    def itemsize(self) -> int:
        return _STORAGE_ITEMSIZE[self.name]


@dataclass(frozen=True)
class _DtypeName:
    """Stands in for a torch dtype in the dry run."""
    name: str


@dataclass(frozen=True)
class _StorageRef:
    key: str
    nbytes: int
    itemsize: int


class _TensorStub:
    """What a rebuilt tensor is in the dry run: nothing allocated."""


def _ints(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(
        type(v) is int and v >= 0 for v in value)


def _rebuild_tensor_stub(storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> _TensorStub:
    """Checks the arguments of torch._utils._rebuild_tensor(_v2) as torch would use them."""
    if not isinstance(storage, _StorageRef):
        raise TorchFileError("a tensor is not built from a stored block of numbers")
    if type(offset) is not int or offset < 0 or not _ints(size) or not _ints(stride) \
            or len(size) != len(stride) or len(size) > 16:
        raise TorchFileError("a tensor has an impossible shape")
    hooks = rest[1] if len(rest) > 1 else None
    if hooks is not None and not (isinstance(hooks, OrderedDict) and not hooks):
        raise TorchFileError("a tensor carries backward hooks, which weight files never hold")
    numel = storage.nbytes // storage.itemsize
    if all(size):
        last = offset + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= numel:
            raise TorchFileError("a tensor reaches past the numbers stored for it")
    return _TensorStub()


def _rebuild_parameter_stub(data: Any, requires_grad: Any, hooks: Any, *rest: Any) -> _TensorStub:
    if not isinstance(data, _TensorStub):
        raise TorchFileError("a parameter is not built from a tensor")
    return data


def _size_stub(dims: Any = ()) -> tuple:
    if not _ints(dims):
        raise TorchFileError("a tensor has an impossible shape")
    return tuple(dims)


def _latin1_encode(text: Any, encoding: str = "utf-8", *rest: Any) -> bytes:
    # Protocol-2 pickles write bytes as _codecs.encode(str, "latin1"); nothing else is allowed.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or rest:
        raise TorchFileError("it asks to run a text codec in a way weight files never do")
    return text.encode("latin1")


_DRY_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_stub,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor_stub,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter_stub,
    ("collections", "OrderedDict"): OrderedDict,
    ("torch", "Size"): _size_stub,
    ("_codecs", "encode"): _latin1_encode,
}


class _DryRunUnpickler(pickle.Unpickler):
    """Unpickles the structure of a weights file and records the storages it declares."""

    def __init__(self, file: BinaryIO, classes: Mapping[str, type], legacy: bool) -> None:
        super().__init__(file)
        self.classes = classes
        self.legacy = legacy
        self.storages: dict[str, _StorageRef] = {}
        self.order: list[str] = []
        self.named: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.named.add(f"{module}.{name}")
        if (module, name) in _DRY_GLOBALS:
            return _DRY_GLOBALS[(module, name)]
        if f"{module}.{name}" in self.classes:
            return self.classes[f"{module}.{name}"]
        if module == "torch" and name in _STORAGE_ITEMSIZE:
            return _StorageType(name)
        if module == "torch" and name in _DTYPE_NAMES:
            return _DtypeName(name)
        raise TorchFileError(
            f"it contains {module}.{name}, which a file of weights never holds (it could run a "
            "program)")

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid:
            raise TorchFileError("it refers to stored data in a way torch never writes")
        kind = pid[0].decode("ascii", "replace") if isinstance(pid[0], bytes) else pid[0]
        if kind != "storage" or len(pid) != (6 if self.legacy else 5):
            raise TorchFileError("it refers to something other than stored numbers (a module?)")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) \
                or type(numel) is not int or numel < 0:
            raise TorchFileError("it declares stored numbers in a way torch never writes")
        ref = _StorageRef(key, numel * storage_type.itemsize, storage_type.itemsize)
        known = self.storages.get(key)
        if known is not None and known.nbytes != ref.nbytes:
            raise TorchFileError("it declares one block of numbers with two different sizes")
        if known is None:
            self.storages[key] = ref
            self.order.append(key)
        if self.legacy and pid[5] is not None:
            # (view key, offset, size): a view into the block, bounded by it.
            view = pid[5]
            if not (isinstance(view, tuple) and len(view) == 3 and type(view[1]) is int
                    and type(view[2]) is int and 0 <= view[1] and view[1] + view[2] <= numel):
                raise TorchFileError("it declares a view outside its stored numbers")
        return ref


def _dry_run(data: BinaryIO, classes: Mapping[str, type], legacy: bool,
             summary: TorchFileSummary) -> _DryRunUnpickler:
    unpickler = _DryRunUnpickler(data, classes, legacy)
    try:
        unpickler.load()
    except TorchFileError:
        raise
    except RecursionError:
        raise TorchFileError("its structure is nested impossibly deep") from None
    except Exception as exc:   # a malformed pickle: truncated, wrong opcodes, a stub refusing
        raise TorchFileError(f"its contents are damaged ({type(exc).__name__})") from None
    summary.classes |= unpickler.named
    return unpickler


# ---------------------------------------------------------------------------- inspection


def _check_zip(data: BinaryIO, classes: Mapping[str, type], limit: int) -> TorchFileSummary:
    try:
        zf = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError):
        raise TorchFileError("it is damaged or incomplete (an interrupted copy or download?)") from None
    with zf:
        infos = zf.infolist()
        tops = {info.filename.split("/", 1)[0] for info in infos}
        if not infos or len(tops) != 1:
            raise TorchFileError("it is a zip file but not one that torch.save writes")
        top = next(iter(tops)) + "/"
        records: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            rest = info.filename[len(top):] if info.filename.startswith(top) else info.filename
            if _CODE_RECORDS.fullmatch(rest):
                raise TorchFileError(
                    "it is a TorchScript program, not a file of weights. Programs like this can "
                    "change files on your computer")
            if not _ZIP_RECORDS.fullmatch(rest):
                raise TorchFileError(f"it holds a part ({info.filename!r}) that weight files never have")
            if rest in records:
                raise TorchFileError(f"it holds {rest!r} twice")
            if info.flag_bits & 0x1:
                raise TorchFileError("it is encrypted")
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                # torch.save stores records as they are; a compressed one could unpack to any size.
                raise TorchFileError("it is compressed, which torch.save never does")
            records[rest] = info
        if sum(info.file_size for info in infos) > limit:
            raise TorchFileError(f"it would hold more than {human_size(limit)}")
        pkl = records.get("data.pkl")
        if pkl is None:
            raise TorchFileError("it holds no data.pkl: it is not a torch file")
        if pkl.file_size > _PICKLE_LIMIT:
            raise TorchFileError("its description part is far larger than any weight file's")
        summary = TorchFileSummary("zip")
        try:
            pickle_bytes = zf.read(pkl)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise TorchFileError("it is damaged (its description part cannot be read)") from None
        unpickler = _dry_run(io.BytesIO(pickle_bytes), classes, False, summary)
        for key, ref in unpickler.storages.items():
            info = records.get(f"data/{key}")
            if info is None:
                raise TorchFileError(f"it lacks the numbers of one tensor (data/{key})")
            if info.file_size != ref.nbytes:
                raise TorchFileError(
                    f"one tensor declares {human_size(ref.nbytes)} but {human_size(info.file_size)} "
                    "are stored (damaged, or made to exhaust memory)")
            summary.storages[key] = ref.nbytes
    return summary


def _check_legacy(data: BinaryIO, classes: Mapping[str, type], size: int) -> TorchFileSummary:
    summary = TorchFileSummary("legacy")
    header = _DryRunUnpickler(data, {}, True)
    try:
        magic, _protocol, sys_info = header.load(), header.load(), header.load()
    except TorchFileError:
        raise
    except Exception:
        raise TorchFileError("it is not a torch file") from None
    if magic != _LEGACY_MAGIC or not isinstance(sys_info, dict):
        raise TorchFileError("it is not a torch file")
    if sys_info.get("little_endian") is False:
        raise TorchFileError("it was saved on a big-endian machine; such files are not supported")
    unpickler = _dry_run(data, classes, True, summary)
    keys_pickle = _DryRunUnpickler(data, {}, True)
    try:
        keys = keys_pickle.load()
    except Exception:
        raise TorchFileError("it is damaged or incomplete") from None
    if not isinstance(keys, list) or sorted(keys) != sorted(unpickler.storages):
        raise TorchFileError("its list of stored blocks does not match its contents")
    declared = sum(unpickler.storages[k].nbytes for k in keys)
    if declared > size:
        raise TorchFileError(
            f"it declares {human_size(declared)} of numbers but the file is only {human_size(size)} "
            "(damaged, or made to exhaust memory)")
    for key in keys:   # each block: an 8-byte element count, then the bytes
        ref = unpickler.storages[key]
        head = data.read(8)
        if len(head) != 8 or struct.unpack("<q", head)[0] * ref.itemsize != ref.nbytes:
            raise TorchFileError("a block of numbers has a different size than declared")
        data.seek(ref.nbytes, os.SEEK_CUR)
        summary.storages[key] = ref.nbytes
    if data.tell() > size:
        raise TorchFileError("it is cut off (an interrupted copy or download?)")
    return summary


def _inspect(data: BinaryIO, size: int, classes: Mapping[str, type], limit: int) -> TorchFileSummary:
    head = data.read(4)
    data.seek(0)
    if head[:2] == b"PK":
        return _check_zip(data, classes, limit)
    if head[:2] == b"\x80\x02":
        return _check_legacy(data, classes, size)
    raise TorchFileError("it is not a PyTorch file")


def _open(source: str | os.PathLike | bytes) -> tuple[BinaryIO, int]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), len(source)
    path = Path(source)
    try:
        if path.is_dir():
            raise TorchFileError("it is a folder, not a file")
        fh = open(path, "rb")
    except FileNotFoundError:
        raise TorchFileError("the file does not exist") from None
    except PermissionError:
        raise TorchFileError("you do not have permission to read it") from None
    except OSError as exc:
        raise TorchFileError(f"it cannot be read ({exc.strerror or exc})") from None
    return fh, os.fstat(fh.fileno()).st_size


def _display_name(source: Any, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return "This file"


def _refusal(display: str, why: str, what: str) -> TorchFileError:
    return TorchFileError(f"{display} was refused (not opened): {why}. Use an original copy of the {what}.")


def check_torch_file(source: str | os.PathLike | bytes, *, limit: int,
                     classes: Mapping[str, type] | None = None, name: str | None = None,
                     what: str = "file") -> TorchFileSummary:
    """Inspect a torch file without letting torch near it; raises TorchFileError.

    `limit`: the most bytes the file and its tensors may take. `classes`: the config classes it
    may hold, by the dotted name its pickle uses (e.g. {"utils.HParams": HParams}).
    """
    display = _display_name(source, name)
    try:
        fh, size = _open(source)
    except TorchFileError as exc:
        raise TorchFileError(f"{display} cannot be opened: {exc}.") from None
    with fh:
        if size > limit:
            raise _refusal(display, f"it is {human_size(size)}, larger than any {what} "
                           f"({human_size(limit)} at most)", what)
        try:
            summary = _inspect(fh, size, dict(classes or {}), limit)
        except TorchFileError as exc:
            raise _refusal(display, str(exc), what) from None
        except OSError as exc:
            raise TorchFileError(f"{display} cannot be read ({exc.strerror or exc}).") from None
    if summary.tensor_bytes > limit:
        raise _refusal(display, f"its tensors would take {human_size(summary.tensor_bytes)}, more than "
                       f"any {what} ({human_size(limit)} at most)", what)
    return summary


def load_torch_file(source: str | os.PathLike | bytes, *, limit: int,
                    classes: Mapping[str, type] | None = None, name: str | None = None,
                    what: str = "file", check: Callable[[Any], None] | None = None) -> Any:
    """`check_torch_file`, then torch.load(weights_only=True) on the CPU with only `classes` added.

    `check(obj)` may raise TorchFileError for content of the wrong shape.
    """
    import torch

    display = _display_name(source, name)
    check_torch_file(source, limit=limit, classes=classes, name=display, what=what)
    target: Any = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) \
        else os.fspath(source)
    extra = [(cls, dotted) for dotted, cls in (classes or {}).items()]
    try:
        with torch.serialization.safe_globals(extra):
            obj = torch.load(target, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise TorchFileError(f"{display} cannot be read ({exc.strerror or exc}).") from None
    except Exception as exc:   # torch's own refusals and broken data: all mean an unusable file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise _refusal(display, f"torch could not read it safely ({first})", what) from None
    if check is not None:
        try:
            check(obj)
        except TorchFileError as exc:
            raise _refusal(display, str(exc), what) from None
    return obj
