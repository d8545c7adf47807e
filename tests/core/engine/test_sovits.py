"""SoVITS v2 numerics against the reference outputs computed by the original (expected.pt)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.engine.checkpoint import CheckpointError, load_checkpoint, save_sovits
from core.engine.sovits import SoVITS, SoVITSConfig, check_sovits, fold_weight_norm, load_sovits
from core.engine.spectrogram import linear_spectrogram, mel_filterbank, mel_spectrogram

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"
pytestmark = pytest.mark.skipif(
    not (REF / "expected.pt").exists(), reason=f"reference data not found at {REF}")

TOL = 1e-4
SOVITS_KEYS = ["spec", "mel", "codes", "quantized", "ge", "enc_q_m", "enc_q_logs", "flow_out",
               "flow_back", "dec_out", "enc_p_m", "enc_p_logs", "decode_wav", "decode_wav_speed1_25"]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


@pytest.fixture(scope="module")
def expected() -> dict:
    return torch.load(REF / "expected.pt", weights_only=True)


@pytest.fixture(scope="module")
def model() -> SoVITS:
    torch.manual_seed(0)
    return load_sovits(REF / "s2G_tiny.pth")


@pytest.fixture(scope="module")
def report(model, expected) -> dict[str, float]:
    return check_sovits(model, expected)


@pytest.mark.parametrize("key", SOVITS_KEYS)
def test_reference_output(report, key):
    assert key in report, f"{key} was not checked"
    assert report[key] <= (0.0 if key == "codes" else TOL), f"{key}: relative error {report[key]:.3e}"


def test_spectrogram_functions(expected):
    wave = expected["wave_32k"]
    assert rel(linear_spectrogram(wave), expected["spec"]) < 1e-6
    assert rel(mel_spectrogram(wave), expected["mel"]) < 1e-6
    fb = mel_filterbank()
    assert fb.shape == (128, 1025) and fb.dtype == torch.float32 and (fb >= 0).all()
    assert linear_spectrogram(wave[0]).shape == expected["spec"].shape  # 1-D input accepted


def test_model_shape_and_mode(model, expected):
    assert not model.training
    assert model.cfg.upsample_initial_channel == 64 and model.cfg.n_layers == 2  # from the file
    assert next(model.parameters()).dtype == torch.float32
    codes = model.extract_latent(expected["ssl"])
    assert codes.shape == (1, 1, 43) and codes.dtype == torch.long
    assert model.ref_style(expected["spec"]).shape == (1, 512, 1)


def test_decode_noise_multi_reference_and_speed(model, expected):
    codes, phones, spec = expected["codes"], expected["phones"], expected["spec"]
    one = model.decode(codes, phones, [spec], noise_scale=0.0)
    two = model.decode(codes, phones, [spec, spec], noise_scale=0.0)
    assert torch.allclose(one, two, atol=1e-6)  # averaging identical styles changes nothing
    other = model.decode(codes, phones, [spec, spec.flip(-1)], noise_scale=0.0)
    assert not torch.allclose(one, other)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = model.decode(codes, phones, spec, noise_scale=0.5, generator=g1)
    b = model.decode(codes, phones, spec, noise_scale=0.5, generator=g2)
    assert torch.equal(a, b) and not torch.allclose(a, one)
    assert model.decode(codes, phones, spec, noise_scale=0.0, speed=0.8).shape[-1] == (int(86 / 0.8) + 1) * 640


def test_fold_weight_norm_keeps_numbers(expected):
    model = load_sovits(REF / "s2G_tiny.pth")
    args = (expected["codes"], expected["phones"], [expected["spec"]])
    before = model.decode(*args, noise_scale=0.0)
    fold_weight_norm(model)
    assert not any(k.endswith("weight_g") for k in model.state_dict())
    after = model.decode(*args, noise_scale=0.0)
    assert rel(after, before) < 1e-5


def test_finetuned_file_without_enc_q(tmp_path, expected):
    ckpt = load_checkpoint(REF / "s2G_tiny.pth")
    weight = {k: v for k, v in ckpt["weight"].items() if "enc_q" not in k}
    path = tmp_path / "voice_e8_s100.pth"
    save_sovits(path, weight, ckpt["config"], "8epoch_100iteration")
    model = load_sovits(path)
    assert not model.has_posterior
    report = check_sovits(model, expected)
    assert "enc_q_m" not in report
    assert max(report.values()) <= TOL


def test_wrong_files_are_refused(tmp_path):
    ckpt = load_checkpoint(REF / "s2G_tiny.pth")
    weight = dict(ckpt["weight"])
    weight["enc_p.text_embedding.weight"] = weight["enc_p.text_embedding.weight"][:322]
    save_sovits(tmp_path / "v1.pth", weight, ckpt["config"], "x")
    with pytest.raises(CheckpointError, match="v1 .*not supported yet"):
        load_sovits(tmp_path / "v1.pth")
    weight = dict(ckpt["weight"])
    del weight["dec.conv_pre.bias"]
    save_sovits(tmp_path / "broken.pth", weight, ckpt["config"], "x")
    with pytest.raises(CheckpointError, match="does not match the SoVITS v2 layout"):
        load_sovits(tmp_path / "broken.pth")
    with pytest.raises(CheckpointError):
        load_sovits(REF / "s1_tiny.ckpt")  # a GPT file handed to the SoVITS loader


def test_config_from_hparams_reads_sizes():
    hps = load_checkpoint(REF / "s2G_tiny.pth")["config"]
    cfg = SoVITSConfig.from_hparams(hps)
    assert cfg.resblock_kernel_sizes == [3, 7] and cfg.filter_channels == 96
    assert cfg.segment_size == 32 and cfg.spec_channels == 1025 and cfg.mel_fmax is None


def test_training_pass_freezes_the_tokenizer(expected):
    model = load_sovits(REF / "s2G_tiny.pth").train()
    model.cfg.segment_size = 8  # a short crop keeps the test fast
    ssl = expected["ssl"][:, :, :84]
    spec = expected["spec"][:, :, :84]
    out = model(ssl, spec, torch.tensor([84]), expected["phones"], torch.tensor([23]))
    seg = model.cfg.segment_size
    assert out.wav.shape == (1, 1, seg * 640) and out.z_p.shape == (1, 192, 84)
    loss = out.wav.abs().mean() + (out.z_p - out.m_p).pow(2).mean() + out.m_q.pow(2).mean()
    loss.backward()
    assert model.ssl_proj.weight.grad is None and not model.ssl_proj.training
    assert model.dec.conv_pre.weight.grad is not None
    assert model.enc_p.text_embedding.weight.grad is not None
    assert model.ref_enc.fc.fc.weight.grad is not None
