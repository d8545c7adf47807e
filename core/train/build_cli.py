"""`voicebank build`: fine-tune a personal voice from a speaker's takes, in this process.

    voicebank build --speaker ada [--device cpu|cuda|auto] [--gpus N] [--steps N] [--include-red]
    voicebank build --speaker ada --zero-shot        # a first version at once, no training

Progress is one line on stderr (stage, step/total, loss, time left). Ctrl+C stops at the next
step and keeps the checkpoint; running the same command again resumes. The checkpoints live in
`<speaker folder>/builds/current/` (the GUI's build uses the same folder) and are removed once
the voice is made. Exit status: 0 done (stdout: the voice folder), 1 not ready or failed (the
message says what to do), 130 cancelled.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from core.timefmt import format_eta

__all__ = ["add_build_parser", "cmd_build", "ProgressLine", "format_eta"]

# What to do about missing base models and consent, in command-line words (the build's own
# messages name the Build and Speaker pages, where most people meet them).
CLI_GET_MODELS = ("Install the missing base models with `voicebank models download`, or, without internet, "
                  "`voicebank models import FOLDER` (a GPT-SoVITS pretrained_models folder or a .zip of it).")

STAGE_NAMES = {"features": "preparing recordings", "sovits": "training the sound (SoVITS)",
               "gpt": "training the speaking style (GPT)", "export": "saving the voice"}


def add_build_parser(subparsers) -> argparse.ArgumentParser:
    from core.bank.speaker_lookup import SPEAKER_HELP

    p = subparsers.add_parser(
        "build", help="build (fine-tune) a personal voice from a speaker's recordings",
        description="Fine-tune GPT-SoVITS v2 on a speaker's takes. Stopping (Ctrl+C) keeps the work "
                    "done; the same command resumes it.")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to train (default: a GPU if there is one)")
    p.add_argument("--gpus", type=int, metavar="N",
                   help="train on N GPUs at once (torch.distributed); default: all of them when "
                        "there are several. With --device cpu: N CPU processes (for testing)")
    p.add_argument("--steps", type=int, metavar="N", help="stop after N training steps (a quick, rough voice)")
    p.add_argument("--include-red", action="store_true", help="also train on takes graded red")
    p.add_argument("--zero-shot", action="store_true",
                   help="make a first version at once from one take, without training")
    p.add_argument("--take", help="with --zero-shot: the take (or prompt) id to imitate, 3-10 s (default: chosen for you)")
    g = p.add_argument_group("base files (default: the models folder, see `voicebank models`)")
    g.add_argument("--base-gpt", help="GPT base checkpoint (.ckpt)")
    g.add_argument("--base-sovits-g", help="SoVITS generator base (.pth)")
    g.add_argument("--base-sovits-d", help="SoVITS discriminator base (.pth)")
    g.add_argument("--hubert", help="chinese-hubert-base folder")
    g.add_argument("--bert", help="chinese-roberta-wwm-ext-large folder")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)     # tests: where checkpoints go
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--min-minutes", type=float, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_build)
    return p


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cli_blockers(blockers: list[str], speaker_id: str) -> list[str]:
    """The build's blockers in command-line words, the what-to-do about base models said once
    (after the last missing model) rather than after each of them."""
    from core.train.errors import GET_MODELS
    from core.trust.consent import NEED_CONSENT

    record = f"`voicebank consent --speaker {speaker_id} --record`"
    out, last_model = [], None
    for blocker in blockers:
        if blocker == NEED_CONSENT:
            blocker = (f"Record the consent statement first with {record}: the person whose voice "
                       "is recorded reads it aloud once.")
        elif blocker.endswith(GET_MODELS):
            blocker, last_model = blocker[: -len(GET_MODELS)].rstrip(), len(out)
        out.append(blocker)
    if last_model is not None:
        out[last_model] += " " + CLI_GET_MODELS
    return out


class ProgressLine:
    """One redrawn line per stage on a terminal; one line per update (at most every 2 s) otherwise."""

    def __init__(self, out: TextIO, width: int = 24) -> None:
        self.out, self.width = out, width
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.stage: str | None = None
        self.last = 0.0
        self.open = False

    def update(self, p: Any) -> None:
        now = time.monotonic()
        finished = p.total and p.step >= p.total
        new_stage = p.stage != self.stage
        if not new_stage and not finished and now - self.last < (0.2 if self.tty else 2.0):
            return
        if new_stage and self.open:
            self.end()
        self.stage, self.last = p.stage, now
        name = STAGE_NAMES.get(p.stage, p.stage)
        if p.total:
            frac = min(1.0, max(0.0, p.step / p.total))
            fill = int(frac * self.width)
            bar = f"[{'#' * fill}{'.' * (self.width - fill)}] {p.step}/{p.total}"
        else:
            bar = f"{p.step}" if p.step else ""
        parts = [f"{name}", bar]
        if p.epoch is not None:
            parts.append(f"epoch {p.epoch}")
        if p.loss is not None:
            parts.append(f"loss {p.loss:.3g}")
        eta = format_eta(p.eta_s)
        if eta:
            parts.append(eta)
        line = "  ".join(x for x in parts if x)
        if self.tty:
            self.out.write("\r" + line.ljust(100)[:max(len(line), 100)])
            self.open = True
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def end(self) -> None:
        if self.open:
            self.out.write("\n")
            self.out.flush()
            self.open = False


class _CtrlC:
    """The first Ctrl+C asks the build to stop at its next step (it saves a checkpoint); a second
    one stops at once (the last checkpoint is still there)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._old: Any = None

    def __enter__(self) -> "_CtrlC":
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        _say("\nStopping after the current step (the work so far is saved). Press Ctrl+C again to stop at once.")

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def cmd_build(args) -> int:
    from core.train.errors import GET_MODELS
    from core.bank.speaker_lookup import find_speaker
    from core.bank.store import Bank, BankError
    from core.voices.files import default_build_dir

    bank_arg = getattr(args, "bank", None)
    try:
        speaker = find_speaker(Bank(Path(bank_arg) if bank_arg else None), args.speaker)
    except BankError as exc:
        _say(f"voicebank build: {exc}")
        return 1
    if args.steps is not None and args.steps < 1:
        _say("voicebank build: --steps must be 1 or more.")
        return 2
    if getattr(args, "gpus", None) is not None and args.gpus < 1:
        _say("voicebank build: --gpus must be 1 or more.")
        return 2
    try:
        import importlib
        tb = importlib.import_module("core.train.build")
    except ImportError as exc:
        _say(f"voicebank build: the training part of the app is not installed or is incomplete ({exc}). "
             "Reinstall the app.")
        return 1

    try:
        if args.zero_shot:
            take = None
            if args.take:
                from core.bank.lookup import UnknownTakeError, find_take
                try:
                    take = find_take(speaker, args.take)
                except UnknownTakeError as exc:
                    _say(f"voicebank build: {exc}")
                    return 1
            voice_dir = tb.make_zero_shot_voice(speaker, take=take)
            print(voice_dir)
            return 0
        cfg = tb.BuildConfig(
            speaker_id=speaker.id, bank_root=speaker.folder.parent, device=args.device,
            max_steps=args.steps, include_red=args.include_red, batch_size=args.batch_size,
            base_gpt=_path(args.base_gpt), base_sovits_g=_path(args.base_sovits_g),
            base_sovits_d=_path(args.base_sovits_d), hubert=_path(args.hubert), bert=_path(args.bert))
        if getattr(args, "gpus", None) is not None and hasattr(cfg, "gpus"):
            cfg.gpus = args.gpus
        if args.min_minutes is not None and hasattr(cfg, "min_minutes"):
            cfg.min_minutes = args.min_minutes
        blockers = tb.check_ready(cfg)
        if blockers:
            _say(f"voicebank build: {speaker.name}'s voice cannot be built yet:")
            for blocker in cli_blockers(blockers, speaker.id):
                _say(f"  - {blocker}")
            return 1
        minutes, takes = tb.usable_audio(speaker, include_red=args.include_red)
        job_dir = Path(args.job_dir) if args.job_dir else default_build_dir(speaker.folder)
        resuming = job_dir.is_dir() and any(job_dir.iterdir())
        _say(f"{'Resuming' if resuming else 'Building'} {speaker.name}'s voice from {minutes:.1f} min "
             f"of audio ({takes} takes); checkpoints in {job_dir}. Ctrl+C stops and keeps the work.")
        job_dir.mkdir(parents=True, exist_ok=True)
        bar = ProgressLine(sys.stderr)
        with _CtrlC() as ctrl_c:
            try:
                voice_dir = tb.build_voice(cfg, job_dir, progress=bar.update, cancel=ctrl_c.event.is_set)
            finally:
                bar.end()
    except KeyboardInterrupt:
        _say("voicebank build: stopped. The last checkpoint is kept; run the same command again to resume.")
        return 130
    except tb.BuildCancelled:
        _say("voicebank build: stopped. The work so far is saved; run the same command again to resume.")
        return 130
    except tb.BuildError as exc:
        _say(f"voicebank build: {str(exc).replace(GET_MODELS, CLI_GET_MODELS)}")
        if not args.zero_shot:
            _say("The work done so far is kept: run the same command again to continue.")
        return 1
    except Exception as exc:  # noqa: BLE001 - one plain message, never a traceback
        if os.environ.get("VOICEBANK_DEBUG"):
            raise
        _say(f"voicebank build: something went wrong ({type(exc).__name__}: {exc}). The work so far is "
             "kept; run the same command again, and if it fails again set VOICEBANK_DEBUG=1 and send "
             "the output to the developers.")
        return 1
    if not args.job_dir:
        import shutil
        shutil.rmtree(job_dir, ignore_errors=True)
    print(voice_dir)
    _say(f"Done: {speaker.name}'s voice is in {voice_dir}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voicebank")
    parser.add_argument("--bank")
    add_build_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
