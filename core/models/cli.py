"""`voicebank models`: list what is installed, import files the user has, download the rest.

Exit codes: 0 done / everything installed; 1 something is missing or failed (the message says what);
2 bad arguments; 130 cancelled (Ctrl-C; a download resumes next time).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from core.models.manifest import ManifestError
from core.models.store import Cancelled, ModelStoreError, default_manifest, mb, status
from core.paths import models_dir


def add_models_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("models", help="list, import or download the base model files",
                              description="The GPT-SoVITS v2 base files and feature models the voice needs.")
    p.set_defaults(func=cmd_models, models_cmd="list")
    sub = p.add_subparsers(dest="models_cmd", metavar="ACTION")
    ls = sub.add_parser("list", help="show what is installed and what is missing (the default)")
    for q in (p, ls):
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.add_argument("--rehash", action="store_true", help="re-check every file's SHA-256, ignoring the cache")
    imp = sub.add_parser("import", help="import files from a folder (e.g. GPT_SoVITS/pretrained_models) or a .zip")
    imp.add_argument("path", help="folder, .zip or single file")
    dl = sub.add_parser("download", help="download the missing files (resumes an interrupted download)")
    dl.add_argument("models", nargs="*", metavar="MODEL",
                    help="only these models (default: all the required ones; name an optional one, "
                         "e.g. g2pw, to get it)")
    dl.add_argument("--purpose", choices=("speak", "train"), help="only the files needed for this")
    dl.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server (default 30)")
    return p


def cmd_models(args) -> int:
    try:
        action = getattr(args, "models_cmd", None) or "list"
        if action == "import":
            return _cmd_import(args)
        if action == "download":
            return _cmd_download(args)
        return _cmd_list(args)
    except ManifestError as exc:
        print(f"voicebank models: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nvoicebank models: cancelled. An interrupted download continues where it stopped next time.",
              file=sys.stderr)
        return 130


def _cmd_list(args) -> int:
    man = default_manifest()
    every = status(rehash=getattr(args, "rehash", False), optional=True)
    optional = {m.id for m in man.models if m.optional}
    states = [s for s in every if s.model not in optional]     # what readiness depends on
    if getattr(args, "json", False):
        print(json.dumps({
            "models_dir": str(models_dir()),
            "ready": all(s.installed for s in states),
            "files": [{"model": s.model, "file": s.file, "path": str(s.path), "state": s.state,
                       "detail": s.detail, "hash_source": s.hash_source, "optional": s.model in optional}
                      for s in every],
        }, ensure_ascii=False, indent=2))
        return 0 if all(s.installed for s in states) else 1
    print(f"Models folder: {models_dir()}")
    for spec in man.models:
        extra = " [optional: the app works without it]" if spec.optional else ""
        print(f"\n{spec.id}  ({spec.licence}) {spec.title}{extra}")
        for s in (s for s in every if s.model == spec.id):
            f = spec.file(s.file)
            size = mb(f.display_size) if f.size is not None or f.approx_size is None \
                else f"about {mb(f.approx_size)}"
            print(f"  {s.state:<11} {s.file}  [{size}]")
            if s.detail != "not installed":
                print(f"              {s.detail}")
    speak = all(s.installed for s in states if "speak" in man.file(s.model, s.file).needed_for)
    train = all(s.installed for s in states)
    print(f"\nReady to speak: {'yes' if speak else 'no'}; ready to train: {'yes' if train else 'no'}.")
    if not train:
        print("Get the missing files with `voicebank models download`, or, without internet, "
              "`voicebank models import PATH` (a GPT-SoVITS pretrained_models folder or a .zip of it).")
    for spec in man.models:
        if spec.optional and not all(s.installed for s in every if s.model == spec.id):
            print(f"Optional, not installed: {spec.id} ({spec.purpose}). Get it with `voicebank models "
                  f"download {spec.id}` or import its folder or zip.")
    return 0 if train else 1


def _cmd_import(args) -> int:
    from core.models.importer import import_from
    bar = _Bar(sys.stderr)
    try:
        report = import_from(Path(args.path), progress=lambda key, done, total: bar.update(key, done, total))
    except ModelStoreError as exc:
        bar.end()
        print(f"voicebank models import: {exc}", file=sys.stderr)
        return 130 if isinstance(exc, Cancelled) else 1
    bar.end()
    print(report.summary())
    if not report.items:
        print("None of the base model files were found there.", file=sys.stderr)
        return 1
    return 1 if report.rejected else 0


def _cmd_download(args) -> int:
    from core.models.download import download_missing
    man = default_manifest()
    known = {m.id for m in man.models}
    unknown = [m for m in args.models if m not in known]
    if unknown:
        print(f"voicebank models download: unknown model(s) {', '.join(unknown)}; "
              f"known: {', '.join(sorted(known))}", file=sys.stderr)
        return 2
    bar = _Bar(sys.stderr)
    try:
        results = download_missing(args.models or None, purpose=args.purpose, timeout=args.timeout,
                                   progress=lambda f, done, total: bar.update(f.key, done, total))
    except ModelStoreError as exc:
        bar.end()
        print(f"voicebank models download: {exc}", file=sys.stderr)
        return 130 if isinstance(exc, Cancelled) else 1
    bar.end()
    if not results:
        print("Everything requested is already installed.")
    for r in results:
        resumed = f", resumed at {mb(r.resumed_from)}" if r.resumed_from else ""
        print(f"installed {r.file.key} ({mb(r.size)}{resumed}): {r.detail}")
    if any(r.first_use for r in results):
        print("Note: no published hash is known for some files; the SHA-256 of this first download was "
              "recorded and later copies are checked against it.")
    return 0


class _Bar:
    """A one-line progress bar; redraws at most 10 times a second."""

    def __init__(self, out: TextIO, width: int = 28) -> None:
        self.out, self.width = out, width
        self.key: str | None = None
        self.last = 0.0

    def update(self, key: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if key == self.key and now - self.last < 0.1 and not finished:
            return
        if key != self.key and self.key is not None:
            self.out.write("\n")
        self.key, self.last = key, now
        if total:
            frac = min(1.0, done / total)
            fill = int(frac * self.width)
            line = f"{key}  [{'#' * fill}{'.' * (self.width - fill)}] {frac:4.0%}  {mb(done)} / {mb(total)}"
        else:
            line = f"{key}  {mb(done)}"
        self.out.write("\r" + line)
        self.out.flush()

    def end(self) -> None:
        if self.key is not None:
            self.out.write("\n")
            self.out.flush()
            self.key = None
