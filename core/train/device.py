"""Where and how training runs: device, precision, batch size, running out of GPU memory.

Chosen once per build; every model and tensor of the build goes to the same device.

Precision on CUDA: bf16 where the card supports it (no loss scaling needed), fp16 with a
GradScaler otherwise, and fp32 on cards where half precision is known to misbehave or to be
slower than fp32 (table below). On the CPU always fp32 (the same code path, autocast disabled).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch

from .errors import BuildError

# Cards where fp16 training is known to fail (NaN/black output) or to be no faster than fp32.
# Matched first by name fragment, then by compute capability.
FP16_BAD_NAMES = (
    "GTX 16",      # Turing TU116/TU117 (GTX 1630/1650/1660): fp16 gives NaN in GPT-SoVITS/VITS
    "T400", "T600", "T1000",   # TU117 workstation cards, same silicon as GTX 1650
    "MX450", "MX550",          # TU117 laptop parts
)
FP16_BAD_CAPABILITIES = {
    (6, 1),  # Pascal consumer (GTX 10xx, P40/P4): fp16 at 1/64 rate
    (5, 0), (5, 2), (5, 3),  # Maxwell: no fast fp16
    (3, 5), (3, 7),          # Kepler
}


@dataclass
class Device:
    device: torch.device
    precision: str  # "fp32" | "fp16" | "bf16"
    name: str

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def amp_dtype(self) -> torch.dtype | None:
        return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def loss_scaling(self) -> bool:
        """Only fp16 needs loss scaling (bf16 has fp32's range)."""
        return self.precision == "fp16"

    def scaler(self) -> torch.amp.GradScaler:
        # A disabled scaler is a no-op with the same interface.
        return torch.amp.GradScaler(self.device.type, enabled=self.loss_scaling)


@dataclass(frozen=True)
class Card:
    """What the precision choice needs to know about a GPU."""
    name: str
    capability: tuple[int, int]

    @property
    def bf16(self) -> bool:
        # Native bf16 from Ampere (8.0) on; torch.cuda.is_bf16_supported() also says yes for
        # older cards that only emulate it (slowly).
        return tuple(self.capability) >= (8, 0)


def card(index: int) -> Card:
    return Card(torch.cuda.get_device_name(index), tuple(torch.cuda.get_device_capability(index)))


def fp16_unsafe(name: str, capability: tuple[int, int]) -> bool:
    return any(part in name for part in FP16_BAD_NAMES) or tuple(capability) in FP16_BAD_CAPABILITIES


def precision_for(cards: list[Card], wanted: str = "auto") -> str:
    """The precision every card of the build can use: fp32 if one is in the fp16 table, bf16
    if all have it natively, else fp16. An explicit bf16 that a card lacks is an error."""
    if wanted == "bf16":
        lacking = [c.name for c in cards if not c.bf16]
        if lacking:
            raise BuildError(f"{lacking[0]} does not support bf16; use precision auto, fp16 or fp32.")
    if wanted != "auto":
        return wanted
    if any(fp16_unsafe(c.name, c.capability) for c in cards):
        return "fp32"
    return "bf16" if all(c.bf16 for c in cards) else "fp16"


def choose(device: str = "auto", precision: str = "auto") -> Device:
    """Resolve "auto"/"cpu"/"cuda[:n]" and "auto"/"fp32"/"fp16"/"bf16" once for the build."""
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise BuildError(f"Unknown device {device!r}: use auto, cpu or cuda.")
    if precision not in ("auto", "fp32", "fp16", "bf16"):
        raise BuildError(f"Unknown precision {precision!r}: use auto, fp32, fp16 or bf16.")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BuildError("No usable NVIDIA GPU was found (CUDA is not available to PyTorch). "
                         "Build on the CPU (slower) with device 'cpu', or install the GPU driver.")
    dev = torch.device(device)
    if dev.type == "cpu":
        # Half precision on the CPU is slow and unsupported by several kernels: always fp32.
        return Device(dev, "fp32", f"CPU ({os.cpu_count()} cores)")
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise BuildError(f"There is no GPU {device} (PyTorch sees {torch.cuda.device_count()}).")
    dev = torch.device("cuda", index)
    this = card(index)
    precision = precision_for([this], precision)
    torch.backends.cuda.matmul.allow_tf32 = True  # as the original: TF32 on (Ampere and later)
    torch.backends.cudnn.allow_tf32 = True
    return Device(dev, precision, this.name)


def free_memory_gib(dev: Device) -> float:
    """Free accelerator memory (CUDA) or available RAM (CPU), in GiB."""
    if dev.is_cuda:
        free, _ = torch.cuda.mem_get_info(dev.device)
        return free / 2**30
    try:
        import psutil

        return psutil.virtual_memory().available / 2**30
    except Exception:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
        except (ValueError, OSError, AttributeError):
            return 8.0


def auto_batch_size(dev: Device, stage: str) -> int:
    """As the original UI: about one item per 2 GiB of GPU memory, with caps per stage.

    Measured after the models are loaded (free memory, not total). fp32 uses about twice the
    activation memory, so the batch is halved, as the original does without fp16. On the CPU the
    batch is small: larger batches do not make a CPU faster per item.
    """
    gib = free_memory_gib(dev)
    if not dev.is_cuda:
        return max(1, min(4, int(gib / 4)))
    n = int(gib / 2)
    if dev.precision == "fp32":
        n //= 2
    cap = 32 if stage == "sovits" else 40
    return max(1, min(cap, n))


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def release_memory(dev: Device) -> None:
    if dev.is_cuda:
        torch.cuda.empty_cache()


def oom_error(stage: str, dev: Device) -> BuildError:
    return BuildError(
        f"The GPU ({dev.name}) ran out of memory during {stage} training even with one clip per "
        "batch. Close other programs that use the GPU, leave out very long takes (over 20 s), or "
        "build on the CPU (slower).")


def adamw(params, lr: float, **kwargs) -> torch.optim.AdamW:
    """AdamW with the fused kernel where this PyTorch has one (CPU and CUDA since 2.4): on the
    CPU it is tens of times faster than the default for models of this size."""
    params = list(params)
    try:
        return torch.optim.AdamW(params, lr, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, lr, **kwargs)
