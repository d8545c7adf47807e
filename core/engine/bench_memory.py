"""`voicebank bench --memory`: peak RAM of synthesis as the app does it, in a fresh process.

The in-process benchmark builds its random models in memory, so its resident-set figure also
holds what building them left behind. Here the random full-size models are first saved to a
temporary folder in the formats the app reads (GPT `.ckpt` and SoVITS `.pth` with fp16 weights,
HuBERT and BERT as transformers folders), then a fresh Python process loads them through
`Synthesizer(ModelPaths(...))` with the chosen fast paths, prepares the reference and speaks the
standard workload (250 new tokens = 10 s). The child reports (MB):

| key | meaning |
| --- | --- |
| peak_rss_mb | the child's peak resident memory over load + reference + synthesis (VmHWM) |
| load_peak_rss_mb | peak while loading the models (file reading, fp16 -> fp32, fast-path conversion, warm-up) |
| loaded_rss_mb | resident memory once loaded (after glibc's malloc_trim) |
| synthesis_peak_rss_mb | peak during reference preparation + synthesis only (Linux: VmHWM reset after loading) |
| synthesis_s | the synthesis' wall time in the child (not a speed figure: one cold run) |
| fast_paths | what the child's pipeline switched on |

Target: synthesis with full-size models under 3 GB (3072 MB) on the CPU.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

__all__ = ["save_models", "run_memory", "MEMORY_KEYS"]

MEMORY_KEYS = ("peak_rss_mb", "load_peak_rss_mb", "loaded_rss_mb", "synthesis_peak_rss_mb",
               "synthesis_s", "fast_paths")
TARGET_MB = 3072


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def save_models(folder: Path, quick: bool = False, seed: int = 0) -> dict[str, Path]:
    """Build the benchmark's random models and save them as the app's files; returns the paths."""
    from core.engine.bench import _reference_wav, build_models, REF_SECONDS
    from core.engine.checkpoint import save_gpt, save_sovits
    from core.engine.features import BERT_NAME, HUBERT_NAME
    from core.engine.gpt import checkpoint_weights
    from core.engine.official import official_gpt_config, official_sovits_config

    folder.mkdir(parents=True, exist_ok=True)
    gpt, sovits, hubert, bert = build_models(folder, quick, seed)
    gcfg = official_gpt_config()
    if quick:
        gcfg["model"].update(n_layer=gpt.cfg.n_layer, hidden_dim=gpt.cfg.hidden_dim,
                             embedding_dim=gpt.cfg.embedding_dim, head=gpt.cfg.n_head,
                             linear_units=gpt.cfg.linear_units)
    hp = official_sovits_config()
    if quick:
        hp["model"].update(upsample_initial_channel=128, hidden_channels=96, filter_channels=256,
                           inter_channels=96)
    paths = {"gpt": folder / "gpt.ckpt", "sovits": folder / "sovits.pth",
             "hubert": folder / HUBERT_NAME, "bert": folder / BERT_NAME, "ref": folder / "ref.wav"}
    save_gpt(paths["gpt"], checkpoint_weights(gpt), gcfg, "voicebank bench (random weights)")
    save_sovits(paths["sovits"], sovits.state_dict(), hp, "voicebank bench (random weights)")
    hubert.save_pretrained(paths["hubert"])
    bert.model.save_pretrained(paths["bert"])
    bert.tokenizer.save_pretrained(paths["bert"])
    _reference_wav(paths["ref"], REF_SECONDS, seed)
    return paths


def child(folder: Path, fast_json: str, new_tokens: int) -> dict[str, Any]:
    """Runs in the fresh process: load from files, synthesise once, report memory."""
    import torch

    from core.engine.bench import PROMPT_TEXT, STANDARD_TEXT, _no_eos, _reset_peak_rss
    from core.engine.features import BERT_NAME, HUBERT_NAME
    from core.engine.fastpaths import FastPaths
    from core.engine.pipeline import ModelPaths, SynthesisOptions, Synthesizer

    fast = FastPaths(**json.loads(fast_json))
    paths = ModelPaths(gpt=folder / "gpt.ckpt", sovits=folder / "sovits.pth",
                       hubert=folder / HUBERT_NAME, bert=folder / BERT_NAME)
    synth = Synthesizer(paths, fast=fast)
    synth.gpt.ar_predict_layer.register_forward_hook(_no_eos)  # random GPT: exactly its tokens
    out: dict[str, Any] = {"load_peak_rss_mb": _status_mb("VmHWM")}
    reset = _reset_peak_rss()  # malloc_trim, then restart VmHWM
    out["loaded_rss_mb"] = _status_mb("VmRSS")
    synth.set_reference(folder / "ref.wav", PROMPT_TEXT)
    opts = SynthesisOptions(seed=1, pause_s=0.0, max_new_tokens=new_tokens, max_sentence_chars=100)
    t = time.perf_counter()
    audio = synth.synthesize(STANDARD_TEXT, opts)
    out["synthesis_s"] = round(time.perf_counter() - t, 3)
    out["audio_s"] = round(len(audio) / synth.SAMPLE_RATE, 3)
    out["synthesis_peak_rss_mb"] = _status_mb("VmHWM") if reset else None
    out["peak_rss_mb"] = max(v for v in (out["load_peak_rss_mb"], out["synthesis_peak_rss_mb"])
                             if v is not None)
    out["fast_paths"] = synth.fast_report.as_dict()
    out["threads"] = torch.get_num_threads()
    return out


def run_memory(fast=None, quick: bool = False, seed: int = 0, folder: Path | None = None,
               log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Save the models (into `folder`, or a temporary one), then measure a fresh process."""
    from core.engine.fastpaths import FastPaths

    say = log or (lambda s: None)
    fast = fast if fast is not None else FastPaths.for_device("cpu")
    new_tokens = 12 if quick else 250
    with tempfile.TemporaryDirectory(prefix="voicebank-mem-") as tmp:
        where = Path(folder) if folder is not None else Path(tmp)
        if not (where / "gpt.ckpt").exists():
            say(f"saving the random {'reduced' if quick else 'full-size'} models to {where}")
            # In its own process too, so that this one stays small while the child runs.
            code = ("import sys; from pathlib import Path; from core.engine.bench_memory import "
                    f"save_models; save_models(Path(sys.argv[1]), quick={quick!r}, seed={seed})")
            subprocess.run([sys.executable, "-c", code, str(where)], check=True,
                           cwd=Path(__file__).resolve().parents[2])
        say("loading and synthesising in a fresh process")
        proc = subprocess.run(
            [sys.executable, "-m", "core.engine.bench_memory", "--child", str(where),
             json.dumps(asdict(fast)), str(new_tokens)],
            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if proc.returncode != 0:
            raise RuntimeError("the memory benchmark's child process failed:\n" + proc.stderr[-3000:])
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    res.update(quick=quick, models="reduced" if quick else "full", target_mb=TARGET_MB)
    return res


def format_memory(r: dict[str, Any]) -> str:
    f = r["fast_paths"]
    on = [k for k in ("int8_gpt", "bf16_kv_cache", "bf16_bert", "fold_weight_norm", "chunked_decoder", "bf16_decoder")
          if f.get(k)]
    return "\n".join([
        f"voicebank bench --memory ({r['models']} models loaded from files in a fresh process; "
        f"fast paths: {', '.join(on) or 'none'}; {r['threads']} threads)",
        f"  peak RSS {r['peak_rss_mb']} MB (target < {r['target_mb']} MB): load {r['load_peak_rss_mb']} MB, "
        f"reference + synthesis {r['synthesis_peak_rss_mb']} MB; resident once loaded {r['loaded_rss_mb']} MB",
        f"  one cold synthesis of {r['audio_s']} s of speech: {r['synthesis_s']} s",
    ])


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
    else:
        print("usage: python -m core.engine.bench_memory --child FOLDER FAST_JSON NEW_TOKENS "
              "(use `voicebank bench --memory`)", file=sys.stderr)
        raise SystemExit(2)
