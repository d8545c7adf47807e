"""`voicebank` command line: the GUI and the tools that work without it.

Heavy modules are imported inside each command so that `voicebank gui` starts fast and a
missing optional piece only affects the command that needs it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _bank(args):
    from core.bank.store import Bank
    return Bank(Path(args.bank) if args.bank else None)


def cmd_gui(args) -> int:
    from desktop.app import main as gui_main
    argv = ["voicebank"] + (["--bank", args.bank] if args.bank else [])
    return gui_main(argv)


def cmd_check(args) -> int:
    from core.audio.io import AudioFileError, read_audio
    from core.audio.quality import analyze, format_report

    results, failed = [], 0
    for name in args.files:
        try:
            clip = read_audio(name)
            report = analyze(clip.samples, clip.sample_rate, text=args.text)
        except AudioFileError as exc:
            failed += 1
            results.append({"file": name, "error": str(exc)})
            if not args.json:
                print(f"{name}\n  cannot check: {exc}\n")
            continue
        results.append({"file": name, "channels": clip.channels, "format": clip.format,
                        "subtype": clip.subtype, "report": report.to_dict()})
        if not args.json:
            note = f"  ({clip.channels} channels mixed to mono)\n" if clip.channels > 1 else ""
            print(format_report(report, name) + "\n" + note)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 1 if failed else 0


def cmd_detect(args) -> int:
    from core.audio.io import AudioFileError, read_audio
    from core.watermark import describe, detect

    results, failed = [], 0
    for name in args.files:
        try:
            clip = read_audio(name, max_seconds=3600)
        except AudioFileError as exc:
            failed += 1
            results.append({"file": name, "error": str(exc)})
            if not args.json:
                print(f"{name}: cannot check: {exc}")
            continue
        found = detect(clip.samples, clip.sample_rate)
        results.append({"file": name, **found.to_dict()})
        if not args.json:
            print(f"{name}: {describe(found)}")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 1 if failed else 0


def cmd_denoise(args) -> int:
    from core.audio.denoise import DenoiserUnavailable, denoise
    from core.audio.io import AudioFileError, read_audio, write_wav

    src, dst = Path(args.input), Path(args.output)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        print("The output must be a new file: the original recording is never overwritten.", file=sys.stderr)
        return 2
    try:
        clip = read_audio(src)
        result = denoise(clip.samples, clip.sample_rate)
    except (AudioFileError, DenoiserUnavailable) as exc:
        print(f"voicebank denoise: {exc}", file=sys.stderr)
        return 1
    write_wav(dst, result.cleaned, clip.sample_rate)
    voiced = float((result.vad_prob > 0.5).mean()) if len(result.vad_prob) else 0.0
    print(f"wrote {dst} ({clip.duration:.1f} s at {clip.sample_rate} Hz; voice in {voiced:.0%} of frames)")
    return 0


def cmd_speakers(args) -> int:
    bank = _bank(args)
    speakers = bank.speakers()
    if not speakers:
        print(f"No speakers yet in {bank.root}. Start the app with `voicebank gui` to create one.")
    for sp in speakers:
        p = sp.progress()
        print(f"{sp.id}\t{sp.name}\t{','.join(sp.info.languages)}\t"
              f"{p.prompts_done}/{p.prompts_total} prompts\t{p.minutes_recorded:.1f} min")
    return 0


def cmd_devices(args) -> int:
    from core.audio.capture import AudioDeviceError, NO_MICROPHONE, list_input_devices
    try:
        devices = list_input_devices()
    except AudioDeviceError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not devices:
        print(NO_MICROPHONE, file=sys.stderr)
        return 1
    for dev in devices:
        print(f"{dev.index}\t{dev.label}\t{dev.channels} ch\t{dev.default_samplerate:.0f} Hz")
    return 0


def cmd_export(args) -> int:
    from core.bank.export import export_dataset
    summary = export_dataset(_bank(args).speaker(args.speaker), Path(args.out),
                             use_clean=not args.raw, include_red=args.include_red,
                             sample_rate=args.sample_rate)
    print(f"wrote {summary.clips} clips ({summary.seconds / 60:.1f} min) to {summary.folder}"
          + (f"; left out {summary.skipped_red} red takes (--include-red keeps them)" if summary.skipped_red else ""))
    return 0


def cmd_backup(args) -> int:
    from core.bank.export import backup_speaker
    path = backup_speaker(_bank(args).speaker(args.speaker), Path(args.out))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_restore(args) -> int:
    from core.bank.export import restore_speaker
    speaker = restore_speaker(_bank(args), Path(args.zip), replace=args.replace)
    p = speaker.progress()
    print(f"restored {speaker.id} ({p.prompts_done} prompts, {p.minutes_recorded:.1f} min) into {speaker.folder}")
    return 0


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("voicebank")
    except PackageNotFoundError:
        return "unknown"


def cmd_selftest(args) -> int:
    from core.selftest import run_selftest
    return 1 if run_selftest(record_s=args.record) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebank", description="Bank your voice and speak in it, offline.")
    parser.add_argument("--bank", help="the bank folder (default: your user data folder, or $VOICEBANK_HOME)")
    parser.add_argument("--version", action="version", version=f"voicebank {app_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("selftest", help="check that every part of this installation works")
    p.add_argument("--record", type=float, default=0.0, metavar="SECONDS",
                   help="also record this long from the default microphone into a throw-away bank")
    p.set_defaults(func=cmd_selftest)

    sub.add_parser("gui", help="start the desktop app").set_defaults(func=cmd_gui)

    p = sub.add_parser("check", help="print the quality report of audio files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--text", help="what the recording says (enables the speaking-rate check)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("detect", help="tell whether audio files were made by voicebank (its watermark)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("denoise", help="write an RNNoise-cleaned copy of a recording")
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.set_defaults(func=cmd_denoise)

    sub.add_parser("speakers", help="list the speakers in the bank").set_defaults(func=cmd_speakers)
    sub.add_parser("devices", help="list microphones").set_defaults(func=cmd_devices)

    p = sub.add_parser("export-dataset", help="write a speaker's takes as an LJSpeech-style dataset")
    p.add_argument("--speaker", required=True)
    p.add_argument("out", metavar="OUT_DIR")
    p.add_argument("--raw", action="store_true", help="export the raw takes instead of the cleaned copies")
    p.add_argument("--include-red", action="store_true", help="also export takes graded red")
    p.add_argument("--sample-rate", type=int, help="resample to this rate (default: keep 48000)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("backup", help="zip a speaker's whole folder")
    p.add_argument("--speaker", required=True)
    p.add_argument("out", metavar="OUT.zip")
    p.set_defaults(func=cmd_backup)

    from core.engine.speak_cli import add_speak_parser
    from core.models.cli import add_models_parser
    from core.engine.bench_cli import add_bench_parser
    from core.train.build_cli import add_build_parser
    add_models_parser(sub)
    add_speak_parser(sub)
    add_build_parser(sub)
    add_bench_parser(sub)
    from core.voices.cli import add_voice_parsers
    add_voice_parsers(sub)
    from core.trust.consent_cli import add_consent_parser
    add_consent_parser(sub)

    p = sub.add_parser("restore", help="restore a speaker from a backup zip")
    p.add_argument("zip", metavar="BACKUP.zip")
    p.add_argument("--replace", action="store_true", help="replace a speaker of the same name (the old one is kept aside)")
    p.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        # A frozen build has no separate python: the GUI starts this same binary with --worker.
        from core.worker.__main__ import main as worker_main
        return worker_main(argv[1:])
    from core.bank.store import BankError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BankError as exc:
        print(f"voicebank {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
