"""What a base-model file with no known hash must prove before its hash is recorded.

A file the manifest has a SHA-256 for is checked against it. For one it has not (the first
import records the hash, and every later copy must match it), the file itself is checked:
- it opens with the safe loader (`core.torchfile`: no code, no unknown classes, sizes bounded);
- its tensors have the shapes the model's own config gives: a GPT-SoVITS file is built from the
  config it carries; a transformers model from the config.json installed beside it (imported
  first: the manifest lists it first). A file of the right name but the wrong model, or one made
  to look like a model, is rejected before its hash could lock the genuine file out.
An ONNX file (g2pW) must use no custom operators and keep no data outside itself
(core.text.onnx_check), and have the inputs its model has.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

# The class each transformers model is loaded as (core.engine.features).
_TRANSFORMERS_CLASS = {"chinese-hubert-base": "HubertModel",
                       "chinese-roberta-wwm-ext-large": "AutoModelForMaskedLM"}
_MIN_COVERED = 0.9     # share of the model's weights the file must supply with the right shape


def _shape_problem(state: Mapping[str, Any], expected: Mapping[str, tuple[int, ...]],
                   prefix: str) -> str | None:
    """None if `state` gives the expected tensors (old gamma/beta names and a missing or extra
    model prefix tolerated, as transformers does); else what is wrong, in words."""
    covered = 0
    for raw_key, tensor in state.items():
        if not hasattr(tensor, "shape"):
            return f"{raw_key} is not a tensor"
        key = raw_key.replace(".gamma", ".weight").replace(".beta", ".bias")
        for candidate in (key, f"{prefix}.{key}", key.removeprefix(f"{prefix}.")):
            if candidate in expected:
                if tuple(tensor.shape) != expected[candidate]:
                    return (f"{raw_key} has shape {tuple(tensor.shape)}, but the model's config needs "
                            f"{expected[candidate]}")
                covered += 1
                break
    if covered < _MIN_COVERED * len(expected):
        return (f"it holds only {covered} of the model's {len(expected)} weight tensors; it is not "
                "this model")
    return None


def _transformers_problem(model_id: str, path: Path, folder: Path) -> str | None:
    from core.torchfile import FEATURE_MODEL_LIMIT, TorchFileError, load_torch_file

    if not (folder / "config.json").is_file():
        return "its config.json is needed to check it: import the model's whole folder"
    try:
        import torch
        import transformers
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
        class_name = _TRANSFORMERS_CLASS[model_id]
        model_class = getattr(transformers, class_name)
        with torch.device("meta"):     # shapes only: nothing is allocated
            model = model_class.from_config(config) if class_name.startswith("Auto") else model_class(config)
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        prefix = getattr(model, "base_model_prefix", "")
    except Exception as exc:    # a config transformers cannot read: say so, never guess
        return f"its config.json cannot be read ({type(exc).__name__})"
    try:
        state = load_torch_file(path, limit=FEATURE_MODEL_LIMIT, name=path.name,
                                what=f"{model_id} model file")
    except TorchFileError as exc:
        return str(exc)
    if not isinstance(state, Mapping):
        return "it is not a model's weights (no table of tensors)"
    return _shape_problem(state, expected, prefix)


def _gpt_sovits_problem(name: str, path: Path) -> str | None:
    from core.engine.checkpoint import CheckpointError, load_checkpoint
    from core.engine.gpt import gpt_from_checkpoint
    from core.engine.sovits import load_sovits

    try:
        if name.endswith(".ckpt"):
            gpt_from_checkpoint(load_checkpoint(path))     # built from its config, strictly
        elif name.startswith("s2G"):
            load_sovits(path)
        else:                                              # the discriminator: the safe loader
            load_checkpoint(path)
    except CheckpointError as exc:
        return str(exc)
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"its weights do not match its config ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})"
    return None


def content_problem(model_id: str, name: str, path: Path, model_folder: Path) -> str | None:
    """Why the torch file at `path` (to be installed as `model_folder/name`) is not the model it
    claims to be, or None."""
    path, model_folder = Path(path), Path(model_folder)
    if model_id in _TRANSFORMERS_CLASS:
        return _transformers_problem(model_id, path, model_folder)
    if model_id.startswith("gpt-sovits"):
        return _gpt_sovits_problem(name, path)
    from core.torchfile import FEATURE_MODEL_LIMIT, TorchFileError, check_torch_file

    try:
        check_torch_file(path, limit=FEATURE_MODEL_LIMIT, name=name, what="model file")
    except TorchFileError as exc:
        return str(exc)
    return None


def onnx_problem(model_id: str, path: Path) -> str | None:
    """Why the ONNX file at `path` is not the model `model_id` names (or not one this app opens)."""
    from core.text import g2pw
    from core.text.onnx_check import OnnxFileError, inspect_onnx

    try:
        facts = inspect_onnx(path)
    except OnnxFileError as exc:
        return str(exc)
    if model_id == g2pw.FOLDER_NAME and (sorted(facts.inputs) != sorted(g2pw.INPUTS) or len(facts.outputs) != 1):
        return f"it is not a g2pW model (its inputs are {', '.join(facts.inputs) or 'none'})"
    return None
