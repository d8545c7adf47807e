"""The two pretrained feature models GPT-SoVITS v2 reads its inputs through.

- chinese-hubert-base (HuBERT, 768-d, 50 Hz): raw 16 kHz reference audio -> SSL features, which
  SoVITS turns into the prompt's semantic tokens.
- chinese-roberta-wwm-ext-large (BERT, 1024-d): normalised Chinese text -> one vector per
  character, repeated per phone; the GPT adds their projection to its phone embeddings.

Both are loaded with transformers from local folders (never from the network). A missing or
damaged folder is a ModelMissingError that says which model and where it was looked for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

__all__ = [
    "SynthesisError", "ModelMissingError", "HUBERT_NAME", "BERT_NAME", "Bert",
    "load_hubert", "load_bert", "trim_bert", "hubert_features", "bert_features", "BERT_DIM",
]

HUBERT_NAME = "chinese-hubert-base"
BERT_NAME = "chinese-roberta-wwm-ext-large"
BERT_DIM = 1024  # the GPT's bert_proj input; fixed by chinese-roberta-wwm-ext-large
BERT_LAYER = -3  # hidden_states[-3]: the output of layer 22 of 24, as the original
MAX_CHARS = 510  # BERT's 512 positions less [CLS] and [SEP]


class SynthesisError(Exception):
    """Anything that stops synthesis, worded for the user. (Defined here, the lowest layer of the
    engine, so that features and the runtime's pipeline share it; `core.runtime.pipeline`
    re-exports it.)"""


class ModelMissingError(SynthesisError):
    """A base model folder is missing or unusable; `model` names it, `folder` is where we looked."""

    def __init__(self, model: str, folder: Path, problem: str) -> None:
        self.model = model
        self.folder = Path(folder)
        super().__init__(
            f"The {model} model {problem} (looked in {folder}). Install the base models from the "
            "app's build page or with `voicebank models`."
        )


def _check_folder(name: str, folder: Path | str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelMissingError(name, folder, "is not installed")
    if not (folder / "config.json").is_file():
        raise ModelMissingError(name, folder, "is incomplete: config.json is missing")
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise ModelMissingError(name, folder, "is incomplete: its weights file is missing")
    from core.torchfile import FEATURE_MODEL_LIMIT, TorchFileError, check_torch_file

    for weights in sorted(folder.glob("*.bin")):
        # transformers reads these with weights_only=True; this also bounds their sizes first.
        try:
            check_torch_file(weights, limit=FEATURE_MODEL_LIMIT, what=f"{name} model file")
        except TorchFileError as exc:
            raise ModelMissingError(name, folder, f"cannot be used: {exc}") from None
    return folder


def _load_error(name: str, folder: Path, exc: Exception) -> ModelMissingError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return ModelMissingError(name, folder, f"is damaged and cannot be loaded ({first})")


def _quiet_transformers() -> None:
    # Loading prints progress bars and "some weights unused" notices (the MLM head of BERT);
    # they mean nothing to a user of the app.
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:  # older/newer transformers without these helpers: only cosmetic
        pass


# ---------------------------------------------------------------------------------- HuBERT


def load_hubert(folder: Path | str, device: torch.device | str = "cpu") -> torch.nn.Module:
    """chinese-hubert-base as a transformers HubertModel, eval mode, fp32, on `device`."""
    folder = _check_folder(HUBERT_NAME, folder)
    _quiet_transformers()
    try:
        from transformers import HubertModel

        model = HubertModel.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # OSError, ValueError, safetensors errors...: all mean "unusable"
        raise _load_error(HUBERT_NAME, folder, exc) from None
    if model.config.hidden_size != 768:
        raise ModelMissingError(HUBERT_NAME, folder,
                                f"has {model.config.hidden_size}-d features, not 768 (wrong model?)")
    return model.float().to(device).eval()


@torch.inference_mode()
def hubert_features(hubert: torch.nn.Module, wav16k: Tensor) -> Tensor:
    """Raw 16 kHz waveform [N] or [1, N] (unnormalised, as the original) -> [1, 768, T50]."""
    wav = wav16k.reshape(1, -1).to(next(hubert.parameters()).device)
    return hubert(wav).last_hidden_state.transpose(1, 2).float()


# ---------------------------------------------------------------------------------- BERT


@dataclass
class Bert:
    tokenizer: Any
    model: torch.nn.Module
    _ids: dict[str, int | None] = field(default_factory=dict)  # character -> token id
    # Which hidden state is the feature: BERT_LAYER of a whole masked-LM model, or -1 (the last)
    # of one `trim_bert` has cut after that layer.
    layer: int = BERT_LAYER

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def char_id(self, ch: str) -> int | None:
        """The token id of one character (its first token); None if the tokenizer drops it."""
        if ch not in self._ids:
            tokens = self.tokenizer.tokenize(ch)
            self._ids[ch] = self.tokenizer.convert_tokens_to_ids(tokens[0]) if tokens else None
        return self._ids[ch]


def load_bert(folder: Path | str, device: torch.device | str = "cpu") -> Bert:
    """chinese-roberta-wwm-ext-large: tokenizer + masked-LM model (for its hidden states)."""
    folder = _check_folder(BERT_NAME, folder)
    _quiet_transformers()
    try:
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForMaskedLM.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise _load_error(BERT_NAME, folder, exc) from None
    if model.config.hidden_size != BERT_DIM:
        raise ModelMissingError(BERT_NAME, folder,
                                f"has {model.config.hidden_size}-d features, not {BERT_DIM} (wrong model?)")
    return trim_bert(Bert(tokenizer, model.float().to(device).eval()))


def trim_bert(bert: Bert) -> Bert:
    """Keep only what the features need: the encoder up to the feature layer (22 of 24 layers),
    without the masked-LM head. The original computes the last two layers and the head's
    21128-word logits for every character and throws them away; the features are identical, and
    about 100 MB (BERT-large) and 12 % of BERT's time are saved."""
    model = bert.model
    base = getattr(model, "bert", None)  # BertForMaskedLM -> its BertModel
    if bert.layer >= 0 or base is None or not hasattr(base, "encoder"):
        return bert
    layers = base.encoder.layer
    keep = len(layers) + bert.layer + 1
    if keep < 1:
        return bert
    base.encoder.layer = layers[:keep]
    return Bert(bert.tokenizer, base.eval(), bert._ids, layer=-1)


def char_features(bert: Bert, text: str) -> Tensor:
    """[len(text), 1024]; texts beyond BERT's 512 positions are done in pieces of 510 characters
    (the original force-splits such segments before they get here)."""
    pieces = [text[i:i + MAX_CHARS] for i in range(0, len(text), MAX_CHARS)] or [""]
    return torch.cat([_char_features(bert, p) for p in pieces])


@torch.inference_mode()
def _char_features(bert: Bert, text: str) -> Tensor:
    """One BERT vector per character of `text`: [len(text), 1024].

    The original tokenises the whole string and asserts one token per character. We look each
    character up on its own instead: for Han characters and punctuation (all a Chinese segment
    holds) the ids are the same, so are the features, and a character the tokenizer would drop
    (a space) still gets its row (zeros) instead of shifting every later one.
    """
    tok = bert.tokenizer
    ids, rows = [tok.cls_token_id], []
    for i, ch in enumerate(text):
        token_id = bert.char_id(ch)
        if token_id is not None:
            ids.append(token_id)
            rows.append(i)
    ids.append(tok.sep_token_id)
    input_ids = torch.tensor([ids], device=bert.device)
    mask = torch.ones_like(input_ids)
    if bert.layer == -1:
        hidden = bert.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    else:
        hidden = bert.model(input_ids=input_ids, attention_mask=mask,
                            output_hidden_states=True).hidden_states[bert.layer]
    hidden = hidden[0, 1:-1].float()  # [CLS] and [SEP] dropped
    feats = torch.zeros(len(text), hidden.shape[-1], device=hidden.device)
    feats[rows] = hidden
    return feats


def _expand(feats: Tensor, word2ph: Sequence[int]) -> Tensor:
    """[n_chars, 1024] -> [1024, n_phones]: each character's vector repeated per phone."""
    counts = torch.tensor(list(word2ph), device=feats.device)
    return feats.repeat_interleave(counts, dim=0).T


def bert_features(bert: Bert | None, phonemized: Any) -> Tensor:
    """BERT features of a `Phonemized` text: [1024, n_phones] on the BERT's device.

    Chinese segments get their characters' vectors repeated by word2ph; every other segment gets
    zeros (as the original, in training and inference). `bert=None` gives zeros throughout.
    """
    device = bert.device if bert is not None else torch.device("cpu")
    parts = []
    for seg in phonemized.segments:
        n = len(seg.phones)
        if seg.language == "zh" and bert is not None and n:
            if len(seg.word2ph) != len(seg.norm_text):
                raise SynthesisError(  # a front-end bug, not the user's fault; say so plainly
                    f"Internal error: the text front end gave {len(seg.word2ph)} phone counts for "
                    f"{len(seg.norm_text)} characters in “{seg.norm_text}”.")
            parts.append(_expand(char_features(bert, seg.norm_text), seg.word2ph))
        else:
            parts.append(torch.zeros(BERT_DIM, n, device=device))
    if not parts:
        return torch.zeros(BERT_DIM, 0, device=device)
    return torch.cat(parts, dim=1)
