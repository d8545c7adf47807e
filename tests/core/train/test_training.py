"""The training loops themselves: losses go down, devices/precision, out-of-memory handling."""
from __future__ import annotations

import pytest
import torch

from core.train import dataset, device
from core.train.errors import BuildError

from .conftest import TEXTS, add_take


@pytest.fixture(scope="module")
def items(base_files, tmp_path_factory):
    """Features of 4 takes (extracted once for the module)."""
    from core.bank.store import Bank
    from core.engine.features import load_bert, load_hubert
    from core.engine.sovits import load_sovits

    sp = Bank(tmp_path_factory.mktemp("bank")).create_speaker("Bo", ["zh"])
    for i, text in enumerate(TEXTS[:4]):
        add_take(sp, text, 3.0 + 0.25 * i, seed=i)
    models = dataset.FeatureModels(load_hubert(base_files["hubert"]), load_bert(base_files["bert"]),
                                   load_sovits(base_files["g"]), torch.device("cpu"))
    out, _ = dataset.extract_features(dataset.usable_takes(sp), tmp_path_factory.mktemp("cache"),
                                      "k", lambda: models)
    return out


def _mean(xs):
    return sum(xs) / len(xs)


def test_sovits_steps_lower_the_loss(items, base_files):
    from core.engine.sovits import load_sovits
    from core.train.sovits_train import SoVITSTrainConfig, SoVITSTrainer, load_discriminator

    torch.manual_seed(0)
    g = load_sovits(base_files["g"])
    g.cfg.segment_size = 16  # half the decoder window: the same losses at half the CPU time
    trainer = SoVITSTrainer(g, load_discriminator(base_files["d"]), SoVITSTrainConfig(),
                            device.choose("cpu"))
    it = items[0]  # the first 1.6 s of one take: a tiny fixed batch
    crop = dataset.Item(it.take_id, it.text, it.wav[: 80 * dataset.HOP], it.ssl[:, :80], it.phones,
                        it.bert, it.codes[:40])
    batch = trainer.collate([crop])
    losses = [trainer.step(batch) for _ in range(4)]
    total = [x["loss"] for x in losses]
    print("sovits losses", [{k: round(v, 2) for k, v in x.items()} for x in losses])
    assert _mean(total[-2:]) < _mean(total[:2])
    assert all(p.grad is None for p in g.quantizer.parameters())  # frozen: never trained
    assert all(not p.requires_grad for p in g.ssl_proj.parameters())
    lrs = sorted(group["lr"] for group in trainer.opt_g.param_groups)
    assert lrs == pytest.approx([0.4e-4, 1e-4])


def test_gpt_steps_lower_the_loss(items, base_files):
    from core.engine.gpt import load_gpt
    from core.train.gpt_train import GPTTrainConfig, GPTTrainer

    torch.manual_seed(0)
    trainer = GPTTrainer(load_gpt(base_files["gpt"]), GPTTrainConfig(), device.choose("cpu"))
    losses = [trainer.step([items[:2], items[2:4]])["loss"] for _ in range(8)]
    print("gpt losses", [round(x, 3) for x in losses])
    assert _mean(losses[-2:]) < _mean(losses[:2]) - 0.2


def test_precision_table_and_cpu_choice():
    assert device.fp16_unsafe("NVIDIA GeForce GTX 1660 SUPER", (7, 5))
    assert device.fp16_unsafe("NVIDIA GeForce GTX 1080", (6, 1))
    assert not device.fp16_unsafe("NVIDIA GeForce RTX 3060", (8, 6))
    cpu = device.choose("auto" if not torch.cuda.is_available() else "cpu", "auto")
    assert cpu.device.type == "cpu" and cpu.precision == "fp32" and cpu.amp_dtype is None
    with pytest.raises(BuildError):
        device.choose("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(BuildError, match="CPU"):
            device.choose("cuda")


def test_out_of_memory_halves_the_batch_then_gives_up(items, base_files, tmp_path, monkeypatch):
    from core.engine.gpt import load_gpt
    from core.train import gpt_train

    sizes = []
    real_step = gpt_train.GPTTrainer.step

    def step(self, batches):
        sizes.append(max(len(b) for b in batches))
        if sizes[-1] > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, batches)

    monkeypatch.setattr(gpt_train.GPTTrainer, "step", step)
    many = items * 3  # 12 items: the batch cap (a quarter of the set) allows 3
    cfg = gpt_train.GPTTrainConfig(batch_size=2, max_steps=1, checkpoint_every=0)
    _, steps, _ = gpt_train.train_gpt(load_gpt(base_files["gpt"]), many, cfg, device.choose("cpu"),
                                      tmp_path / "gpt.pt")
    assert sizes[0] == 2 and sizes[-1] == 1 and steps == 1

    def always_oom(self, batches):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(gpt_train.GPTTrainer, "step", always_oom)
    with pytest.raises(BuildError, match="ran out of memory"):
        gpt_train.train_gpt(load_gpt(base_files["gpt"]), many, cfg, device.choose("cpu"),
                            tmp_path / "gpt2.pt")


def test_full_size_discriminator_layout_is_recognised(tmp_path):
    """A file with the official s2D layout (111 entries) loads as 5 period discriminators."""
    import json

    from core.train.sovits_train import load_discriminator

    from .conftest import REF

    layout_file = REF / "s2D_v2_layout.json"
    if not layout_file.exists():
        pytest.skip("s2D_v2_layout.json not found")
    layout = json.loads(layout_file.read_text())
    weight = {k: torch.zeros(shape, dtype=torch.float16) for k, shape in layout.items()}
    path = tmp_path / "s2D2333k.pth"
    torch.save({"weight": weight}, path)
    d = load_discriminator(path)
    assert len(layout) == 111 and len(d.discriminators) == 6
    assert [m.period for m in d.discriminators[1:]] == [2, 3, 5, 7, 11]
