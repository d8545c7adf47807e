"""The speech service's bench on a throw-away bank, so the figures in BENCHMARKS.md can be made
again with one command:

    python -m tools.service_bench [--models tiny|full] [--callers 1,2,4,8] [--requests 4]
                                  [--max-new-tokens 30] [--fast] [--check] [--json]

It builds a temporary bank with one speaker and one voice, starts `voicebank serve` on a free
port in its own process (its own config, jobs and cache folders) and runs
`core.service.bench.measure` for each number of callers, then stops the service.

- `tiny`: the tests' tiny reference GPT/SoVITS (../shared/reference) and tiny random HuBERT/BERT;
- `full`: full-size v2 models with seeded random weights (`core.bench.memory.save_models`), saved
  once to `--models-dir` and reused. A random GPT rarely says EOS, so every sentence runs to
  `--max-new-tokens`.
The service runs the plain fp32 path unless `--fast` (the default CPU levers, gated at load).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT.parent / "shared/reference/gpt-sovits-v2"
TINY_CHARS = "你好世界今天天气很好我们去公园散步这是一个测试"


def tiny_models(folder: Path) -> dict[str, Path]:
    from tests.testsignals import speech_like
    from tests.tinymodels import make_tiny_bert, make_tiny_hubert
    import soundfile as sf

    ref = folder / "ref.wav"
    sf.write(ref, speech_like(5.0, 48000, seed=3), 48000, subtype="PCM_16")
    return {"gpt": TINY / "s1_tiny.ckpt", "sovits": TINY / "s2G_tiny.pth", "ref": ref,
            "hubert": make_tiny_hubert(folder / "chinese-hubert-base"),
            "bert": make_tiny_bert(folder / "chinese-roberta-wwm-ext-large", TINY_CHARS)}


def full_models(folder: Path) -> dict[str, Path]:
    from core.bench.memory import save_models
    from core.engine.features import BERT_NAME, HUBERT_NAME

    if not (folder / "gpt.ckpt").exists():
        print(f"saving full-size random models to {folder} (once)", file=sys.stderr, flush=True)
        return save_models(folder)
    return {"gpt": folder / "gpt.ckpt", "sovits": folder / "sovits.pth", "ref": folder / "ref.wav",
            "hubert": folder / HUBERT_NAME, "bert": folder / BERT_NAME}


def start_service(root: Path, models: dict[str, Path], extra: list[str]):
    """`voicebank serve` over a bank made from `models`, in its own process, ready (the tests'
    `Server`: its own config, jobs and cache folders under `root`)."""
    from tests.core.service.conftest import Server, make_bank

    bank, _, _ = make_bank(root / "bank", models["gpt"], models["sovits"], models["ref"])
    env = {**os.environ, "VOICEBANK_HOME": str(bank), "VOICEBANK_CONFIG": str(root / "config"),
           "VOICEBANK_JOBS": str(root / "jobs"), "VOICEBANK_CACHE": str(root / "cache"),
           "PYTHONPATH": str(ROOT)}
    return Server(env, "--hubert", str(models["hubert"]), "--bert", str(models["bert"]), *extra,
                  base=(), start_timeout=1800)      # full-size models: load and gates take minutes


def main(argv: list[str] | None = None) -> int:
    from core.service.bench import TEXT, measure

    p = argparse.ArgumentParser(prog="python -m tools.service_bench", description=__doc__.split("\n")[0])
    p.add_argument("--models", choices=("tiny", "full"), default="tiny")
    p.add_argument("--models-dir", type=Path, default=Path(tempfile.gettempdir()) / "voicebank-bench-full")
    p.add_argument("--callers", default="1,2,4,8")
    p.add_argument("--requests", type=int, default=4, help="requests per caller, one after another")
    p.add_argument("--max-new-tokens", type=int, default=30, help="GPT tokens per sentence at most")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--fast", action="store_true", help="the default CPU fast paths (else the plain path)")
    p.add_argument("--threads", type=int, help="the engine's torch threads (default: the service's)")
    p.add_argument("--no-overlap", action="store_true", help="vocode in the GPT's thread (A/B of the vocoder thread)")
    p.add_argument("--text", default=TEXT)
    p.add_argument("--check", action="store_true", help="check every answer's watermark")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="voicebank-service-bench-") as tmp:
        root = Path(tmp)
        models = tiny_models(root) if args.models == "tiny" else full_models(args.models_dir)
        extra = ["--max-new-tokens", str(args.max_new_tokens), "--batch-size", str(args.batch_size),
                 "--max-queue", "64", "--rate", "100000"]
        if not args.fast:
            extra.append("--plain")
        if args.threads:
            extra += ["--threads", str(args.threads)]
        if args.no_overlap:
            extra.append("--no-overlap")
        service = start_service(root, models, extra)
        try:
            measure(service.port, service.token, 1, 1, args.text)      # warm-up, not counted
            for n in (int(x) for x in args.callers.split(",")):
                row = measure(service.port, service.token, n, args.requests, args.text, args.check).row()
                rows.append(row)
                if not args.json:
                    print(f"{row['callers']:>2} callers: {row['requests']} requests, {row['errors']} errors, "
                          f"{row['unmarked']} unmarked; {row['audio_s_per_s']:.2f} audio s/s; first audio "
                          f"p50 {row['first_audio_p50_s']:.2f} s, p95 {row['first_audio_p95_s']:.2f} s",
                          flush=True)
        finally:
            service.stop()
    if args.json:
        print(json.dumps(rows, indent=2))
    return 1 if any(r["errors"] or r["unmarked"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
