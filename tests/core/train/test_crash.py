"""kill -9 in the middle of writing a checkpoint leaves the previous one usable."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.train import checkpoints

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent("""
    import sys, time, torch
    from pathlib import Path
    from core.engine.gpt import load_gpt
    from core.train import checkpoints, device
    from core.train.dataset import Item
    from core.train.gpt_train import GPTTrainConfig, train_gpt

    ckpt, gpt, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    real = checkpoints._write
    def write(obj, f):
        if obj["step"] == 2:           # the second save: write part of it, then hang
            f.write(b"PK\\x03\\x04" + b"x" * 100000)
            f.flush()
            marker.write_text("saving")
            time.sleep(60)
        real(obj, f)
    checkpoints._write = write
    g = torch.Generator().manual_seed(0)
    items = [Item(str(i), "x", torch.zeros(96000, dtype=torch.int16), torch.zeros(768, 150).half(),
                  torch.randint(0, 700, (30,), generator=g), None,
                  torch.randint(0, 1024, (75,), generator=g)) for i in range(8)]
    train_gpt(load_gpt(gpt), items, GPTTrainConfig(batch_size=2, max_steps=3, checkpoint_every=1),
              device.choose("cpu"), ckpt)
""")


def test_kill_during_save_keeps_previous_checkpoint(base_files, tmp_path):
    ckpt, marker = tmp_path / "gpt.state.pt", tmp_path / "saving"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(ckpt), str(base_files["gpt"]), str(marker)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"the training process ended early:\n{proc.stdout.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the training process never reached its second checkpoint")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list(tmp_path.glob("gpt.state.pt.*.part"))  # the interrupted write
    state = checkpoints.load_state(ckpt)
    assert state["step"] == 1 and state["stage"] == "gpt"
    # the next save clears the leftover temporary file
    checkpoints.save_state(ckpt, {"step": 9})
    assert not list(tmp_path.glob("*.part")) and checkpoints.load_state(ckpt)["step"] == 9
