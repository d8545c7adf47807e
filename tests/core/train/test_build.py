"""build_voice end to end on the tiny models: cancel, resume, export, load back, errors."""
from __future__ import annotations

import errno
import zipfile

import pytest
import torch

from core.train import checkpoints
from core.train.build import (
    BuildCancelled, BuildError, build_voice, check_ready, list_voices, make_zero_shot_voice,
    voice_model_paths,
)

from .conftest import TEXTS, add_take, config


def test_cancel_resume_export_load_and_speak(speaker, bank, base_files, tmp_path):
    from core.engine.checkpoint import load_checkpoint
    from core.engine.gpt import load_gpt
    from core.engine.sovits import load_sovits

    cfg = config(speaker, bank, base_files, max_steps=2, batch_size=1, checkpoint_every=50)
    job = tmp_path / "job"
    seen = []

    def progress(p):
        seen.append((p.stage, p.step))

    # 1: cancelled after the first SoVITS step -> checkpoint at step 1, no voice yet
    with pytest.raises(BuildCancelled):
        build_voice(cfg, job, progress, cancel=lambda: seen[-1] == ("sovits", 1))
    state = checkpoints.load_state(job / "sovits.state.pt")
    assert state["step"] == 1 and not state["done"]
    assert not list_voices(speaker)  # no half-made voice is ever listed

    # 2: resumes SoVITS at step 2 (not 1), trains the GPT, exports the voice
    seen.clear()
    folder = build_voice(cfg, job, progress)
    assert [s for st, s in seen if st == "sovits"] == [2]
    assert [s for st, s in seen if st == "gpt"] == [1, 2]
    assert seen[-1] == ("export", 1)
    assert sorted(p.name for p in folder.iterdir()) == [
        "gpt.ckpt", "reference.txt", "reference.wav", "sovits.pth", "voice.json"]

    (path, card), = list_voices(speaker)
    assert path == folder and card.kind == "fine-tuned" and card.takes == 6
    assert card.sovits_steps == 2 and card.gpt_steps == 2 and card.precision == "fp32"
    assert (folder / "reference.txt").read_text(encoding="utf-8").strip() == card.reference_text

    # official formats, through the engine's loaders
    g_file, s_file = voice_model_paths(folder)
    saved = load_checkpoint(s_file)
    assert saved["info"] == "0epoch_2iteration"
    # what the original's fine-tuned files carry, so other ports accept ours
    assert saved["config"]["version"] == "v2" and saved["config"]["model"]["version"] == "v2"
    assert saved["config"]["data"]["n_speakers"]
    sov = load_sovits(s_file)
    assert not sov.has_posterior and not any("enc_q" in k for k in load_checkpoint(s_file)["weight"])
    gpt = load_gpt(g_file)
    trained = checkpoints.load_state(job / "gpt.state.pt")["model"]
    assert torch.allclose(gpt.state_dict()["ar_predict_layer.weight"],
                          trained["ar_predict_layer.weight"].half().float())

    # a finished job returns the same voice without work
    assert build_voice(cfg, job) == folder

    # and it speaks (a short tiny run)
    from core.runtime.pipeline import ModelPaths, SynthesisOptions, Synthesizer

    synth = Synthesizer(ModelPaths(gpt=g_file, sovits=s_file, hubert=base_files["hubert"],
                                   bert=base_files["bert"]))
    synth.set_reference(folder / "reference.wav", card.reference_text)
    audio = synth.synthesize("你好世界。", SynthesisOptions(seed=1, max_new_tokens=20))
    assert len(audio) > 0


def test_zero_shot_voice_uses_the_best_green_take(speaker):
    add_take(speaker, TEXTS[7], 12.0, "green", seed=30, snr=60)  # best SNR but too long
    folder = make_zero_shot_voice(speaker, name="Quick")
    (path, card), = list_voices(speaker)
    assert path == folder and card.kind == "zero-shot" and card.name == "Quick"
    takes = {t.id: t for t in speaker.current_takes().values()}
    chosen = takes[card.reference_take]
    assert chosen.grade == "green" and 3 <= chosen.duration_s <= 10
    assert chosen.quality["snr_db"] == 25  # the red take (snr 30) and the 12 s one were passed over
    assert (folder / "reference.txt").read_text(encoding="utf-8").strip() == chosen.text
    import soundfile as sf

    assert sf.info(str(folder / "reference.wav")).samplerate == 32000
    gpt, sov = voice_model_paths(folder)
    assert "s1bert25hz" in gpt.name and sov.name == "s2G2333k.pth"  # the base models


def test_no_usable_takes(bank, base_files, tmp_path):
    sp = bank.create_speaker("Red", ["zh"])
    add_take(sp, TEXTS[0], 4.0, "red")
    cfg = config(sp, bank, base_files)
    blockers = check_ready(cfg)
    assert len(blockers) == 1 and "no usable recordings" in blockers[0] and "red" in blockers[0]
    with pytest.raises(BuildError, match="no usable recordings"):
        build_voice(cfg, tmp_path / "job")
    assert check_ready(config(sp, bank, base_files, include_red=True, min_minutes=0.05)) == []


def test_ten_seconds_is_not_enough(bank, base_files):
    sp = bank.create_speaker("Short", ["zh"])
    add_take(sp, TEXTS[0], 5.0, seed=1)
    add_take(sp, TEXTS[1], 5.0, seed=2)
    blockers = check_ready(config(sp, bank, base_files, min_minutes=1.0))
    assert len(blockers) == 1
    assert "Only 10 seconds" in blockers[0] and "at least 1 minute" in blockers[0]


def test_missing_and_corrupt_base_files(speaker, bank, base_files, tmp_path):
    missing = tmp_path / "nowhere" / "s2D2333k.pth"
    blockers = check_ready(config(speaker, bank, base_files, base_sovits_d=missing))
    assert len(blockers) == 1 and "discriminator (s2D2333k.pth) is missing" in blockers[0]
    assert "voicebank models download" in blockers[0]

    truncated = tmp_path / "s2G2333k.pth"
    truncated.write_bytes(base_files["g"].read_bytes()[:5000])
    blockers = check_ready(config(speaker, bank, base_files, base_sovits_g=truncated))
    assert len(blockers) == 1 and "damaged or incomplete" in blockers[0]

    # a complete zip that is not a model: passes the quick check, fails on loading
    junk = tmp_path / "junk.ckpt"
    with zipfile.ZipFile(junk, "w") as z:
        z.writestr("archive/data.pkl", b"not a pickle")
    cfg = config(speaker, bank, base_files, base_sovits_g=junk)
    assert check_ready(cfg) == []
    with pytest.raises(BuildError, match="base SoVITS generator cannot be used.*damaged"):
        build_voice(cfg, tmp_path / "job")


def _items(n=8):
    from core.train.dataset import Item

    g = torch.Generator().manual_seed(0)
    return [Item(f"t{i}", "x", torch.zeros(150 * 640, dtype=torch.int16),
                 torch.zeros(768, 150, dtype=torch.float16), torch.randint(0, 700, (30,), generator=g),
                 None, torch.randint(0, 1024, (75,), generator=g)) for i in range(n)]


def test_disk_full_keeps_the_previous_checkpoint(base_files, tmp_path, monkeypatch):
    from core.engine.gpt import load_gpt
    from core.train import device
    from core.train.gpt_train import GPTTrainConfig, train_gpt

    writes = []
    real_write = checkpoints._write

    def write(obj, f):
        writes.append(obj["step"])
        if len(writes) > 1:
            f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(obj, f)

    monkeypatch.setattr(checkpoints, "_write", write)
    path = tmp_path / "gpt.state.pt"
    cfg = GPTTrainConfig(batch_size=2, max_steps=3, checkpoint_every=1)
    with pytest.raises(BuildError, match="disk is full"):
        train_gpt(load_gpt(base_files["gpt"]), _items(), cfg, device.choose("cpu"), path)
    assert writes == [1, 2]
    assert checkpoints.load_state(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["gpt.state.pt"]  # no temp file left behind


def test_gpt_cancel_then_resume_continues_the_step_count(base_files, tmp_path):
    from core.engine.gpt import load_gpt
    from core.train import device
    from core.train.gpt_train import GPTTrainConfig, train_gpt

    path, steps = tmp_path / "gpt.state.pt", []
    cfg = GPTTrainConfig(batch_size=2, max_steps=4, checkpoint_every=50)

    def progress(step, **_):
        steps.append(step)

    with pytest.raises(BuildCancelled, match="step 2 of 4"):
        train_gpt(load_gpt(base_files["gpt"]), _items(), cfg, device.choose("cpu"), path,
                  progress, cancel=lambda: steps[-2:] == [1, 2])
    saved = checkpoints.load_state(path)
    assert saved["step"] == 2 and not saved["done"]
    model, step, _ = train_gpt(load_gpt(base_files["gpt"]), _items(), cfg, device.choose("cpu"),
                               path, progress)
    assert steps == [1, 2, 3, 4] and step == 4 and checkpoints.load_state(path)["done"]
    trained = checkpoints.load_state(path)["model"]
    assert torch.equal(model.state_dict()["ar_predict_layer.weight"], trained["ar_predict_layer.weight"])
