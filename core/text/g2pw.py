"""g2pW, the optional model that reads Chinese polyphones from their context (as the original v2).

    model = g2pw.get()                       # None: not installed, turned off or failed -> rules
    readings = model.predict([("我还没还钱,", [1, 3])])   # -> [{1: "hai2", 3: "huan2"}]

The folder is the one GPT-SoVITS uses (`G2PWModel/`, installed by `voicebank models` as
`<models>/g2pw/`): `g2pW.onnx`, `POLYPHONIC_CHARS.txt` (character TAB bopomofo with a tone
digit, one row per candidate reading) and `bopomofo_to_pinyin_wo_tune_dict.json`. Its
`config.py` is never executed: the values the original takes from it are its defaults here
(labels are the sorted distinct readings, the candidate mask is used), and a model whose output
size does not fit the table is refused. The BERT vocabulary comes from the folder's `vocab.txt`
or `tokenizer.json` if it ships one, else from chinese-roberta-wwm-ext-large's tokenizer.json
beside it, as the original does (the same 21128 tokens as bert-base-chinese).

How a sentence is asked (the original's inputs, in one batched session run): the clause is
converted to traditional characters (OpenCC s2tw, when the opencc package is present; the model
was trained on traditional text), cut to ±16 characters around each polyphone, and tokenised
one character per token ([CLS] ... [SEP]); `position_ids` points at the polyphone, `char_ids`
names it, `phoneme_mask` allows only its candidate readings. The answer (bopomofo + tone) is
turned into the tone3 pinyin the rule path uses ("hang2", "lv4", 5 = neutral), so the v2 phone
set and word2ph are unchanged. zh_g2p decides where the model's reading is used.

Which model runs: the installed folder `<models>/g2pw` (`use()` points elsewhere or turns it
off), loaded on first use and kept; its int8 copy when that passed its gate on this machine
(g2pw_int8.py; `VOICEBANK_G2PW_INT8=0` keeps the exact model). `prepare()` does the first load's
work at import or download time. One session serves every thread, a run at a time.

Failures never reach the person: a missing file means "not installed"; a damaged or hostile
file (core.text.onnx_check), onnxruntime missing or an error while running gives a status
message, one log warning, and the rule path.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.paths import models_dir

from . import g2pw_int8
from .onnx_check import OnnxFileError, inspect_onnx

MODEL_FILE = "g2pW.onnx"
CHARS_FILE = "POLYPHONIC_CHARS.txt"
PINYIN_FILE = "bopomofo_to_pinyin_wo_tune_dict.json"
FOLDER_NAME = "g2pw"                            # <models>/g2pw, the manifest's model id
TOKENIZER_FOLDER = "chinese-roberta-wwm-ext-large"
INPUTS = ("input_ids", "token_type_ids", "attention_mask", "phoneme_mask", "char_ids", "position_ids")
WINDOW = 16                                     # characters of context each side, as the original
MAX_TABLE_BYTES = 16 * 1024 * 1024              # label tables and vocabularies are well under 2 MB
# The original leaves these to pypinyin and tone sandhi although g2pW lists them (both forms,
# since the lookup is made on the converted text and on the text as written).
NOT_ASKED = frozenset("一不和咋嗲剖差攒攢倒难難奔劲勁拗肖瘙诶誒泊听噢")

log = logging.getLogger("voicebank.text")
State = Literal["ready", "not installed", "off", "failed"]


class G2PWError(Exception):
    """The folder cannot be used; the message says why, for a person."""


@dataclass(frozen=True)
class G2PWStatus:
    state: State
    message: str
    folder: Path | None = None


# --------------------------------------------------------------------------- files
def _read_text(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(path.name)
    if path.stat().st_size > MAX_TABLE_BYTES:
        raise G2PWError(f"{path.name} is far larger than a g2pW table")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise G2PWError(f"{path.name} cannot be read ({exc.__class__.__name__})") from None


def read_polyphones(path: Path) -> dict[str, list[str]]:
    """POLYPHONIC_CHARS.txt -> character -> its candidate labels (bopomofo + tone digit)."""
    table: dict[str, list[str]] = {}
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or len(parts[0]) != 1 or len(parts[1]) < 2 or parts[1][-1] not in "12345":
            raise G2PWError(f"{path.name} is not a g2pW character table (line {n})")
        table.setdefault(parts[0], []).append(parts[1])
    if not table:
        raise G2PWError(f"{path.name} is empty")
    return table


def read_pinyin_table(path: Path) -> dict[str, str]:
    try:
        data = json.loads(_read_text(path))
    except ValueError:
        raise G2PWError(f"{path.name} is not JSON") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise G2PWError(f"{path.name} is not a bopomofo -> pinyin table")
    return data


class Vocab:
    """BERT's vocabulary for text the Chinese front end has normalised (Han characters and
    `,.!?…-`): there BERT's tokeniser gives exactly one token per character (the character,
    lower-cased, or [UNK]), so a lookup is the tokeniser, without loading transformers."""

    def __init__(self, ids: dict[str, int]) -> None:
        missing = [t for t in ("[CLS]", "[SEP]", "[UNK]", "[PAD]") if t not in ids]
        if missing:
            raise G2PWError(f"the vocabulary has no {', '.join(missing)}: not a BERT vocabulary")
        self.ids = ids
        self.cls, self.sep, self.unk, self.pad = (ids[t] for t in ("[CLS]", "[SEP]", "[UNK]", "[PAD]"))

    @classmethod
    def from_file(cls, path: Path) -> "Vocab":
        if path.suffix == ".txt":
            return cls({tok: i for i, tok in enumerate(_read_text(path).splitlines()) if tok})
        try:
            data = json.loads(_read_text(path))
            vocab = data["model"]["vocab"]
        except (ValueError, KeyError, TypeError):
            raise G2PWError(f"{path.name} is not a tokenizer with a word-piece vocabulary") from None
        if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
            raise G2PWError(f"{path.name} is not a tokenizer with a word-piece vocabulary")
        return cls(vocab)

    def encode(self, text: str) -> list[int]:
        return [self.cls] + [self.ids.get(ch.lower(), self.unk) for ch in text] + [self.sep]


def find_vocab(folder: Path, tokenizer_dir: Path | None) -> Path:
    for candidate in (folder / "vocab.txt", folder / "tokenizer.json",
                      (tokenizer_dir or folder.parent / TOKENIZER_FOLDER) / "tokenizer.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"vocab.txt (or the {TOKENIZER_FOLDER} tokenizer.json)")


def _traditional():
    """OpenCC s2tw, as the original converts before asking; None without the opencc package."""
    try:
        import opencc

        return opencc.OpenCC("s2tw")
    except Exception:    # not installed, or its data missing in a frozen build: characters as written
        return None


def to_tone3(label: str, to_pinyin: dict[str, str]) -> str | None:
    """'ㄏㄤ2' -> 'hang2', 'ㄌㄩ4' -> 'lv4', 'ㄐㄩ4' -> 'ju4' (pypinyin's tone3 spelling)."""
    base = to_pinyin.get(label[:-1])
    if not base:
        return None
    syl = base.lower().replace("ü", "v").replace("u:", "v")
    syl = re.sub(r"^([jqxy])v", r"\1u", syl)
    return syl + label[-1] if re.fullmatch(r"[a-z]+", syl) else None


# --------------------------------------------------------------------------- the model
@dataclass
class G2PW:
    folder: Path
    session: Any
    vocab: Vocab
    labels: list[str]                            # the model's classes, in output order
    candidates: dict[str, list[int]]             # character -> indices of its readings
    char_index: dict[str, int]                   # character -> char_ids value
    readings: list[str | None]                   # label index -> tone3 pinyin (None: unmapped)
    converter: Any = None                        # OpenCC s2tw or None
    precision: str = "fp32"                      # or "int8": the gated copy (g2pw_int8.py)
    detail: str = ""                             # its gate, in words
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, folder: Path, tokenizer_dir: Path | None = None, threads: int | None = None,
             onnx_path: Path | None = None) -> "G2PW":
        """The folder's model, or `onnx_path` (its int8 copy) with the folder's tables. Raises
        FileNotFoundError (a file is missing: not installed) or G2PWError."""
        folder = Path(folder)
        table = read_polyphones(folder / CHARS_FILE)
        to_pinyin = read_pinyin_table(folder / PINYIN_FILE)
        vocab = Vocab.from_file(find_vocab(folder, tokenizer_dir))
        onnx_path = onnx_path or folder / MODEL_FILE
        if not onnx_path.is_file():
            raise FileNotFoundError(MODEL_FILE)
        try:
            facts = inspect_onnx(onnx_path)
        except OnnxFileError as exc:
            raise G2PWError(f"{MODEL_FILE} is refused: {exc}") from None
        if sorted(facts.inputs) != sorted(INPUTS) or len(facts.outputs) != 1:
            raise G2PWError(f"{MODEL_FILE} is not a g2pW model (inputs {', '.join(facts.inputs) or 'none'})")
        session = _session(onnx_path, threads)
        size = session.get_outputs()[0].shape[-1]
        if not isinstance(size, int):
            size = next(i.shape[-1] for i in session.get_inputs() if i.name == "phoneme_mask")
        # config.py's use_char_phoneme, read from the model instead of running the file: the
        # classes are either the distinct readings or the distinct (character, reading) pairs.
        by_reading = sorted({b for bs in table.values() for b in bs})
        by_pair = sorted({f"{c} {b}" for c, bs in table.items() for b in bs})
        if size == len(by_reading):
            labels, index = by_reading, {b: k for k, b in enumerate(by_reading)}
            candidates = {c: [index[b] for b in bs] for c, bs in table.items()}
        elif size == len(by_pair):
            labels, index = by_pair, {b: k for k, b in enumerate(by_pair)}
            candidates = {c: [index[f"{c} {b}"] for b in bs] for c, bs in table.items()}
        else:
            raise G2PWError(f"{MODEL_FILE} has {size} classes but {CHARS_FILE} gives {len(by_reading)} "
                            "readings: the files do not belong together")
        readings = [to_tone3(label.split(" ")[-1], to_pinyin) for label in labels]
        chars = sorted(table)
        return cls(folder, session, vocab, labels, candidates, {c: i for i, c in enumerate(chars)},
                   readings, _traditional(), "fp32" if onnx_path == folder / MODEL_FILE else "int8")

    def asks(self, ch: str) -> bool:
        """Whether the model decides this character (as written; its traditional form is tried
        too when a clause is asked)."""
        return ch not in NOT_ASKED and (ch in self.candidates or self._convert(ch) in self.candidates)

    def _convert(self, text: str) -> str:
        if self.converter is None:
            return text
        out = self.converter.convert(text)
        if len(out) == len(text):
            return out
        singles = [self.converter.convert(ch) for ch in text]    # keep positions character for character
        return "".join(s if len(s) == 1 else ch for s, ch in zip(singles, text))

    def predict(self, clauses: list[tuple[str, list[int]]]) -> list[dict[int, str]]:
        """For each (clause, positions to ask): position -> tone3 reading, for the positions the
        model covers and answers with a reading the engine can say. One session run for all."""
        rows, where = [], []
        for n, (text, positions) in enumerate(clauses):
            converted = self._convert(text)
            for i in positions:
                ch = next((c for c in (converted[i], text[i]) if c in self.candidates), None)
                if ch is None or text[i] in NOT_ASKED or converted[i] in NOT_ASKED:
                    continue
                start = max(0, i - WINDOW)
                rows.append((converted[start:i + WINDOW + 1].lower(), i - start, ch))
                where.append((n, i))
        out: list[dict[int, str]] = [{} for _ in clauses]
        if not rows:
            return out
        probs = self._run(rows)
        for (n, i), (_, _, ch), p in zip(where, rows, probs):
            best = max(self.candidates[ch], key=lambda k: p[k])
            if self.readings[best]:
                out[n][i] = self.readings[best]
        return out

    def _run(self, rows: list[tuple[str, int, str]]) -> np.ndarray:
        ids = [self.vocab.encode(text) for text, _, _ in rows]
        width = max(len(r) for r in ids)
        input_ids = np.full((len(rows), width), self.vocab.pad, np.int64)
        attention = np.zeros((len(rows), width), np.int64)
        mask = np.zeros((len(rows), len(self.labels)), np.float32)
        for r, (row, (_, at, ch)) in enumerate(zip(ids, rows)):
            input_ids[r, :len(row)] = row
            attention[r, :len(row)] = 1
            mask[r, self.candidates[ch]] = 1.0
        feed = {"input_ids": input_ids, "token_type_ids": np.zeros_like(input_ids), "attention_mask": attention,
                "phoneme_mask": mask, "char_ids": np.array([self.char_index[ch] for _, _, ch in rows], np.int64),
                "position_ids": np.array([at + 1 for _, at, _ in rows], np.int64)}   # +1: [CLS] comes first
        with self.lock:   # one run at a time: the thread pool is sized for one
            probs = self.session.run(None, feed)[0]
        probs = np.asarray(probs, dtype=np.float32)
        if probs.shape != mask.shape:
            raise G2PWError(f"{MODEL_FILE} answered with shape {probs.shape}, expected {mask.shape}")
        return probs


def _session(path: Path, threads: int | None):
    try:
        import onnxruntime as ort
    except Exception as exc:
        raise G2PWError(f"onnxruntime is not available ({exc.__class__.__name__}); reinstall the app") from None
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
    so.inter_op_num_threads = 1
    # Its messages are for model authors; a failure reaches the person as one line (see _load).
    ort.set_default_logger_severity(4)
    so.log_severity_level = 4
    # Idle threads must not spin after a run: the GPT decodes on the same cores right after.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.load_model_format", "ONNX")
    try:
        session = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
        raise G2PWError(f"onnxruntime cannot open {MODEL_FILE} ({first})") from None
    _trim()
    return session


def _trim() -> None:
    """Give the heap that loading freed (the model file's bytes, parsed) back to the system:
    glibc keeps it otherwise, about 90 MB for the int8 copy (BENCHMARKS.md)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass    # not glibc: nothing to do


# --------------------------------------------------------------------------- which folder, loaded once
_lock = threading.Lock()
_override: tuple[Path | None, Path | None, str] | None = None   # use(): folder (None: off), tokenizer, precision
_cache: dict[str, Any] = {"key": None, "model": None, "status": None}


def default_folder() -> Path:
    return models_dir() / FOLDER_NAME


def use(folder: Path | None, tokenizer_dir: Path | None = None, precision: str = "auto") -> None:
    """Use this folder instead of `<models>/g2pw` (the benchmark, tests); None turns g2pW off.
    `precision`: "auto" (the int8 copy if it passes its gate, else fp32), "fp32", or "int8"
    (the copy without its gate: the benchmark, whose random weights make a gate meaningless)."""
    global _override
    with _lock:
        _override = (Path(folder) if folder is not None else None, tokenizer_dir, precision)
        _cache.update(key=None, model=None, status=None)


def reset() -> None:
    """Back to the installed folder."""
    global _override
    with _lock:
        _override = None
        _cache.update(key=None, model=None, status=None)


def _where() -> tuple[Path | None, Path | None, str]:
    if _override is not None:
        return _override
    return default_folder(), None, "fp32" if os.environ.get("VOICEBANK_G2PW_INT8") == "0" else "auto"


def _load_model(folder: Path, tokenizer_dir: Path | None, precision: str) -> G2PW:
    """The exact model, or its int8 copy where that passed its gate (or is asked for)."""
    def load(onnx_path: Path | None) -> G2PW:
        return G2PW.load(folder, tokenizer_dir, onnx_path=onnx_path)

    return load(None) if precision == "fp32" else g2pw_int8.choose(folder / MODEL_FILE, precision, load)


def _key(folder: Path) -> tuple | None:
    try:
        st = (folder / MODEL_FILE).stat()
    except OSError:
        return None
    return (str(folder), st.st_size, st.st_mtime_ns)


def _load() -> tuple[G2PW | None, G2PWStatus]:
    folder, tokenizer_dir, precision = _where()
    if folder is None:
        return None, G2PWStatus("off", "g2pW is turned off: polyphones are read by the rules")
    key = _key(folder)
    if key is None:
        return None, G2PWStatus("not installed", "g2pW is not installed: polyphones are read by the rules", folder)
    with _lock:
        if _cache["key"] == key:
            return _cache["model"], _cache["status"]
        try:
            model = _load_model(folder, tokenizer_dir, precision)
            status = G2PWStatus("ready", f"g2pW reads polyphones from their context ({model.detail or 'fp32'})",
                                folder)
        except FileNotFoundError as exc:
            model, status = None, G2PWStatus(
                "not installed", f"g2pW is not fully installed ({exc.args[0] if exc.args else exc} is missing): "
                "polyphones are read by the rules", folder)
        except Exception as exc:    # damaged, hostile or incompatible: the rules, and say why once
            model, status = None, G2PWStatus("failed", f"g2pW cannot be used: {exc}. Polyphones are read "
                                             "by the rules; import the model again to fix it", folder)
            log.warning(status.message)
        _cache.update(key=key, model=model, status=status)
        return model, status


def prepare(folder: Path | None = None) -> G2PWStatus:
    """Load a just-installed folder once (the default one unless given), so that its int8 copy
    is written and gated now (seconds, at import or download) rather than at the first sentence
    spoken or shown; the model is not kept."""
    folder = Path(folder) if folder is not None else default_folder()
    try:
        model = _load_model(folder, None, _where()[2] if _override is None else "auto")
    except FileNotFoundError as exc:
        return G2PWStatus("not installed", f"g2pW is not fully installed ({exc.args[0] if exc.args else exc} "
                          "is missing)", folder)
    except Exception as exc:
        return G2PWStatus("failed", f"g2pW cannot be used: {exc}", folder)
    return G2PWStatus("ready", f"g2pW is ready ({model.detail or 'fp32'})", folder)


def get() -> G2PW | None:
    """The model to ask, or None (the rule path). Loads it on first use; cheap afterwards."""
    return _load()[0]


def status() -> G2PWStatus:
    return _load()[1]


def failed(model: G2PW, exc: Exception) -> None:
    """A run went wrong: use the rules from now on (until the file changes) and say why once."""
    with _lock:
        if _cache["model"] is model:
            message = f"g2pW stopped working ({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}); " \
                      "polyphones are read by the rules"
            _cache.update(model=None, status=G2PWStatus("failed", message, model.folder))
            log.warning(message)
