"""g2pW in int8: a quantized copy of g2pW.onnx, used only after it has passed its gate against
the exact (fp32) model on this machine, as every lossy fast path of this app.

Why: g2pW is a bert-base encoder (about 400 MB of fp32 weights) and a sentence asks it a
handful of rows of a few dozen tokens, so a run is bound by reading the weights: int8 weights
are a quarter of the bytes, and onnxruntime's int8 kernels (VNNI, AMX) do the products. On the
2-core dev CPU a full-size model's run went from 64 to 13 ms for one row and from 299 to 72 ms
for five, and the memory it adds from about 475 to about 235 MB (BENCHMARKS.md).

How: onnxruntime's dynamic quantization (every MatMul's weights in int8, activations quantized
as each run goes); the copy is written once into the user cache folder (`VOICEBANK_CACHE`
overrides). The gate asks both models about every polyphone of the polyphone sentences of the
labelled test set (core/text/data/eval_zh.tsv) and needs the same reading for at least
AGREEMENT_GATE of them. The verdict is kept beside the copy, keyed by the model file (path, size,
modification time), the onnxruntime version and the CPU, so the next load reads it instead of
measuring. onnxruntime's quantizer is written with the `onnx` package: without it there is no
copy and the exact model is used. Nothing here ever stops the front end: on any error, fp32.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

AGREEMENT_GATE = 0.98       # share of polyphone readings the int8 copy must give as fp32 does
PROBE_SENTENCES = 80        # of the test set's polyphone sentences: a few seconds on 2 cores
PROBE_CATEGORIES = ("poly_word", "poly_ctx")
VERDICTS = "g2pw-int8.json"
TEST_SET = Path(__file__).resolve().parent / "data" / "eval_zh.tsv"


@dataclass(frozen=True)
class Verdict:
    agreement: float
    asked: int              # polyphone readings compared
    passed: bool
    seconds: float          # quantizing and measuring, when it was done

    def describe(self) -> str:
        state = "int8" if self.passed else "fp32 (the int8 copy did not pass its gate)"
        return (f"{state}: agreement {self.agreement:.3f} with the exact model on {self.asked} polyphones, "
                f"gate >= {AGREEMENT_GATE}")


def cache_dir() -> Path:
    override = os.environ.get("VOICEBANK_CACHE")
    if override:
        return Path(override) / "g2pw"
    import platformdirs

    return Path(platformdirs.user_cache_dir("voicebank", appauthor=False)) / "g2pw"


def _cpu() -> str:
    """The CPU as the int8 kernels see it: its name and the instruction sets they choose by."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return platform.processor() or platform.machine()
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    return f"{name} [{' '.join(f for f in wanted if f in flags)}]"


def identity(model_file: Path) -> str:
    """The key of a model file's copy and verdict on this machine."""
    import onnxruntime

    st = model_file.stat()
    text = json.dumps([str(model_file.resolve()), st.st_size, st.st_mtime_ns, onnxruntime.__version__, _cpu()])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def copy_path(key: str) -> Path:
    return cache_dir() / f"g2pW-{key}.int8.onnx"


def read_verdict(key: str) -> Verdict | None:
    try:
        entry = json.loads((cache_dir() / VERDICTS).read_text(encoding="utf-8")).get(key)
        return Verdict(**entry) if isinstance(entry, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def write_verdict(key: str, verdict: Verdict) -> None:
    """Keep only this key's entry and copy: the cache holds one model's int8 copy (about 100 MB)."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        keep = copy_path(key) if verdict.passed else None
        for old in folder.glob("g2pW-*.int8.onnx"):
            if old != keep:
                old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({key: asdict(verdict)}, fh)
        os.replace(tmp, folder / VERDICTS)
    except OSError:
        pass    # an unwritable cache only means measuring again next time


def quantize(source: Path, dest: Path) -> Path:
    """Write the int8 copy (atomically). Raises ImportError without the `onnx` package."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".onnx.tmp")
    os.close(fd)
    logging.disable(logging.WARNING)    # its advice to pre-process is for model authors
    try:
        quantize_dynamic(str(source), tmp, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        os.replace(tmp, dest)
    finally:
        logging.disable(logging.NOTSET)
        Path(tmp).unlink(missing_ok=True)
    return dest


def probes(limit: int = PROBE_SENTENCES) -> list[str]:
    """The polyphone sentences of the labelled test set."""
    out = []
    for line in TEST_SET.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) == 5 and cols[0] in PROBE_CATEGORIES:
            out.append(cols[1])
    return out[:limit]


Predict = Callable[[list[tuple[str, list[int]]]], list[dict[int, str]]]


def agreement(exact: Predict, fast: Predict, asks: Callable[[str], bool], sentences: list[str]) -> tuple[float, int]:
    """(share of the same readings, readings compared) over every polyphone of the sentences."""
    same = total = 0
    for start in range(0, len(sentences), 16):
        clauses = [(s, [i for i, ch in enumerate(s) if asks(ch)]) for s in sentences[start:start + 16]]
        for a, b in zip(exact(clauses), fast(clauses)):
            total += len(a)
            same += sum(1 for i, r in a.items() if b.get(i) == r)
    return (same / total if total else 0.0), total


def gate(exact: Predict, fast: Predict, asks: Callable[[str], bool], started: float) -> Verdict:
    value, n = agreement(exact, fast, asks, probes())
    return Verdict(round(value, 4), n, n > 0 and value >= AGREEMENT_GATE, round(time.perf_counter() - started, 2))


def choose(model_file: Path, precision: str, load: Callable[[Path | None], Any]) -> Any:
    """The exact model (`load(None)`) or its int8 copy (`load(copy)`): the copy where it passed
    its gate (measured now, or read from the cache), or always with precision "int8" (the
    benchmark). The chosen model's `detail` says which, and why."""
    log = logging.getLogger("voicebank.text")
    started = time.perf_counter()
    key, fast_file, verdict = "", None, None
    try:
        key = identity(model_file)
        fast_file = copy_path(key)
        verdict = read_verdict(key)
        if fast_file.is_file() and (precision == "int8" or (verdict is not None and verdict.passed)):
            model = load(fast_file)
            model.detail = verdict.describe() if verdict else "int8, not gated"
            return model
    except Exception as exc:      # a damaged copy or cache: measure again below
        log.info("g2pW int8 copy not used: %s", exc)
        verdict = None
    exact = load(None)
    if fast_file is None or (verdict is not None and precision != "int8"):   # failed its gate before
        exact.detail = verdict.describe() if verdict else ""
        return exact
    try:
        fast = load(quantize(model_file, fast_file))
        if precision == "int8":
            fast.detail = "int8, not gated"
            return fast
        verdict = gate(exact.predict, fast.predict, exact.asks, started)
        write_verdict(key, verdict)
    except Exception as exc:      # no `onnx` package, no room in the cache, ...: the exact model
        log.info("g2pW stays in fp32: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return exact
    chosen = fast if verdict.passed else exact
    chosen.detail = verdict.describe()
    return chosen
