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
| model_mb | the loaded models' weights (parameters and buffers; the int8 GPT's packed matrices counted at one byte a weight) per model: gpt, sovits, hubert, bert |
| isa | the ISA the child ran on: `asked` ("native" or "avx2"), `env` (the caps set), `torch` (ATen's SIMD level), `onednn` (oneDNN's own report of its ISA), `cpu` (`CpuInfo.summary()`: int8 accumulation, native bf16), `bf16_on` (bf16 levers the child's pipeline switched on), `ok` (the AVX2 path is in effect: torch AVX2, oneDNN AVX2, no bf16 lever on) |
| target_mb | 2560 on the AVX2 path (issue 17), 3072 otherwise |

Target: synthesis with full-size models under 3 GB (3072 MB) on the CPU; on the AVX2 path
(`--avx2`: a fresh process as an AVX2-only laptop runs it, bf16 levers off) under 2.5 GB.

`--avx2` runs the child with ATen, oneDNN, fbgemm and MKL capped to AVX2 (`AVX2_ENV`) and the
bf16 levers off, so an AVX-512/AMX machine takes the kernels (and the fp32 BERT and decoder) an
AVX2-only CPU takes. It only counts if the caps took: the child reports what torch and oneDNN
say they run, and `isa.ok` is false otherwise.
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
               "synthesis_s", "fast_paths", "model_mb", "isa", "target_mb")
TARGET_MB = 3072
AVX2_TARGET_MB = 2560
# What makes this machine run an AVX2-only CPU's kernels (BENCHMARKS.md, issue 18): torch's own
# kernels, oneDNN (convolutions, bf16 matmuls), fbgemm (int8; it ignores ATEN_CPU_CAPABILITY) and MKL.
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
            "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


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


def sovits_file_config(quick: bool = False, tiny: bool = False) -> dict[str, Any]:
    """The "config" of the bench's SoVITS `.pth`: every field the original's files carry."""
    from core.bench.models import sovits_hparams

    hp = sovits_hparams(quick, tiny)
    hp["train"] = {**SOVITS_TRAIN, **hp["train"]}
    hp["data"].update(SOVITS_DATA)
    hp["model"]["version"] = "v2"
    hp.update(SOVITS_TOP)
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


def save_models(folder: Path, quick: bool = False, seed: int = 0, tiny: bool = False) -> dict[str, Path]:
    """Build the benchmark's random models and save them as the app's files; returns the paths."""
    from core.bench.models import REF_SECONDS, build_models, reference_wav
    from core.engine.checkpoint import save_gpt, save_sovits
    from core.engine.features import BERT_NAME, HUBERT_NAME
    from core.engine.gpt import checkpoint_weights

    folder.mkdir(parents=True, exist_ok=True)
    gpt, sovits, hubert, bert = build_models(folder, quick, seed, tiny=tiny)
    gcfg = gpt_file_config(gpt if quick or tiny else None)
    hp = sovits_file_config(quick, tiny)
    paths = {"gpt": folder / "gpt.ckpt", "sovits": folder / "sovits.pth",
             "hubert": folder / HUBERT_NAME, "bert": folder / BERT_NAME, "ref": folder / "ref.wav"}
    save_gpt(paths["gpt"], checkpoint_weights(gpt), gcfg, "voicebank bench (random weights)")
    save_sovits(paths["sovits"], sovits.state_dict(), hp, "voicebank bench (random weights)")
    hubert.save_pretrained(paths["hubert"])
    bert.model.save_pretrained(paths["bert"])
    bert.tokenizer.save_pretrained(paths["bert"])
    reference_wav(paths["ref"], REF_SECONDS, seed)
    return paths


def onednn_isa() -> str | None:
    """oneDNN's own word for the ISA it runs (its verbose "isa:" line), read from a small
    convolution with verbose output on; that output goes to file descriptor 1, caught here."""
    import torch

    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile("w+b") as out:
        os.dup2(out.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                torch.nn.functional.conv1d(torch.randn(1, 64, 1000), torch.randn(64, 64, 7))
        except (RuntimeError, AttributeError):
            pass
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    for line in text.splitlines():
        if ",isa:" in line:
            return line.split(",isa:", 1)[1].strip()
    return None


def _model_mb(model: Any) -> float:
    """Weights held by a model: parameters and buffers, plus int8-packed matrices (opaque to
    `parameters()`: counted as one byte per weight)."""
    module = getattr(model, "model", model)          # the Bert wrapper holds its model
    seen, total = set(), 0
    for t in [*module.parameters(), *module.buffers()]:
        if t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()
    for m in module.modules():
        if hasattr(m, "_packed") and hasattr(m, "in_features"):
            total += m.in_features * m.out_features
    return round(total / 2**20, 1)


def child(folder: Path, fast_json: str, new_tokens: int) -> dict[str, Any]:
    """Runs in the fresh process: load from files, synthesise once, report memory."""
    import torch

    from core.bench.machine import reset_peak_rss
    from core.bench.models import PROMPT_TEXT, STANDARD_TEXT, no_eos
    from core.engine.features import BERT_NAME, HUBERT_NAME
    from core.runtime.gates import cpu_info
    from core.runtime.levers import FastPaths
    from core.runtime.pipeline import ModelPaths, SynthesisOptions, Synthesizer

    isa = {"torch": torch.backends.cpu.get_cpu_capability(), "onednn": onednn_isa(),
           "cpu": cpu_info().summary()}
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
    out["fast_paths"] = rep = synth.fast_report.as_dict()
    out["threads"] = torch.get_num_threads()
    out["model_mb"] = {name: _model_mb(getattr(synth, name)) for name in ("gpt", "sovits", "hubert", "bert")}
    isa["bf16_on"] = [k for k in ("bf16_kv_cache", "bf16_bert", "bf16_decoder") if rep.get(k)]
    out["isa"] = isa
    return out


def run_memory(fast=None, quick: bool = False, seed: int = 0, folder: Path | None = None,
               log: Callable[[str], None] | None = None, avx2: bool = False) -> dict[str, Any]:
    """Save the models (into `folder`, or a temporary one), then measure a fresh process.
    `avx2`: the child runs as an AVX2-only CPU would (`AVX2_ENV`, bf16 levers off)."""
    from dataclasses import replace

    from core.runtime.levers import FastPaths

    say = log or (lambda s: None)
    fast = fast if fast is not None else FastPaths.for_device("cpu")
    if avx2:  # off by request too, not only because the capped CPU reports no native bf16
        fast = replace(fast, bf16_kv_cache=False, bf16_bert=False, bf16_decoder=False)
    caps = AVX2_ENV if avx2 else {}
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
            env={**os.environ, "PYTHONUNBUFFERED": "1", "VOICEBANK_CACHE": str(Path(tmp) / "gate-cache"),
                 **caps})
        if proc.returncode != 0:
            raise RuntimeError("the memory benchmark's child process failed:\n" + proc.stderr[-3000:])
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    isa = res["isa"]
    isa.update(asked="avx2" if avx2 else "native", env=caps)
    isa["ok"] = (not avx2) or (str(isa["torch"]).upper() == "AVX2" and "AVX2" in str(isa["onednn"]).upper()
                               and "AVX-512" not in str(isa["onednn"]).upper() and not isa["bf16_on"])
    res.update(quick=quick, models="reduced" if quick else "full",
               target_mb=AVX2_TARGET_MB if avx2 else TARGET_MB)
    return res


def format_memory(r: dict[str, Any]) -> str:
    f = r["fast_paths"]
    on = [k for k in ("int8_gpt", "bf16_kv_cache", "bf16_bert", "fold_weight_norm", "chunked_decoder", "bf16_decoder")
          if f.get(k)]
    isa = r.get("isa") or {}
    return "\n".join([
        f"voicebank bench --memory ({r['models']} models loaded from files in a fresh process; "
        f"fast paths: {', '.join(on) or 'none'}; {r['threads']} threads)",
        f"  ISA ({isa.get('asked')}{', caps in effect' if isa.get('ok') else ', CAPS NOT IN EFFECT'}): "
        f"torch {isa.get('torch')}, oneDNN {isa.get('onednn')}; bf16 levers on: "
        f"{', '.join(isa.get('bf16_on') or []) or 'none'}; {isa.get('cpu')}",
        "  weights (MB): " + ", ".join(f"{k} {v}" for k, v in (r.get("model_mb") or {}).items()),
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
