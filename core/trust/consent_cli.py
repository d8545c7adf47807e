"""`voicebank consent`: show, record or add the consent statement from a terminal.

The GUI's consent window is the usual way; this is for command-line builds and for people who
recorded the statement with another program. The audio is kept exactly as given, like a take.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_consent_parser(sub) -> None:
    from core.bank.speaker_lookup import SPEAKER_HELP

    p = sub.add_parser("consent", help="show, record or add the speaker's consent statement")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.add_argument("--language", choices=("zh", "en"), help="language of the statement (default: the speaker's first)")
    p.add_argument("--donor", metavar="NAME",
                   help="a relative donating their voice for the speaker: the donor's own name")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--record", action="store_true",
                     help="record the statement from the microphone; press Enter when done")
    how.add_argument("--file", metavar="WAV", help="add a recording of the statement made elsewhere")
    p.set_defaults(func=cmd_consent)


def _print_statement(text: str) -> None:
    print("\n  " + text.replace("\n", "\n  ") + "\n")


def _record(speaker, text: str, language: str, role: str, name: str, patient: str):
    from core.audio.capture import AudioDeviceError, Recorder
    from core.audio.cli_words import in_cli_words
    from core.trust.consent import ConsentWriter

    recorder = Recorder()
    try:
        recorder.open()
    except AudioDeviceError as exc:
        raise SystemExit(f"voicebank consent: {in_cli_words(str(exc))}")
    writer = ConsentWriter(speaker, text, language, recorder.sample_rate, role=role, name=name, patient=patient)
    try:
        recorder.start_capture(writer)
        print("Recording. Read the statement aloud, then press Enter.", flush=True)
        try:
            sys.stdin.readline()
        finally:
            recorder.stop_capture()
        status = recorder.status()
        error = status.error
    except BaseException:
        writer.abort()
        raise
    finally:
        recorder.close()
    if status.write_error:      # the disk filled up: the message says what is kept and what to do
        print(f"voicebank consent: {in_cli_words(str(status.write_error))}", file=sys.stderr)
    elif error:
        print(f"voicebank consent: the microphone stopped ({error}); what was recorded is kept if long enough.",
              file=sys.stderr)
    return writer.finish()


def cmd_consent(args: argparse.Namespace) -> int:
    from core.audio.cli_words import in_cli_words
    from core.bank.speaker_lookup import find_speaker
    from core.bank.store import Bank
    from core.diskspace import DiskFullError, disk_full_message
    from core.trust.consent import (NOT_NUMBERS, ConsentError, NoSpeechError, current_consent,
                                    record_consent, statement)

    bank = Bank(Path(args.bank) if args.bank else None)
    speaker = find_speaker(bank, args.speaker)
    language = args.language or (speaker.info.languages or ["en"])[0]
    role = "donor" if args.donor else "self"
    name = args.donor or speaker.name
    try:
        text = statement(language, name, role=role, patient=speaker.name)
    except ConsentError as exc:
        print(f"voicebank consent: {exc}", file=sys.stderr)
        return 1
    try:
        if args.file:
            from core.audio.io import AudioFileError, display_name, read_audio
            shown = display_name(args.file)
            record_it = f"record the statement with `voicebank consent --speaker {speaker.id} --record`"
            try:
                clip = read_audio(Path(args.file))
            except AudioFileError as exc:
                print(f"voicebank consent: {exc}", file=sys.stderr)
                return 1
            # Each refusal happens before anything is written to the bank.
            if clip.cut_off:
                print(f"voicebank consent: {clip.cut_off_message()} A cut-off statement cannot count "
                      f"as consent; nothing was kept. Copy or export the whole file again, or {record_it}.",
                      file=sys.stderr)
                return 1
            if clip.nonfinite:
                print(f"voicebank consent: {shown}: " + NOT_NUMBERS.format(count=clip.nonfinite),
                      file=sys.stderr)
                return 1
            samples = clip.samples if clip.samples.ndim == 1 else clip.samples.mean(axis=1)
            try:
                record = record_consent(speaker, samples, clip.sample_rate, language, role=role,
                                        name=name, patient=speaker.name)
            except NoSpeechError:
                print(f"voicebank consent: no speech was heard in {shown}, so it was not kept. The "
                      f"consent statement must be read aloud by {name}. Check that it is the right "
                      f"file, or {record_it}.", file=sys.stderr)
                return 1
            except DiskFullError as exc:    # record_consent removed what it had written
                print("voicebank consent: " + disk_full_message(
                    f"{shown} could not be added as the consent recording", speaker.folder,
                    needed_bytes=2 * len(samples) + 65536, errno_=exc.errno), file=sys.stderr)
                return 1
        elif args.record:
            _print_statement(text)
            record = _record(speaker, text, language, role, name, speaker.name)
        else:
            current = current_consent(speaker)
            if current is None:
                print(f"{speaker.name} has no consent recording yet. Read this aloud with "
                      f"`voicebank consent --speaker {speaker.id} --record`:")
            else:
                print(f"Consent recorded on {current.date} by {current.name} ({current.role}); "
                      "to record it again, read this aloud with --record:")
            _print_statement(text)
            return 0
    except ConsentError as exc:
        print(f"voicebank consent: {in_cli_words(str(exc))}", file=sys.stderr)
        return 1
    print(f"Consent kept: {record.duration_s:.1f} s in {record.folder}. The build compares your "
          "recordings with it.")
    return 0
