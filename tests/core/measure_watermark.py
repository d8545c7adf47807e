"""Measurements of the watermark for BENCHMARKS.md (not a test): level, survival margins,
false-alarm margin and speed.   .venv/bin/python -m tests.core.measure_watermark"""
from __future__ import annotations

import time

import numpy as np

from core.watermark import detect, embed, payload_id, threshold_for
from tests.core.test_watermark import NATURAL, encoded_at, excerpts, snr_db
from tests.testsignals import clip, mix_at_snr, noise, resampled, speech_like

RATE = 32000


def attacks(x: np.ndarray) -> dict[str, tuple[np.ndarray, int]]:
    mp3, mp3_kbps = encoded_at(x, RATE, "mp3")
    ogg, ogg_kbps = encoded_at(x, RATE, "ogg")
    return {"as made": (x, RATE), "16 kHz": (resampled(x, RATE, 16000), 16000),
            f"MP3 {mp3_kbps:.0f} kbit/s": (mp3, RATE), f"OGG {ogg_kbps:.0f} kbit/s": (ogg, RATE),
            "gain x0.3": (x * 0.3, RATE), "gain x2, clipped": (clip(x, 2.0), RATE),
            "16 kHz + MP3": (resampled(mp3, RATE, 16000), 16000)}


def main() -> None:
    voice = payload_id("example-voice")
    signals = {f"speech-like seed {s}": speech_like(10, RATE, seed=s, f0=f0)
               for s, f0 in ((1, 110), (5, 180), (9, 240))}
    roomy = speech_like(10, 48000, seed=30, lead_s=0.1, trail_s=0.1)
    roomy = mix_at_snr(roomy, noise("pink", 10, 48000, seed=4), 30)
    signals["speech-like + room tone 30 dB (48k->32k)"] = resampled(roomy, 48000, RATE)
    print("signal | SNR dB | attack | 10 s score | 3 s excerpts: min / median score | ids right")
    for name, x in signals.items():
        t0 = time.perf_counter()
        y = embed(x, RATE, voice)
        t_embed = time.perf_counter() - t0
        for attack, (z, rate) in attacks(y).items():
            full = detect(z, rate)
            parts = [detect(p, rate) for p in excerpts(z, rate, step_s=0.5)]
            scores = [p.score for p in parts]
            right = sum(p.found and p.voice_id == voice for p in parts)
            print(f"{name} | {snr_db(x, y):.1f} | {attack} | {full.score:.1f} (thr {full.threshold}) | "
                  f"{min(scores):.1f} / {np.median(scores):.1f} (thr {parts[0].threshold}) | {right}/{len(parts)}")
        t0 = time.perf_counter()
        detect(y, RATE)
        print(f"  time per 10 s: embed {t_embed:.2f} s, detect {time.perf_counter() - t0:.2f} s")
    worst, name_worst, window_scores = 0.0, "", []
    for name, (x, rate) in NATURAL.items():
        d = detect(x, rate)
        if d.score > worst:
            worst, name_worst = d.score, name
        window_scores += [detect(p, rate).score for p in excerpts(x, rate, step_s=1.0)]
    print(f"natural signals: {len(NATURAL)}, highest score {worst:.2f} ({name_worst}); "
          f"3 s windows: {len(window_scores)}, highest {max(window_scores):.2f}, "
          f"median {np.median(window_scores):.2f}; threshold for one 3 s file {threshold_for(2 * 256 * 256)}")
    rng = np.random.default_rng(0)   # the null: max of 131072 standard normals, for comparison
    sims = [rng.standard_normal(131072).max() for _ in range(200)]
    print(f"max of 131072 N(0,1) draws: median {np.median(sims):.2f}, 99th percentile {np.percentile(sims, 99):.2f}")


if __name__ == "__main__":
    main()
