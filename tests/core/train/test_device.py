"""Device policy on CUDA cards the tests do not have: fake device properties, real decisions.

The CUDA calls (name, capability, free memory, count) are the edge faked here; precision,
batch size, the fp16 table and the out-of-memory handling are the code under test. The mixed-
precision training step itself (autocast + GradScaler) runs on the CPU with fp16/bf16 autocast,
the same code path as on CUDA apart from the device type.
"""
from __future__ import annotations

import pytest
import torch

from core.train import device
from core.train.device import Card, Device, precision_for
from core.train.errors import BuildError

GiB = 2**30


@pytest.fixture
def cards(monkeypatch):
    """Install fake CUDA cards: cards([(name, (major, minor), free_gib), ...])."""
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32   # choose() sets them

    def install(specs):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: len(specs))
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: specs[i][0])
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=0: specs[i][1])

        def mem_get_info(dev=None):
            i = dev.index if isinstance(dev, torch.device) and dev.index is not None else 0
            return int(specs[i][2] * GiB), int(80 * GiB)

        monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    yield install
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32


@pytest.mark.parametrize("name, capability, expected", [
    ("NVIDIA GeForce RTX 3060", (8, 6), "bf16"),         # Ampere: native bf16
    ("NVIDIA H100 80GB HBM3", (9, 0), "bf16"),
    ("Tesla T4", (7, 5), "fp16"),                        # Turing with tensor cores: fp16 + scaler
    ("NVIDIA GeForce RTX 2080 Ti", (7, 5), "fp16"),
    ("Tesla V100-SXM2-16GB", (7, 0), "fp16"),
    ("NVIDIA GeForce GTX 1660 SUPER", (7, 5), "fp32"),   # in the table by name (NaN in fp16)
    ("NVIDIA T1000", (7, 5), "fp32"),
    ("NVIDIA GeForce GTX 1080", (6, 1), "fp32"),         # by capability (1/64-rate fp16)
    ("Tesla P40", (6, 1), "fp32"),
])
def test_auto_precision_per_card(cards, name, capability, expected):
    cards([(name, capability, 10)])
    dev = device.choose("cuda")
    assert dev.device == torch.device("cuda", 0) and dev.name == name and dev.precision == expected
    assert dev.loss_scaling == (expected == "fp16")
    assert dev.amp_dtype == {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[expected]
    assert torch.backends.cuda.matmul.allow_tf32          # TF32 on for the fp32 matmuls
    assert device.choose("auto").is_cuda                   # auto picks the GPU when there is one


def test_explicit_precision_and_device_errors(cards):
    cards([("Tesla T4", (7, 5), 15), ("NVIDIA GeForce GTX 1660", (7, 5), 6)])
    with pytest.raises(BuildError, match="Tesla T4 does not support bf16"):
        device.choose("cuda", "bf16")
    assert device.choose("cuda:1", "fp16").precision == "fp16"     # the user's choice stands
    assert device.choose("cuda:1").precision == "fp32"
    with pytest.raises(BuildError, match="no GPU cuda:2"):
        device.choose("cuda:2")
    with pytest.raises(BuildError, match="Unknown precision"):
        device.choose("cuda", "int8")


def test_one_precision_for_several_cards():
    a100, t4 = Card("NVIDIA A100-SXM4-40GB", (8, 0)), Card("Tesla T4", (7, 5))
    gtx = Card("NVIDIA GeForce GTX 1650", (7, 5))
    assert precision_for([a100, a100]) == "bf16"
    assert precision_for([a100, t4]) == "fp16"          # bf16 only if every card has it
    assert precision_for([a100, t4, gtx]) == "fp32"     # one fp16-unsafe card: fp32 for all
    assert precision_for([a100, t4], "fp32") == "fp32"
    with pytest.raises(BuildError, match="T4 does not support bf16"):
        precision_for([a100, t4], "bf16")
    assert not Card("NVIDIA GeForce RTX 2080", (7, 5)).bf16 and a100.bf16


def test_batch_size_from_free_memory(cards):
    cards([("NVIDIA GeForce RTX 4090", (8, 9), 22.5), ("NVIDIA H100", (9, 0), 78), ("Small", (8, 6), 1.2)])
    big, huge, small = (device.choose(f"cuda:{i}") for i in range(3))
    assert device.auto_batch_size(big, "sovits") == 11 and device.auto_batch_size(big, "gpt") == 11
    assert device.auto_batch_size(huge, "sovits") == 32 and device.auto_batch_size(huge, "gpt") == 39
    assert device.auto_batch_size(small, "sovits") == 1
    big.precision = "fp32"                               # fp32 activations: half the batch
    assert device.auto_batch_size(big, "sovits") == 5
    cpu = device.Device(torch.device("cpu"), "fp32", "CPU")
    assert 1 <= device.auto_batch_size(cpu, "sovits") <= 4


def test_out_of_memory_is_recognised_and_explained():
    assert device.is_oom(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert device.is_oom(RuntimeError("CUDA error: out of memory"))
    assert not device.is_oom(RuntimeError("shape mismatch")) and not device.is_oom(ValueError("out of memory"))
    message = str(device.oom_error("SoVITS", Device(torch.device("cuda", 0), "fp16", "Tesla T4")))
    assert "Tesla T4" in message and "SoVITS" in message and "CPU" in message


def _items(n=4):
    from tests.core.train.ddp_rank import _items as make

    return make(n)


def test_gpt_step_under_fp16_autocast_with_loss_scaling(base_files):
    """The fp16 path (autocast + an enabled GradScaler: scale, unscale before clipping, step,
    update) on the CPU: the loss goes down and the scale is live."""
    from core.engine.gpt import load_gpt
    from core.train.gpt_train import GPTTrainConfig, GPTTrainer

    torch.manual_seed(0)
    dev = Device(torch.device("cpu"), "fp16", "fake fp16 card")
    trainer = GPTTrainer(load_gpt(base_files["gpt"]), GPTTrainConfig(), dev)
    assert trainer.scaler.is_enabled()
    items = _items()
    losses = [trainer.step([items[:2], items[2:4]])["loss"] for _ in range(4)]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    assert trainer.scaler.get_scale() > 1
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())   # fp32 master weights
    assert trainer.state(4, 0, 2)["scaler"]["scale"] > 1   # the scale is checkpointed


def test_sovits_codebook_stays_fp32_under_autocast(base_files):
    """Under bf16/fp16 autocast the SSL projection and the quantizer still run in fp32, so the
    codes match the GPT's targets (made in fp32)."""
    from core.engine.sovits import load_sovits
    from core.train.sovits_train import SoVITSTrainConfig, SoVITSTrainer, load_discriminator

    g = load_sovits(base_files["g"])
    ssl = torch.randn(1, 768, 40, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        plain_codes = g.extract_latent(ssl)
    trainer = SoVITSTrainer(g, load_discriminator(base_files["d"]), SoVITSTrainConfig(),
                            Device(torch.device("cpu"), "bf16", "fake bf16 card"))
    assert not trainer.scaler.is_enabled()                 # bf16: no loss scaling
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        projected = trainer.g.ssl_proj(ssl)
        codes = trainer.g.extract_latent(ssl)
    assert projected.dtype == torch.float32 and torch.equal(codes, plain_codes)
