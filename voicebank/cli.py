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
    from core.bank.recovery import recover
    from core.bank.store import Bank
    bank = Bank(Path(args.bank) if args.bank else None)
    for message in recover(bank.root).messages():   # a restore a kill cut short: finish or undo it
        print(message, file=sys.stderr)
    return bank


def _speaker(args):
    """The speaker `--speaker` names: the id, or the name the app shows."""
    from core.bank.speaker_lookup import find_speaker
    return find_speaker(_bank(args), args.speaker)


NO_SCREEN = ("voicebank gui: there is no screen to show the window on (DISPLAY and WAYLAND_DISPLAY are "
             "not set). Start it from the computer's own desktop, or over ssh with `ssh -X`; every other "
             "command works without a screen (`voicebank --help`).")


def no_screen() -> bool:
    """On Linux, no display for the window: Qt would abort (exit 134) with a message about a
    missing xcb library. QT_QPA_PLATFORM=offscreen (tests) or another platform needs none."""
    import os
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform and platform not in ("xcb", "wayland", "wayland-egl"):
        return False
    x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if platform == "xcb":
        return not x11
    if platform.startswith("wayland"):
        return not wayland
    return not (x11 or wayland)


def cmd_gui(args) -> int:
    if no_screen():
        print(NO_SCREEN, file=sys.stderr)
        return 2
    from desktop.app import main as gui_main
    argv = ["voicebank"] + (["--bank", args.bank] if args.bank else [])
    return gui_main(argv)


def cmd_check(args) -> int:
    from core.audio.cli_words import in_cli_words
    from core.audio.io import AudioFileError, read_audio
    from core.audio.quality import analyze, format_report

    from core.textcheck import printable

    results, failed = [], 0
    for name in args.files:
        shown = printable(name)         # a name that is not UTF-8 still prints
        try:
            clip = read_audio(name)
            report = analyze(clip.samples, clip.sample_rate, text=args.text)
            for problem in report.problems:         # "press R" means nothing in a terminal
                problem.message = in_cli_words(problem.message)
        except AudioFileError as exc:
            failed += 1
            results.append({"file": shown, "error": str(exc)})
            if not args.json:
                print(f"{shown}\n  cannot check: {exc}\n")
            continue
        # a cut-off or damaged file is still checked, as far as it goes, with a warning
        warnings = [w for w in (
            clip.cut_off_message() and f"{clip.cut_off_message()} The report is for the part that is there.",
            clip.damaged_message() and f"{clip.damaged_message()} They were read as silence.") if w]
        results.append({"file": shown, "channels": clip.channels, "format": clip.format,
                        "subtype": clip.subtype, "report": report.to_dict(),
                        **({"warnings": warnings} if warnings else {})})
        if not args.json:
            note = f"  ({clip.channels} channels mixed to mono)\n" if clip.channels > 1 else ""
            note += "".join(f"  warning: {w}\n" for w in warnings)
            print(format_report(report, shown) + "\n" + note)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 1 if failed else 0


def cmd_detect(args) -> int:
    from core.audio.io import AudioFileError, read_audio
    from core.watermark import describe, detect

    from core.textcheck import printable

    results, failed = [], 0
    for name in args.files:
        shown = printable(name)
        try:
            clip = read_audio(name, max_seconds=3600)
        except AudioFileError as exc:
            failed += 1
            results.append({"file": shown, "error": str(exc)})
            if not args.json:
                print(f"{shown}: cannot check: {exc}")
            continue
        found = detect(clip.samples, clip.sample_rate)
        results.append({"file": shown, **found.to_dict()})
        if not args.json:
            print(f"{shown}: {describe(found)}")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 1 if failed else 0


def cmd_denoise(args) -> int:
    from core.audio.denoise import DenoiserUnavailable, denoise
    from core.audio.io import AudioFileError, read_audio, write_wav
    from core.textcheck import printable

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
    if clip.cut_off:
        print(f"voicebank denoise: warning: {clip.cut_off_message()} Only that part is cleaned.",
              file=sys.stderr)
    from core.diskspace import DiskFullError, reporting_disk_full
    try:
        with reporting_disk_full(f"the cleaned copy {printable(dst.name)} could not be written", dst.parent,
                                 needed_bytes=2 * len(result.cleaned) + 44,
                                 kept=f"{printable(src.name)} is unchanged and nothing half-written "
                                      "was left behind."):
            write_wav(dst, result.cleaned, clip.sample_rate)
    except DiskFullError as exc:
        print(f"voicebank denoise: {exc}", file=sys.stderr)
        return 1
    voiced = float((result.vad_prob > 0.5).mean()) if len(result.vad_prob) else 0.0
    print(f"wrote {printable(dst)} ({clip.duration:.1f} s at {clip.sample_rate} Hz; voice in {voiced:.0%} of frames)")
    return 0


def cmd_speakers(args) -> int:
    from core.bank.process import ungraded_takes

    bank = _bank(args)
    speakers = bank.speakers()
    if not speakers:
        print(f"No speakers yet in {bank.root}. Start the app with `voicebank gui` to create one.")
    unchecked = 0
    for sp in speakers:
        p = sp.progress()
        waiting = len(ungraded_takes(sp))
        unchecked += waiting
        # done = a usable latest take (a ✗ Redo one is still to record); skipped prompts not counted
        print(f"{sp.id}\t{sp.name}\t{','.join(sp.info.languages)}\t"
              f"{p.prompts_done}/{p.prompts_total} prompts\t{p.minutes_recorded:.1f} min usable"
              + (f"\t{p.red_takes} to redo" if p.red_takes else "")
              + (f"\t{p.skipped} skipped" if p.skipped else "")
              + (f"\t{waiting} not checked" if waiting else ""))
    if unchecked:
        print(f"{unchecked} take(s) still need their check (the app stopped while checking them, or "
              "older rules graded them). `voicebank recheck` checks them now; the app also does when it starts.")
    return 0


def cmd_recheck(args) -> int:
    from core.bank.process import recheck_ungraded

    def show(take, error) -> None:
        print(f"{take.prompt_id}/{take.id}\t" + (f"could not be checked: {error}" if error
                                                 else (take.grade or "?")))

    summary = recheck_ungraded(_bank(args), on_done=show)
    print(summary.describe() or "Every take is checked; there was nothing to do.")
    return 1 if summary.failed else 0


def cmd_devices(args) -> int:
    from core.audio.capture import AudioDeviceError, list_input_devices
    from core.audio.cli_words import in_cli_words
    try:
        devices = list_input_devices()
    except AudioDeviceError as exc:
        print(f"voicebank devices: {in_cli_words(str(exc))}", file=sys.stderr)
        return 1
    if not devices:
        print("voicebank devices: no microphone was found. Plug one in (a USB headset works well), "
              "then run `voicebank devices` again.", file=sys.stderr)
        return 1
    for dev in devices:
        print(f"{dev.index}\t{dev.label}\t{dev.channels} ch\t{dev.default_samplerate:.0f} Hz")
    return 0


def cmd_export(args) -> int:
    from core.bank.export import export_dataset
    summary = export_dataset(_speaker(args), Path(args.out),
                             use_clean=not args.raw, include_red=args.include_red,
                             sample_rate=args.sample_rate)
    print(f"wrote {summary.clips} clips ({summary.seconds / 60:.1f} min) to {summary.folder}"
          + (f"; left out {summary.skipped_red} red takes (--include-red keeps them)" if summary.skipped_red else ""))
    return 0


def cmd_export_messages(args) -> int:
    from core.speak.aac_export import INDEX_NAME, export_messages
    from core.textcheck import printable
    result = export_messages(_speaker(args), Path(args.out), target_lufs=args.loudness,
                             sample_rate=args.sample_rate)
    print(f"wrote {len(result.exported)} messages ({result.seconds:.1f} s) to {printable(result.folder)}; "
          f"{INDEX_NAME} lists them (text, file, duration_s, recorded). Import the folder as message "
          "banking recordings in your AAC software (Grid 3, TD Snap...).")
    for left in result.left_out:
        print(left.line())
    return 0


def cmd_backup(args) -> int:
    from core.bank.export import backup_speaker
    path = backup_speaker(_speaker(args), Path(args.out))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_restore(args) -> int:
    from core.bank.restore import restore_speaker
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


BANK_HELP = "the bank folder, e.g. on a USB stick (default: $VOICEBANK_HOME, or your user data folder)"


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):     # aliases list a parser twice
                yield sub
                yield from _subparsers(sub)


def allow_global_options_anywhere(parser: argparse.ArgumentParser) -> None:
    """`voicebank speakers --bank X` as well as `voicebank --bank X speakers`: every command also
    takes --bank. SUPPRESS: given only before the command, the subcommand leaves it alone."""
    for sub in _subparsers(parser):
        if "--bank" not in sub._option_string_actions:
            sub.add_argument("--bank", default=argparse.SUPPRESS, help=BANK_HELP)


def build_parser() -> argparse.ArgumentParser:
    from core.bank.speaker_lookup import SPEAKER_HELP

    parser = argparse.ArgumentParser(prog="voicebank", description="Bank your voice and speak in it, offline.")
    parser.add_argument("--bank", help=BANK_HELP)
    parser.add_argument("--version", action="version", version=f"voicebank {app_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("selftest", help="check that every part of this installation works")
    p.add_argument("--record", type=float, default=0.0, metavar="SECONDS",
                   help="also record this long from the default microphone into a throw-away bank")
    p.set_defaults(func=cmd_selftest)

    sub.add_parser("gui", help="start the desktop app").set_defaults(func=cmd_gui)

    p = sub.add_parser("check", help="print the quality report of audio files")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files to check (WAV, FLAC, OGG, ...)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--text", help="what the recording says (enables the speaking-rate check)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("detect", help="tell whether audio files were made by voicebank (its watermark)")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files to look for the watermark in")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("denoise", help="write an RNNoise-cleaned copy of a recording")
    p.add_argument("input", metavar="IN", help="the recording to clean (it is never changed)")
    p.add_argument("output", metavar="OUT", help="the cleaned copy to write (a new WAV file)")
    p.set_defaults(func=cmd_denoise)

    sub.add_parser("speakers", help="list the speakers in the bank").set_defaults(func=cmd_speakers)
    sub.add_parser("recheck", help="check the takes a crash left without a grade or cleaned copy"
                   ).set_defaults(func=cmd_recheck)
    sub.add_parser("devices", help="list microphones").set_defaults(func=cmd_devices)

    p = sub.add_parser("export-dataset", help="write a speaker's takes as an LJSpeech-style dataset")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.add_argument("out", metavar="OUT_DIR", help="the folder to write metadata.csv and wavs/ into")
    p.add_argument("--raw", action="store_true", help="export the raw takes instead of the cleaned copies")
    p.add_argument("--include-red", action="store_true", help="also export takes graded red")
    p.add_argument("--sample-rate", type=int, metavar="HZ", help="resample to this rate (default: keep 48000)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export-messages", help="your own recorded messages as WAV files named by "
                       "their words, for AAC software (Grid 3, TD Snap)")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.add_argument("out", metavar="OUT", help="a new (or empty) folder to write the WAVs and index.csv into")
    p.add_argument("--loudness", type=float, default=-20.0, metavar="LUFS",
                   help="bring every message to this loudness (default -20 LUFS; peaks never clip)")
    p.add_argument("--sample-rate", type=int, metavar="HZ", help="resample to this rate (default: keep 48000)")
    p.set_defaults(func=cmd_export_messages)

    p = sub.add_parser("backup", help="zip a speaker's whole folder")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.add_argument("out", metavar="OUT.zip", help="the zip file to write")
    p.set_defaults(func=cmd_backup)

    from core.runtime.speak_cli import add_speak_parser
    from core.models.cli import add_models_parser
    from core.bench.cli import add_bench_parser
    from core.train.build_cli import add_build_parser
    add_models_parser(sub)
    add_speak_parser(sub)
    add_build_parser(sub)
    add_bench_parser(sub)
    from core.voices.cli import add_voice_parsers
    add_voice_parsers(sub)
    from core.trust.consent_cli import add_consent_parser
    add_consent_parser(sub)
    from core.service.cli import add_serve_parser
    add_serve_parser(sub)
    from voicebank.system_voice import add_system_voice_parser
    add_system_voice_parser(sub)

    p = sub.add_parser("restore", help="restore a speaker from a backup zip")
    p.add_argument("zip", metavar="BACKUP.zip", help="a zip made by `voicebank backup`")
    p.add_argument("--replace", action="store_true", help="replace a speaker of the same name (the old one is kept aside)")
    p.set_defaults(func=cmd_restore)
    allow_global_options_anywhere(parser)
    return parser


# Arguments that are text to store or match (names, ids, what to say), not file paths: a value
# that is not UTF-8 (a terminal in another encoding) is refused before anything is created.
# Paths may be any bytes the file system allows and are left alone.
TEXT_ARGUMENTS = {"speaker": "speaker", "donor": "--donor", "name": "--name", "text": "--text",
                  "ref_text": "--ref-text", "voice": "--voice", "take": "--take"}


def text_argument_problem(args: argparse.Namespace) -> str | None:
    """A plain message for the first text argument that cannot be stored, else None."""
    from core.textcheck import REPLACEMENT, printable, storable

    for dest, label in TEXT_ARGUMENTS.items():
        value = getattr(args, dest, None)
        if isinstance(value, str) and not storable(value):
            return (f"the {label} value “{printable(value)}” has a character that is not UTF-8 text "
                    f"(shown as {REPLACEMENT}), so it cannot be saved. Type it again, or set the "
                    "terminal to UTF-8 (for example LANG=C.UTF-8).")
    return None


def _never_fail_to_print() -> None:
    """A message naming a file that is not UTF-8 must not crash the terminal output."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if getattr(sys, "frozen", False):   # the speech service's engine process, in the frozen app
        import multiprocessing
        multiprocessing.freeze_support()
    if argv[:1] == ["--worker"]:
        # A frozen build has no separate python: the GUI starts this same binary with --worker.
        from core.worker.__main__ import main as worker_main
        return worker_main(argv[1:])
    if argv[:1] == ["say"]:
        # The system voice's client, run for every message: nothing else of the app is loaded.
        from voicebank.say_client import build_parser as say_parser, run as say_run
        return say_run(say_parser().parse_args(argv[1:]))
    from core.bank.store import BankError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _never_fail_to_print()
    problem = text_argument_problem(args)
    if problem:
        print(f"voicebank {args.command}: {problem}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except BankError as exc:
        print(f"voicebank {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # A full disk is one plain line, never a traceback: writers raise a worded DiskFullError,
        # and any other disk-full OSError still gets the same words.
        from core.diskspace import disk_full_text, is_disk_full
        if not is_disk_full(exc):
            raise
        print(f"voicebank {args.command}: {disk_full_text(exc, 'it could not finish writing')}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:         # `voicebank speakers | head`: the reader has all it wanted
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
