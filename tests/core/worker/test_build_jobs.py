"""The worker's `build` and `zero_shot` jobs: their error paths through the real worker process,
what they do around the training (progress, cancel, resume, blockers) against a stand-in for
core.train.build, and one end-to-end build with the tiny models where the training code exists."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from core.bank.store import Bank
from core.worker import build_jobs, jobs, protocol
from core.worker.context import JobCancelled, JobContext, JobError
from tests import fake_train
from tests.core.worker.test_subprocess import WorkerProcess

REF = Path(__file__).resolve().parents[3].parent / "shared/reference/gpt-sovits-v2"


@pytest.fixture
def bank(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_MODELS", str(tmp_path / "models"))   # an empty models folder
    bank = Bank(tmp_path / "bank")
    bank.create_speaker("Ada", ["zh"])
    return bank


@pytest.fixture
def bases(tmp_path) -> dict[str, str]:
    """Explicit base files (their content does not matter to the stand-in)."""
    out = {}
    for name in ("base_gpt", "base_sovits_g", "base_sovits_d", "hubert", "bert"):
        path = tmp_path / "base" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
        out[name] = str(path)
    return out


class Run:
    """Runs a job function in this process, collecting its events."""

    def __init__(self, tmp_path: Path):
        self.events: list[dict] = []
        self.ctx = JobContext("j1", tmp_path / "jobs" / "j1", self.events.append)
        self.ctx.job_dir.mkdir(parents=True)

    def __call__(self, kind: str, **params):
        return jobs.REGISTRY[kind](params, self.ctx)

    def progress(self, stage: str | None = None) -> list[dict]:
        return [e for e in self.events if e["type"] == "progress" and stage in (None, e["stage"])]


@pytest.fixture
def run(tmp_path) -> Run:
    return Run(tmp_path)


# error paths, through the real worker process -----------------------------------------------

@pytest.fixture
def worker(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_MODELS", str(tmp_path / "models"))
    w = WorkerProcess(tmp_path / "jobs")
    yield w
    w.close()


def test_worker_lists_the_new_kinds(worker):
    assert {"build", "zero_shot", "speak", "selftest"} <= set(worker.ready["kinds"])


def test_unknown_speaker_is_a_clean_error(worker, bank):
    worker.run("b1", "build", speaker_id="nobody", bank_root=str(bank.root))
    error = worker.until("error", "b1")[-1]
    assert error["code"] == "unknown_speaker" and "nobody" in error["message"] and "ada" in error["message"]
    assert "detail" not in error                     # no traceback: a message for the user
    worker.run("z1", "zero_shot", speaker_id="nobody", bank_root=str(bank.root))
    assert worker.until("error", "z1")[-1]["code"] == "unknown_speaker"
    worker.send(protocol.ping_command())
    assert worker.until("pong")                      # the worker carries on


def test_missing_base_models_are_listed_with_what_to_do(worker, bank):
    worker.run("b2", "build", speaker_id="ada", bank_root=str(bank.root))
    error = worker.until("error", "b2")[-1]
    message = error["message"]
    assert error["code"] == "models_missing"
    for name in ("s1bert25hz", "s2G2333k.pth", "s2D2333k.pth", "chinese-hubert-base", "chinese-roberta"):
        assert name in message
    assert "voicebank models download" in message and "Import a folder" in message


def test_bad_device_and_missing_speaker_id(run, bank):
    with pytest.raises(JobError, match="Choose a speaker"):
        run("build", bank_root=str(bank.root))
    with pytest.raises(JobError, match="Unknown device"):
        run("build", speaker_id="ada", bank_root=str(bank.root), device="tpu")


def test_explicit_bases_count_only_for_their_role(run, bank, bases):
    del bases["hubert"]
    with pytest.raises(JobError) as info:
        run("build", speaker_id="ada", bank_root=str(bank.root), **bases)
    assert "chinese-hubert-base" in info.value.message and "s1bert" not in info.value.message


# around the training (stand-in for core.train.build) -------------------------------------

def test_build_relays_progress_and_returns_the_voice(run, bank, bases, monkeypatch):
    fake = fake_train.install(monkeypatch)
    data = run("build", speaker_id="ada", bank_root=str(bank.root), device="cpu", **bases)
    progress = run.progress()
    assert [(e["stage"], e["step"]) for e in progress] == [("sovits", 1), ("sovits", 2), ("sovits", 3),
                                                            ("gpt", 4), ("gpt", 5), ("gpt", 6)]
    first = progress[0]
    assert first["total"] == 6 and first["loss"] == 1.0 and first["eta_s"] == 5.0 and first["epoch"] == 1
    voice = Path(data["voice_dir"])
    assert voice.parent == bank.root / "ada" / "voices"
    assert data["card"]["kind"] == "trained" and data["card"]["reference_text"] == "你好"
    assert Path(data["files"]["gpt"]).suffix == ".ckpt" and Path(data["files"]["sovits"]).suffix == ".pth"
    assert Path(data["files"]["reference"]).name == "reference.wav"
    cfg = fake.calls[0][1]
    assert cfg.speaker_id == "ada" and cfg.device == "cpu" and cfg.base_gpt == Path(bases["base_gpt"])
    assert not (bank.root / "ada" / "builds" / "current").exists()        # cleared after success


def test_cancel_keeps_the_checkpoint_and_the_next_build_resumes(run, bank, bases, monkeypatch):
    fake = fake_train.install(monkeypatch, on_step=lambda step: step == 3 and run.ctx.cancel_event.set())
    with pytest.raises(JobCancelled) as info:
        run("build", speaker_id="ada", bank_root=str(bank.root), **bases)
    build_dir = bank.root / "ada" / "builds" / "current"
    assert info.value.data == {"job_dir": str(build_dir), "resumable": True}
    assert (build_dir / "checkpoint.json").exists()
    fake = fake_train.install(monkeypatch)
    again = Run(run.ctx.job_dir.parent.parent / "again")
    data = again("build", speaker_id="ada", bank_root=str(bank.root), **bases)
    assert ("resumed_at", 3) in fake.calls and fake.calls[1][2] == build_dir
    assert [e["step"] for e in again.progress()] == [4, 5, 6]
    assert any("Resuming" in e.get("message", "") for e in again.events if e["type"] == "log")
    assert Path(data["voice_dir"]).is_dir()


def test_steps_limit_and_a_given_job_dir(run, bank, bases, monkeypatch, tmp_path):
    fake = fake_train.install(monkeypatch)
    job_dir = tmp_path / "my-build"
    with pytest.raises(JobCancelled):            # the stand-in stops at the limit, as a cancel
        run("build", speaker_id="ada", bank_root=str(bank.root), steps=2, job_dir=str(job_dir), **bases)
    assert fake.calls[0][1].max_steps == 2 and fake.calls[1][2] == job_dir
    assert (job_dir / "checkpoint.json").exists()


def test_gpus_param_reaches_the_build(run, bank, bases, monkeypatch):
    fake = fake_train.install(monkeypatch)
    run("build", speaker_id="ada", bank_root=str(bank.root), **bases)
    assert fake.calls[0][1].gpus is None                   # default: all GPUs if several, else 1
    fake = fake_train.install(monkeypatch)
    run("build", speaker_id="ada", bank_root=str(bank.root), gpus=2, **bases)
    assert fake.calls[0][1].gpus == 2
    with pytest.raises(JobError, match="'gpus'") as info:
        run("build", speaker_id="ada", bank_root=str(bank.root), gpus=0, **bases)
    assert info.value.code == protocol.BAD_COMMAND


def test_training_failure_is_an_error_with_its_message(run, bank, bases, monkeypatch):
    fake_train.install(monkeypatch, fail_at=2)
    with pytest.raises(JobError) as info:
        run("build", speaker_id="ada", bank_root=str(bank.root), **bases)
    assert "failed on purpose at step 2" in info.value.message and "build again" in info.value.message
    assert info.value.code == "build_failed"


def test_blockers_stop_the_build_before_it_starts(run, bank, bases, monkeypatch):
    fake = fake_train.install(monkeypatch, blockers=["Record at least 10 minutes (you have 1.5)."])
    with pytest.raises(JobError) as info:
        run("build", speaker_id="ada", bank_root=str(bank.root), **bases)
    assert info.value.code == "not_ready" and "10 minutes" in info.value.message
    assert [c[0] for c in fake.calls] == ["check_ready"]


def test_zero_shot(run, bank, monkeypatch):
    monkeypatch.setattr(build_jobs, "missing_base_models", lambda given: [])
    fake = fake_train.install(monkeypatch)
    speaker = bank.speaker("ada")
    add_takes(speaker, count=2, seconds=1.0)
    take = speaker.current_takes()[speaker.prompts()[1].id]
    data = run("zero_shot", speaker_id="ada", bank_root=str(bank.root), take_id=take.id)
    assert fake.calls == [("make_zero_shot_voice", "ada", take.id)]
    run("zero_shot", speaker_id="ada", bank_root=str(bank.root), take_id=take.prompt_id)   # a prompt id too
    with pytest.raises(JobError) as info:
        run("zero_shot", speaker_id="ada", bank_root=str(bank.root), take_id="t-none")
    assert info.value.code == "unknown_take"
    assert data["card"]["kind"] == "zero_shot" and Path(data["files"]["reference"]).exists()


def test_zero_shot_needs_the_speaking_models_only(run, bank):
    with pytest.raises(JobError) as info:
        run("zero_shot", speaker_id="ada", bank_root=str(bank.root))
    assert "s2G2333k.pth" in info.value.message and "s2D2333k.pth" not in info.value.message


# end to end with the real training code and the tiny models -------------------------------

def _has_training() -> bool:
    try:
        return importlib.util.find_spec("core.train.build") is not None
    except ImportError:
        return False


TEXTS = ["今天天气很好，我们去公园散步。", "你好世界，这是一个测试。", "我用中文和英文打电话。",
         "参考音频里说的话很好。", "我们今天去公园，天气很好。", "这是一个中文测试，你好。"]


def add_takes(speaker, count: int = 6, seconds: float = 3.5) -> None:
    """Green takes (speech-like audio, 48 kHz) of messages the tiny BERT can read."""
    from tests.testsignals import speech_like

    session = speaker.start_session("test")
    for i, text in enumerate(TEXTS[:count]):
        prompt = speaker.add_message(text)
        writer = speaker.begin_take(prompt, session)
        writer.append(speech_like(seconds + 0.25 * i, 48000, seed=i).astype("float32"))
        take = writer.finish()
        take.quality = {"grade": "green", "snr_db": 30.0 + i}
        take.save()


def tiny_bases(tmp_path: Path) -> dict[str, str]:
    """The tiny reference GPT and G, a random tiny D, tiny feature models (skips without them)."""
    import torch

    from core.engine.sovits_discriminator import MultiPeriodDiscriminator
    from tests.tinymodels import make_tiny_bert, make_tiny_hubert

    gpt, sovits = REF / "s1_tiny.ckpt", REF / "s2G_tiny.pth"
    if not gpt.exists() or not sovits.exists():
        pytest.skip(f"tiny reference checkpoints not found in {REF}")
    torch.manual_seed(0)
    d = MultiPeriodDiscriminator(periods=(2,))
    tmp_path.mkdir(parents=True, exist_ok=True)
    d_path = tmp_path / "s2D_tiny.pth"
    torch.save({"weight": {k: v.half() for k, v in d.state_dict().items()}, "info": "tiny"}, d_path)
    chars = "".join(sorted(set("".join(TEXTS))))
    return {"base_gpt": str(gpt), "base_sovits_g": str(sovits), "base_sovits_d": str(d_path),
            "hubert": str(make_tiny_hubert(tmp_path / "chinese-hubert-base")),
            "bert": str(make_tiny_bert(tmp_path / "chinese-roberta-wwm-ext-large", chars))}


@pytest.mark.skipif(not _has_training(), reason="core.train.build is not written yet")
def test_end_to_end_tiny_build_stop_resume_then_the_sample(run, bank, tmp_path):
    """A real build with the tiny models, stopped during SoVITS training and started again: it
    resumes in the speaker's build folder, finishes a voice, and `speak` says the sample sentence
    with the voice's files, as the Build page does. (About a minute on 2 CPU cores.)"""
    bases = tiny_bases(tmp_path / "base")
    speaker = bank.speaker("ada")
    add_takes(speaker)
    params = dict(speaker_id="ada", bank_root=str(bank.root), device="cpu", steps=1, batch_size=2,
                  min_minutes=0.1, **bases)
    stop = Run(tmp_path / "first")
    stop.ctx.emit = lambda e: (stop.events.append(e), e["type"] == "progress" and e["stage"] == "sovits"
                               and stop.ctx.cancel_event.set())
    with pytest.raises(JobCancelled) as info:
        stop("build", **params)
    build_dir = speaker.folder / "builds" / "current"
    assert info.value.data == {"job_dir": str(build_dir), "resumable": True}
    assert any(build_dir.iterdir())                                # the checkpoint is kept

    try:
        data = run("build", **params)
    except (JobError, JobCancelled) as exc:
        pytest.fail(f"the resumed build did not finish: {getattr(exc, 'message', exc)}")
    assert any("Resuming" in e["message"] for e in run.events if e["type"] == "log")
    assert [e["step"] for e in stop.progress("sovits")] == [1]
    assert run.progress("sovits") == []          # its one step (steps=1) was kept: not trained again
    assert {"gpt", "export"} <= {e["stage"] for e in run.progress()}
    voice, files = Path(data["voice_dir"]), data["files"]
    assert voice.parent == speaker.folder / "voices" and data["card"]["kind"] == "fine-tuned"
    assert Path(files["gpt"]).parent == voice and Path(files["sovits"]).parent == voice
    assert Path(files["reference"]).exists() and data["card"]["reference_text"]
    assert not build_dir.exists()                                  # cleared after success

    sample = run("speak", gpt=files["gpt"], sovits=files["sovits"], reference=files["reference"],
                 reference_text=data["card"]["reference_text"], text=TEXTS[1], out=str(voice / "sample.wav"),
                 hubert=bases["hubert"], bert=bases["bert"], options={"seed": 1, "max_new_tokens": 12})
    assert Path(sample["out"]).exists() and sample["seconds"] > 0


@pytest.mark.skipif(not _has_training(), reason="core.train.build is not written yet")
def test_end_to_end_zero_shot(run, bank, monkeypatch):
    monkeypatch.setattr(build_jobs, "missing_base_models", lambda given: [])     # no store in tests
    speaker = bank.speaker("ada")
    add_takes(speaker, count=2)
    take = speaker.current_takes()[speaker.prompts()[1].id]
    data = run("zero_shot", speaker_id="ada", bank_root=str(bank.root), take_id=take.id)
    assert data["card"]["kind"] == "zero-shot" and data["card"]["reference_take"] == take.id
    assert Path(data["files"]["reference"]).exists()
    assert Path(data["files"]["gpt"]).name.endswith(".ckpt") and Path(data["files"]["sovits"]).name == "s2G2333k.pth"
