"""Training checkpoints: written atomically, read back with weights_only=True.

A checkpoint is a plain dict of tensors, numbers, strings and lists (model, optimizer, scheduler
and scaler state, stage, step, RNG state). It is written to a temporary file in the same folder,
flushed to disk, then renamed over the previous one: a crash or kill -9 at any moment leaves
either the old checkpoint or the new one, never half of one. A full disk raises BuildError and
leaves the previous checkpoint in place.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from core.torchfile import TRAINING_STATE_LIMIT, load_torch_file

from .errors import BuildError


def _write(obj: Any, f) -> None:
    """The one place bytes are written (tests replace it to simulate a full disk)."""
    torch.save(obj, f)


def save_state(path: Path, obj: dict) -> None:
    path = Path(path)
    for stale in path.parent.glob(path.name + ".*.part"):  # left by a save that was killed
        stale.unlink(missing_ok=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise _disk_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            _write(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _disk_error(path, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _disk_error(path: Path, exc: OSError) -> BuildError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return BuildError(
            f"The disk is full: the training checkpoint could not be saved in {path.parent}. "
            "Free some space (a build needs about 3 GB) and start the build again; it will go on "
            "from the last saved checkpoint.")
    return BuildError(f"The training checkpoint could not be saved in {path.parent} "
                      f"({exc.strerror or exc}). Check that the folder is writable.")


def load_state(path: Path) -> dict | None:
    """The checkpoint at `path`, or None if there is none. An unreadable one is a BuildError."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return load_torch_file(path, limit=TRAINING_STATE_LIMIT, what="training checkpoint")
    except Exception as exc:
        raise BuildError(
            f"The training checkpoint {path} is damaged ({type(exc).__name__}). Delete the job "
            "folder to start this build from the beginning.") from exc


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except Exception:  # a different number of GPUs than when saved: keep going, not exact
            pass
