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
| fast_paths | what the child's pipeline switched on, with its load-time gates (`gates`, `gate_s`: measured, as on a voice's first load: the child gets an empty gate cache) |

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


# What the original's own SoVITS files carry besides the sizes (official.py holds only those):
# its s2.json as pickled into the pretrained s2G (the reference's s2G_tiny.pth carries exactly
# these), plus what its webui writes into every fine-tuned file (`model.version`, `version`,
# `name`). A GPT-SoVITS port that reads `model.version` or `data.n_speakers` refused the bench's
# files without them (issue 18).
SOVITS_TRAIN = {"log_interval": 100, "eval_interval": 500, "seed": 1234, "epochs": 100,
                "learning_rate": 0.0001, "betas": [0.8, 0.99], "eps": 1e-09, "batch_size": 32,
                "fp16_run": True, "lr_decay": 0.999875, "segment_size": 20480, "init_lr_ratio": 1,
                "warmup_epochs": 0, "c_mel": 45, "c_kl": 1.0, "text_low_lr_rate": 0.4, "grad_ckpt": False}
SOVITS_DATA = {"max_wav_value": 32768.0, "add_blank": True, "n_speakers": 300, "cleaned_text": True}
SOVITS_TOP = {"s2_ckpt_dir": "logs/s2/big2k1", "content_module": "cnhubert", "version": "v2",
              "name": "voicebank-bench"}
# And the GPT's (s1longer-v2.yaml as the official .ckpt holds it).
GPT_TRAIN = {"save_every_n_epoch": 1, "gradient_clip": 1.0}
GPT_OPTIMIZER = {"lr": 0.01, "lr_init": 1e-05, "lr_end": 0.0001, "warmup_steps": 2000, "decay_steps": 40000}


def sovits_file_config(quick: bool = False) -> dict[str, Any]:
    """The "config" of the bench's SoVITS `.pth`: every field the original's files carry."""
    from core.engine.official import official_sovits_config

    hp = official_sovits_config()
    hp["train"] = {**SOVITS_TRAIN, **hp["train"]}
    hp["data"].update(SOVITS_DATA)
    hp["model"]["version"] = "v2"
    hp.update(SOVITS_TOP)
    if quick:
        hp["model"].update(upsample_initial_channel=128, hidden_channels=96, filter_channels=256,
                           inter_channels=96)
    return hp


def gpt_file_config(gpt: Any = None) -> dict[str, Any]:
    """The "config" of the bench's GPT `.ckpt` (sizes from `gpt` where given: --quick)."""
    from core.engine.official import official_gpt_config

    gcfg = official_gpt_config()
    gcfg["train"].update(GPT_TRAIN)
    gcfg["optimizer"] = dict(GPT_OPTIMIZER)
    if gpt is not None:
        gcfg["model"].update(n_layer=gpt.cfg.n_layer, hidden_dim=gpt.cfg.hidden_dim,
                             embedding_dim=gpt.cfg.embedding_dim, head=gpt.cfg.n_head,
                             linear_units=gpt.cfg.linear_units)
    return gcfg


def save_models(folder: Path, quick: bool = False, seed: int = 0) -> dict[str, Path]:
    """Build the benchmark's random models and save them as the app's files; returns the paths."""
    from core.bench.models import REF_SECONDS, build_models, reference_wav
    from core.engine.checkpoint import save_gpt, save_sovits
    from core.engine.features import BERT_NAME, HUBERT_NAME
    from core.engine.gpt import checkpoint_weights

    folder.mkdir(parents=True, exist_ok=True)
    gpt, sovits, hubert, bert = build_models(folder, quick, seed)
    gcfg = gpt_file_config(gpt if quick else None)
    hp = sovits_file_config(quick)
    paths = {"gpt": folder / "gpt.ckpt", "sovits": folder / "sovits.pth",
             "hubert": folder / HUBERT_NAME, "bert": folder / BERT_NAME, "ref": folder / "ref.wav"}
    save_gpt(paths["gpt"], checkpoint_weights(gpt), gcfg, "voicebank bench (random weights)")
    save_sovits(paths["sovits"], sovits.state_dict(), hp, "voicebank bench (random weights)")
    hubert.save_pretrained(paths["hubert"])
    bert.model.save_pretrained(paths["bert"])
    bert.tokenizer.save_pretrained(paths["bert"])
    reference_wav(paths["ref"], REF_SECONDS, seed)
    return paths


def child(folder: Path, fast_json: str, new_tokens: int) -> dict[str, Any]:
    """Runs in the fresh process: load from files, synthesise once, report memory."""
    import torch

    from core.bench.machine import reset_peak_rss
    from core.bench.models import PROMPT_TEXT, STANDARD_TEXT, no_eos
    from core.engine.features import BERT_NAME, HUBERT_NAME
    from core.runtime.levers import FastPaths
    from core.runtime.pipeline import ModelPaths, SynthesisOptions, Synthesizer

    fast = FastPaths(**json.loads(fast_json))
    paths = ModelPaths(gpt=folder / "gpt.ckpt", sovits=folder / "sovits.pth",
                       hubert=folder / HUBERT_NAME, bert=folder / BERT_NAME)
    synth = Synthesizer(paths, fast=fast)
    synth.gpt.ar_predict_layer.register_forward_hook(no_eos)  # random GPT: exactly its tokens
    out: dict[str, Any] = {"load_peak_rss_mb": _status_mb("VmHWM")}
    reset = reset_peak_rss()  # malloc_trim, then restart VmHWM
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
    from core.runtime.levers import FastPaths

    say = log or (lambda s: None)
    fast = fast if fast is not None else FastPaths.for_device("cpu")
    new_tokens = 12 if quick else 250
    with tempfile.TemporaryDirectory(prefix="voicebank-mem-") as tmp:
        where = Path(folder) if folder is not None else Path(tmp)
        if not (where / "gpt.ckpt").exists():
            say(f"saving the random {'reduced' if quick else 'full-size'} models to {where}")
            # In its own process too, so that this one stays small while the child runs.
            code = ("import sys; from pathlib import Path; from core.bench.memory import "
                    f"save_models; save_models(Path(sys.argv[1]), quick={quick!r}, seed={seed})")
            subprocess.run([sys.executable, "-c", code, str(where)], check=True,
                           cwd=Path(__file__).resolve().parents[2])
        say("loading and synthesising in a fresh process")
        proc = subprocess.run(
            [sys.executable, "-m", "core.bench.memory", "--child", str(where),
             json.dumps(asdict(fast)), str(new_tokens)],
            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
            # a fresh gate cache: the child's load always measures the gates, as a first load does
            env={**os.environ, "PYTHONUNBUFFERED": "1", "VOICEBANK_CACHE": str(Path(tmp) / "gate-cache")})
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
        f"  load-time gates: {f.get('gate_s')} s ({f.get('gate_cache')}); "
        + ", ".join(f"{k} {g['value']}{'' if g['passed'] else ' REFUSED'}" for k, g in (f.get("gates") or {}).items()),
    ])


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
    else:
        print("usage: python -m core.bench.memory --child FOLDER FAST_JSON NEW_TOKENS "
              "(use `voicebank bench --memory`)", file=sys.stderr)
        raise SystemExit(2)
