"""The one device every stage of synthesis runs on, chosen once (`pick_device`)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from core.engine.features import SynthesisError

__all__ = ["DeviceSetup", "pick_device"]


@dataclass
class DeviceSetup:
    device: torch.device
    amp_dtype: torch.dtype | None = None  # autocast for HuBERT, BERT and the GPT (CUDA only)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def generator(self, seed: int | None) -> torch.Generator | None:
        return None if seed is None else torch.Generator(device=self.device).manual_seed(int(seed))

    def vocoder_generator(self, seed: int | None) -> torch.Generator | None:
        """The decoder's own noise stream, derived from the same seed: the GPT's draws then do
        not depend on how much noise the decoder drew before (so the GPT of the next batch can
        run while this one is decoded, with the same audio as in sequence)."""
        if seed is None:
            return None
        derived = (int(seed) * 6364136223846793005 + 1442695040888963407) % (2 ** 63)
        return torch.Generator(device=self.device).manual_seed(derived)


def pick_device(name: str | torch.device = "cpu") -> DeviceSetup:
    """'cpu' (fp32) or 'cuda'/'cuda:N' (fp16 autocast where the original trusts fp16)."""
    text = str(name or "cpu").strip().lower()
    if text == "cpu":
        return DeviceSetup(torch.device("cpu"))
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            why = ("this PyTorch is a CPU-only build" if torch.version.cuda is None
                   else "PyTorch finds no NVIDIA GPU or driver")
            raise SynthesisError(
                f"The GPU (cuda) was chosen, but it cannot be used here: {why}. Choose the CPU "
                "instead (slower), or install an NVIDIA driver and a CUDA build of PyTorch.")
        try:
            device = torch.device(text)
            index = device.index or 0
            if index >= torch.cuda.device_count():
                raise ValueError(f"there are {torch.cuda.device_count()} GPUs")
            major, _ = torch.cuda.get_device_capability(index)
            gpu = torch.cuda.get_device_name(index)
        except (RuntimeError, ValueError) as exc:
            raise SynthesisError(f"The GPU “{name}” cannot be used ({exc}). Choose cuda or cpu.") from None
        # fp16 from compute capability 7 on; Pascal and GTX 16xx give NaN/silence in fp16 (the
        # original's rule), so they run fp32. The SoVITS decoder always runs fp32 (its flow and
        # vocoder are cheap next to the GPT and sensitive to overflow).
        amp = torch.float16 if major >= 7 and "GTX 16" not in gpu else None
        return DeviceSetup(torch.device("cuda", index), amp)
    raise SynthesisError(f"Unknown device “{name}”: use cpu or cuda.")
