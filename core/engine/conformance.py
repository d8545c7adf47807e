"""Check this engine against the reference outputs of the original GPT-SoVITS v2.

    python -m core.engine.conformance DIR [--tolerance 1e-4]

DIR holds `s2G_tiny.pth`, `s1_tiny.ckpt` and `expected.pt` (laid out like
../shared/reference/gpt-sovits-v2). Prints a JSON report of every expected output with its
relative error ||ours - ref|| / ||ref|| (codes and tokens: mismatches, which must be 0) and
exits 1 if any exceeds the tolerance, 2 if the files cannot be read.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

EXACT = {"codes", "greedy_tokens"}   # discrete outputs: any mismatch fails


def run(folder: Path, tolerance: float = 1e-4) -> dict:
    import torch

    from core.engine.gpt import check_gpt, load_gpt
    from core.torchfile import VOICE_FILE_LIMIT, load_torch_file
    from core.engine.sovits import check_sovits, load_sovits

    torch.manual_seed(0)
    expected = load_torch_file(folder / "expected.pt", limit=VOICE_FILE_LIMIT)
    errors = {}
    with torch.no_grad():
        errors.update(check_sovits(load_sovits(folder / "s2G_tiny.pth"), expected))
        errors.update(check_gpt(load_gpt(folder / "s1_tiny.ckpt"), expected))
    outputs = {}
    for name, err in sorted(errors.items()):
        limit = 0.0 if name in EXACT else tolerance
        ok = err is not None and math.isfinite(err) and err <= limit
        outputs[name] = {"error": err, "limit": limit, "ok": ok}
    return {"folder": str(folder), "tolerance": tolerance, "ok": all(o["ok"] for o in outputs.values()),
            "outputs": outputs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.engine.conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args(argv)
    missing = [n for n in ("s2G_tiny.pth", "s1_tiny.ckpt", "expected.pt") if not (args.folder / n).is_file()]
    if missing:
        print(json.dumps({"ok": False, "error": f"missing in {args.folder}: {', '.join(missing)}"}))
        return 2
    try:
        report = run(args.folder, args.tolerance)
    except Exception as exc:   # a damaged file: report it in the same JSON shape
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 2
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
