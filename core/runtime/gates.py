"""Load-time gates of the lossy fast paths: their figures, what this CPU is, and a cache of verdicts.

A lossy fast path (int8 GPT, bf16 KV cache, bf16 BERT, bf16 decoder; any later int8 or ONNX
vocoder the same way) changes numbers. It is used for a voice only after it has matched the
exact path on THIS CPU and THIS voice when the voice is loaded (`core.runtime.apply`):

| gate | metric | threshold |
| --- | --- | --- |
| `int8_gpt` | share of 100 greedy steps where the int8 GPT picks the fp32 GPT's token (teacher-forced) | >= 0.95 |
| `bf16_kv_cache` | the same, for the GPT as it will run (int8 if that passed) with a bf16 KV cache | >= 0.95 |

The GPT probe is a fixed Chinese sentence (the loaded BERT's features) after a seeded prompt of
150 tokens. 100 steps rather than 50: mismatches come in clusters where logits are near-tied, and
over 50 steps one cluster decided the verdict (the full-size bench model: 0.94 over the first 50
steps of one probe, 0.97 over 100, 0.985 over 200, 1.00 on two other probes), while a broken
kernel is far below any of that (0.04-0.08 with saturating 8-bit inputs).
| `bf16_bert` | SNR of the bf16 BERT's features against fp32's on a probe text | >= 30 dB |
| `bf16_decoder` | SNR of the chunked bf16 generator against the fp32 whole-sequence generator | >= 30 dB |

Why at load and not only in `voicebank bench`: the int8 kernels are not the same code on every
CPU (fbgemm adds int8 products in a saturating int16 on AVX2, in int32 with AVX512-VNNI), so a
figure measured on the developer's CPU says nothing about a patient's laptop (issue 18: 0.04
agreement on an AVX2 EPYC). A path that fails is switched off for that load and its figure is
kept in the report (worker status, Speak page details, `voicebank selftest`).

The checks cost about 2-3 s with full-size models on 2 cores (BENCHMARKS.md), so each verdict is
kept in a small JSON file in the user cache folder (`VOICEBANK_CACHE` overrides), keyed by the
voice files' identity (path, size, modification time), the CPU model and ISA as torch and the
kernels see it, the torch version and the thresholds: the next load of the same voice on the same
machine reads the verdicts instead of measuring. A changed voice file, CPU, ISA cap or torch
gives a new key, so the checks run again. The cache is an optimisation only: an unreadable or
unwritable file means the checks run, never that a load fails.

This module imports no torch at import time: the GUI formats the figures (`describe_status`).
It is also where the fast paths learn what this CPU is (`cpu_info`, `cpu_has_native_bf16`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = [
    "AGREEMENT_GATE", "SNR_GATE_DB", "GATE_STEPS", "Gate", "CpuInfo", "cpu_info", "GateCache",
    "cache_path", "voice_identity", "gate_key", "describe_status", "LEVER_LABELS", "BERT_PROBE_TEXT",
    "cpu_has_native_bf16", "isa_capped_below_bf16",
]

SNR_GATE_DB = 30.0
AGREEMENT_GATE = 0.95
GATE_STEPS = 100            # greedy steps compared per GPT gate (`voicebank bench` too): see below
GATE_VERSION = 1            # bump when what a gate measures changes: old verdicts are then ignored
CACHE_NAME = "fastpath-gates.json"
CACHE_MAX_ENTRIES = 64      # voices x machines; the oldest are dropped
ENV_CACHE = "VOICEBANK_CACHE"
# What the BERT gate's features and the GPT gates' probe (`agreement.gpt_probe`) are computed on.
BERT_PROBE_TEXT = "今天天气很好，我们一起去公园散步，然后回家吃饭。"

LEVER_LABELS = {"int8_gpt": "int8 GPT", "bf16_kv_cache": "bf16 KV cache", "bf16_bert": "bf16 BERT",
                "bf16_decoder": "bf16 decoder"}
# Environment variables that cap an ISA for torch, oneDNN, fbgemm or MKL (a forced cap changes
# which kernels run, so it is part of the CPU's identity here).
ISA_ENV = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "FBGEMM_ENABLE_INSTRUCTIONS",
           "MKL_ENABLE_INSTRUCTIONS", "VOICEBANK_INT8_REDUCE_RANGE")
# /proc/cpuinfo flags that decide which int8/bf16 kernels run, and their names for people.
ISA_FLAGS = {"avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512", "avx512bw": "AVX-512BW",
             "avx512_vnni": "AVX512-VNNI", "avx_vnni": "AVX-VNNI", "avx512_bf16": "AVX512-BF16",
             "amx_bf16": "AMX-BF16", "amx_int8": "AMX-INT8", "asimd": "NEON", "bf16": "BF16",
             "i8mm": "I8MM", "sve": "SVE"}


# --------------------------------------------------------------------------------------------
# One gate


@dataclass
class Gate:
    """One lossy fast path's check against the exact path, as measured (or read from the cache)."""
    lever: str                  # the FastPaths field
    metric: str                 # "agreement" (share of greedy tokens) or "snr_db"
    threshold: float
    value: float | None = None  # None: could not be measured (then it fails)
    passed: bool = False
    cached: bool = False        # read from the cache, not measured in this load
    seconds: float = 0.0        # what measuring it cost (0 when cached)
    steps: int | None = None    # agreement: over how many greedy steps
    basis: str = ""             # what the candidate was, e.g. "int8 GPT + bf16 KV cache"

    @classmethod
    def judge(cls, lever: str, metric: str, threshold: float, value: float | None, seconds: float = 0.0,
              steps: int | None = None, basis: str = "") -> "Gate":
        ok = value is not None and not math.isnan(value) and value >= threshold
        shown = None if value is None else (round(value, 4) if math.isfinite(value) else value)
        return cls(lever, metric, threshold, shown, ok, False, round(seconds, 3), steps, basis)

    def describe(self) -> str:
        """One line for people: the lever, on/off, and its figure against the gate."""
        label = LEVER_LABELS.get(self.lever, self.lever)
        state = "on" if self.passed else "OFF"
        if self.value is None:
            figure = "not measurable"
        elif self.metric == "agreement":
            same = f" ({round(self.value * self.steps)} of {self.steps} greedy tokens)" if self.steps else ""
            figure = f"agreement {self.value:.2f}{same}, gate >= {self.threshold:.2f}"
        else:
            figure = f"{self.value:.1f} dB SNR, gate >= {self.threshold:.0f} dB"
        where = "cached" if self.cached else f"checked in {self.seconds:.1f} s"
        return f"{label}: {state} ({figure}; {where})"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if isinstance(out["value"], float) and not math.isfinite(out["value"]):
            out["value"] = str(out["value"])   # JSON has no inf; "inf" reads back below
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Gate":
        """From the cache file (a user's file: every field checked, anything odd raises)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        value = kw.get("value")
        if isinstance(value, str):
            kw["value"] = float(value)          # "inf" (identical outputs)
        if not isinstance(kw.get("lever"), str) or not isinstance(kw.get("metric"), str):
            raise ValueError("not a gate")
        if not isinstance(kw.get("passed"), bool) or not isinstance(kw.get("threshold"), (int, float)):
            raise ValueError("not a gate")
        if kw.get("value") is not None and not isinstance(kw["value"], (int, float)):
            raise ValueError("not a gate")
        gate = cls(**kw)
        gate.cached, gate.seconds = True, 0.0
        return gate


# --------------------------------------------------------------------------------------------
# This CPU, as torch and its kernels see it


@dataclass(frozen=True)
class CpuInfo:
    model: str
    machine: str                        # platform.machine()
    torch_capability: str               # ATen's SIMD level (ATEN_CPU_CAPABILITY can cap it)
    flags: tuple[str, ...]              # the ISA_FLAGS present in /proc/cpuinfo
    forced: tuple[str, ...]             # ISA caps set in the environment ("NAME=value")
    int8_accumulation: str              # measured: "int32", "int16 (saturating)", or "none"
    int8_reduce_range: bool             # what Int8Linear uses here (7-bit activations)
    native_bf16: bool                   # bf16 fast paths possible (hardware and no cap below it)
    torch_version: str

    def isa(self) -> list[str]:
        return [ISA_FLAGS[f] for f in ISA_FLAGS if f in self.flags]

    def summary(self) -> str:
        parts = [f"{self.model} ({self.machine})",
                 f"torch {self.torch_version} uses {self.torch_capability}",
                 "ISA " + (" ".join(self.isa()) or "baseline"),
                 f"int8 kernel adds in {self.int8_accumulation}"
                 + (" -> 7-bit activations (reduce_range)" if self.int8_reduce_range else ""),
                 "bf16 native" if self.native_bf16 else "no native bf16"]
        if self.forced:
            parts.append("forced: " + " ".join(self.forced))
        return "; ".join(parts)

    def signature(self) -> dict[str, Any]:
        """What the cache key holds of the CPU: everything that changes which kernels run."""
        return asdict(self)


def _cpuinfo_text() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _cpuinfo_text().splitlines():
        if line.startswith(("model name", "Hardware", "CPU part")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags() -> set[str]:
    """The CPU's feature flags (x86 `flags`, ARM `Features`), empty where unknown."""
    for line in _cpuinfo_text().splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_native_bf16() -> bool:
    """True where bf16 matmul/conv run in hardware (AVX512-BF16 or AMX on x86; BF16 on ARM).

    Elsewhere bf16 is emulated and slower than fp32, so the decoder stays fp32.
    """
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="ignore")
        for line in text.splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    except OSError:
        pass
    words = set(flags.split())
    if isa_capped_below_bf16():
        return False
    if {"avx512_bf16", "amx_bf16"} & words:
        return True
    if "bf16" in words and platform.machine().lower() in ("aarch64", "arm64"):
        return True
    return False


def isa_capped_below_bf16() -> bool:
    """An ISA cap in the environment (ATEN_CPU_CAPABILITY for torch's own kernels,
    ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA for oneDNN's bf16 matmuls and convolutions) that
    forbids the bf16 instructions: the machine then runs as an older CPU would (how the AVX2
    figures in BENCHMARKS.md were measured on an AVX-512 box), and bf16 would be emulated."""
    aten = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    if aten in ("default", "avx", "avx2"):
        return True
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        cap = os.environ.get(name, "").strip().upper()
        if cap and not any(word in cap for word in ("BF16", "AMX", "FP16", "AVX10", "ALL", "DEFAULT")):
            return True
    return False


def forced_isa() -> tuple[str, ...]:
    return tuple(f"{name}={os.environ[name]}" for name in ISA_ENV if os.environ.get(name))


@functools.lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    """This machine as the fast paths see it (measured once per process)."""
    import torch

    from core.runtime import int8

    try:
        capability = str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # pragma: no cover - very old or exotic torch
        capability = "unknown"
    if int8.int8_available():
        accumulation = "int16 (saturating)" if int8.int8_kernel_saturates() else "int32"
    else:
        accumulation = "none"
    flags = cpu_flags()
    return CpuInfo(model=cpu_model(), machine=platform.machine(), torch_capability=capability,
                   flags=tuple(f for f in ISA_FLAGS if f in flags), forced=forced_isa(),
                   int8_accumulation=accumulation,
                   int8_reduce_range=int8.int8_reduce_range() if accumulation != "none" else False,
                   native_bf16=cpu_has_native_bf16(), torch_version=torch.__version__)


# --------------------------------------------------------------------------------------------
# The cache


def cache_path() -> Path:
    override = os.environ.get(ENV_CACHE)
    if override:
        return Path(override) / CACHE_NAME
    import platformdirs

    return Path(platformdirs.user_cache_dir("voicebank", appauthor=False)) / CACHE_NAME


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """A file's identity for the cache: where, how big, when last changed. A folder (a
    transformers model) is the identity of the files in it that hold weights or configuration."""
    p = Path(path).resolve()
    if p.is_dir():
        parts = sorted(q for q in p.iterdir()
                       if q.is_file() and q.suffix in (".bin", ".safetensors", ".json", ".pth", ".pt"))
        return {"path": str(p), "files": [file_identity(q) for q in parts]}
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def voice_identity(gpt: str | os.PathLike, sovits: str | os.PathLike,
                   bert: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """The identity of what the gates depend on (the GPT, the SoVITS and the BERT the GPT gate
    feeds), or None if a file cannot be stat'ed (then nothing is cached)."""
    try:
        return {"gpt": file_identity(gpt), "sovits": file_identity(sovits),
                "bert": file_identity(bert) if bert is not None else None}
    except OSError:
        return None


def gate_key(voice: Mapping[str, Any], cpu: CpuInfo) -> str:
    text = json.dumps({"version": GATE_VERSION, "voice": voice, "cpu": cpu.signature(),
                       "gates": [AGREEMENT_GATE, SNR_GATE_DB, GATE_STEPS]}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class GateCache:
    """Verdicts per key, in one small JSON file: {"version", "entries": {key: {...}}}."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_path()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != GATE_VERSION:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str) -> dict[str, Gate]:
        """The cached gates of `key` (empty when none, or when the entry is damaged)."""
        entry = self._read().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("gates"), dict):
            return {}
        try:
            return {name: Gate.from_dict(g) for name, g in entry["gates"].items() if isinstance(g, dict)}
        except (TypeError, ValueError):
            return {}

    def put(self, key: str, gates: Mapping[str, Gate], about: Mapping[str, Any]) -> bool:
        """Merge `gates` into the entry of `key` and write the file atomically; False if it
        could not be written (the cache is an optimisation: nothing else happens)."""
        entries = self._read()
        old = entries.get(key) if isinstance(entries.get(key), dict) else {}
        merged = dict(old.get("gates") or {}) if isinstance(old.get("gates"), dict) else {}
        for name, gate in gates.items():
            stored = gate.as_dict()
            stored.pop("cached", None)
            merged[name] = stored
        entries.pop(key, None)
        entries[key] = {"saved": time.strftime("%Y-%m-%dT%H:%M:%S"), **dict(about), "gates": merged}
        while len(entries) > CACHE_MAX_ENTRIES:      # dicts keep insertion order: oldest first
            entries.pop(next(iter(entries)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".gates-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"version": GATE_VERSION, "entries": entries}, f, indent=1)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return False
        return True

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, newest last (for `voicebank selftest`)."""
        return [e for e in self._read().values() if isinstance(e, dict)]


# --------------------------------------------------------------------------------------------
# Formatting (GUI and selftest; no torch)


def describe_status(status: Mapping[str, Any] | None) -> list[str]:
    """Lines for people from `FastPathReport.status()`: the CPU, then one line per gate."""
    if not status:
        return ["No speed details were reported for this voice."]
    lines = []
    if status.get("cpu"):
        lines.append(f"This computer: {status['cpu']}")
    gates = status.get("gates") or {}
    for name in list(LEVER_LABELS) + [n for n in gates if n not in LEVER_LABELS]:
        data = gates.get(name)
        if isinstance(data, Mapping):
            try:
                gate = Gate.from_dict(data)
            except (TypeError, ValueError):
                continue
            gate.cached, gate.seconds = bool(data.get("cached")), float(data.get("seconds") or 0.0)
            lines.append(gate.describe())
    on = status.get("on")
    if isinstance(on, Iterable) and not isinstance(on, str):
        lines.append("Fast paths in use: " + (", ".join(str(x) for x in on) or "none (the exact path)"))
    if status.get("gate_s") is not None:
        where = {"hit": "read from the cache", "miss": "measured at load", "off": "measured at load"}
        lines.append(f"Checks: {where.get(str(status.get('cache')), 'measured at load')}"
                     f" ({float(status['gate_s']):.1f} s)")
    for note in status.get("notes") or []:
        lines.append(f"Note: {note}")
    return lines
