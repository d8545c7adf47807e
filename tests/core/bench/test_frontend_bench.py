"""`python -m core.bench.frontend`'s measuring process and its report, on a tiny g2pW-shaped
model (the benchmark itself writes a full-size one: about 400 MB and a minute)."""
from __future__ import annotations

from core.bench.frontend import FILES, child, format_frontend
from core.bench.g2pw_model import TINY, build_g2pw_folder, common_polyphones
from core.text import g2pw


def test_the_measuring_process_on_a_tiny_model(tmp_path):
    readings = common_polyphones(40)
    assert len(readings) == 40 and all(len(r) >= 2 for r in readings.values())
    assert readings["行"] and set(readings["行"]) >= {"xing2", "hang2"}
    folder = build_g2pw_folder(tmp_path / "G2PWModel", readings, TINY, vocab_chars="今天我觉得还行你呢")
    assert all((folder / name).is_file() for name in FILES)
    try:
        res = {p: child(folder, 2, p) for p in ("fp32", "int8")}
    finally:
        g2pw.reset()
    for precision, r in res.items():
        assert r["precision"] == precision and r["chars"] == 48 and r["g2pw_asked"] >= 3
        assert r["rules_ms"] > 0 and r["g2pw_ms"] > 0 and r["g2pw_cpu_ms"] > 0 and r["g2pw_rss_mb"] is not None
    text = format_frontend({**res, "quantize_s": 0.1, "cpu": "test CPU", "cpus": 2, "load": 0.5, "runs": 2})
    assert "rules:" in text and "g2pW fp32:" in text and "g2pW int8:" in text and "test CPU" in text
