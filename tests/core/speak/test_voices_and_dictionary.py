"""The voice list for the Speak page, and the pronunciation dictionary reaching the engine."""
from __future__ import annotations

import sys
import threading
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.bank.store import Bank
from core.speak.dictionary import dictionary_path, dictionary_stamp, load_dictionary, save_dictionary
from core.speak.voices import speak_voices
from core.text.userdict import UserDict
from core.worker import context, speak_jobs
from tests.core.speak import make_voice


def add_voice(speaker, voice_id: str, kind: str, created: str) -> Path:
    return make_voice(speaker, voice_id, kind, created, files=())


def test_voices_newest_first_zero_shot_labelled(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEBANK_MODELS", str(tmp_path / "models"))
    speaker = Bank(tmp_path / "bank").create_speaker("Ada", ["zh"])
    add_voice(speaker, "v-old", "zero-shot", "2026-01-01T10:00:00")
    new = add_voice(speaker, "v-new", "fine-tuned", "2026-02-01T10:00:00")
    (Path(speaker.folder) / "voices" / "broken").mkdir()
    voices = speak_voices(speaker)
    assert [v.id for v in voices] == ["v-new", "v-old"]
    assert voices[0].gpt == new / "gpt.ckpt" and voices[0].reference == new / "reference.wav"
    assert "trained" in voices[0].label and "first version, no training" in voices[1].label
    assert voices[1].zero_shot and voices[1].gpt.is_relative_to(tmp_path / "models")
    assert voices[0].cache_key != voices[1].cache_key
    assert voices[0].job_params()["reference_text"] == "你好"


def test_voice_files_resolve_as_the_training_code_does(tmp_path, monkeypatch):
    from core.voices.card import list_voices, voice_model_paths     # as the trainer and the worker read a voice

    monkeypatch.setenv("VOICEBANK_MODELS", str(tmp_path / "models"))
    speaker = Bank(tmp_path / "bank").create_speaker("Ada", ["zh"])
    add_voice(speaker, "v-zero", "zero-shot", "2026-01-01T10:00:00")
    add_voice(speaker, "v-trained", "fine-tuned", "2026-02-01T10:00:00")
    theirs = {card.id: voice_model_paths(folder, card) for folder, card in list_voices(speaker)}
    ours = {v.id: (v.gpt, v.sovits) for v in speak_voices(speaker)}
    assert ours == theirs


def test_dictionary_file_and_stamp(tmp_path):
    assert len(load_dictionary(tmp_path)) == 0 and dictionary_stamp(UserDict()) == "none"
    ud = UserDict({"张三": "zhang1 san1"})
    path = save_dictionary(tmp_path, ud)
    assert path == dictionary_path(tmp_path) and load_dictionary(tmp_path).entries() == ud.entries()
    before = dictionary_stamp(ud)
    ud.add("Alice", "AE1 L IH0 S")
    assert dictionary_stamp(ud) != before


class Recorder:
    """A stand-in pipeline module (no torch, no models) that records what the job passes."""

    def __init__(self):
        self.userdicts = []

    def install(self, monkeypatch):
        module, seen = types.ModuleType("core.runtime.pipeline"), self.userdicts

        class SynthesisError(Exception):
            pass

        class SynthesisCancelled(SynthesisError):
            pass

        class Synthesizer:
            def __init__(self, paths, device="cpu"):
                pass

            def set_reference(self, wav, text=None):
                return None

            def stream(self, text, options, cancel=lambda: False, userdict=None, pieces=False):
                seen.append(userdict)
                yield SimpleNamespace(index=0, total=1, text=text, audio=np.zeros(320, np.float32))

        module.SynthesisError, module.SynthesisCancelled, module.Synthesizer = (
            SynthesisError, SynthesisCancelled, Synthesizer)
        module.ModelPaths = lambda **kw: SimpleNamespace(**kw)
        module.SynthesisOptions = lambda **kw: SimpleNamespace(**kw)
        monkeypatch.setitem(sys.modules, "core.runtime.pipeline", module)
        return self


def run_speak(tmp_path, **params):
    for name in ("g.ckpt", "s.pth", "r.wav"):
        (tmp_path / name).write_bytes(b"x")
    ctx = context.JobContext("j1", tmp_path / "job", lambda event: None, threading.Event())
    ctx.job_dir.mkdir(exist_ok=True)
    return speak_jobs.speak({"text": "张三 and Alice.", "gpt": str(tmp_path / "g.ckpt"),
                             "sovits": str(tmp_path / "s.pth"), "reference": str(tmp_path / "r.wav"),
                             **params}, ctx)


def test_speak_job_passes_the_dictionary_to_the_engine(tmp_path, monkeypatch):
    fake = Recorder().install(monkeypatch)
    path = save_dictionary(tmp_path, UserDict({"张三": "zhang1 san1"}))
    run_speak(tmp_path, userdict=str(path))
    run_speak(tmp_path)
    assert fake.userdicts[0].entries() == {"张三": "zhang1 san1"} and fake.userdicts[1] is None
    path.write_text('{"entries": {"Alice": "XX1"}}', encoding="utf-8")
    with pytest.raises(context.JobError, match="dictionary cannot be used: .XX1. .*Fix or remove"):
        run_speak(tmp_path, userdict=str(path))


def test_engine_plan_applies_the_dictionary():
    from core.runtime.pipeline import SynthesisOptions, Synthesizer

    # _plan only phonemizes: a stand-in self with a reference is enough (no models loaded)
    fake_self = SimpleNamespace(_check_options=lambda o: None, reference=object())
    ud = UserDict({"乐乐": "yue4 yue4", "Tomas": "T AH0 M AA1 S"})
    plain = Synthesizer._plan(fake_self, "我爱乐乐。Hello Tomas.", SynthesisOptions())
    custom = Synthesizer._plan(fake_self, "我爱乐乐。Hello Tomas.", SynthesisOptions(), ud)
    phones = [" ".join(ph.phones) for _, ph in custom]
    assert "ai4 y ve4 y ve4" in phones[0] and " ".join(plain[0][1].phones) != phones[0]
    assert "T AH0 M AA1 S" in phones[1]
