"""`voicebank voice list|export|import|verify|delete` and `voicebank speaker delete`."""
from __future__ import annotations

import functools
import sys
from pathlib import Path


def _handled(fn):
    """A VoicePackageError becomes a message and exit status 1 (voicebank.cli handles BankError)."""
    @functools.wraps(fn)
    def wrapper(args) -> int:
        from core.voices.package import VoicePackageError

        try:
            return fn(args)
        except VoicePackageError as exc:
            print(f"voicebank {args.command}: {exc}", file=sys.stderr)
            return 1
    return wrapper


def _bank(args):
    from core.bank.store import Bank

    return Bank(Path(args.bank) if args.bank else None)


def _speaker(args):
    """The speaker `--speaker` names: the id, or the name the app shows."""
    from core.bank.speaker_lookup import find_speaker

    return find_speaker(_bank(args), args.speaker)


def _voices(speaker):
    from core.voices.card import list_voices

    return list_voices(speaker)


def _find_voice(speaker, voice_id: str | None) -> Path:
    from core.voices.package import VoicePackageError

    voices = _voices(speaker)
    if not voices:
        raise VoicePackageError(f"{speaker.name} has no voices yet. Build one first with "
                                f"`voicebank build --speaker {speaker.id}`.")
    if voice_id is None:
        return voices[-1][0]                                  # the newest
    for folder, card in voices:
        if card.id == voice_id or folder.name == voice_id:
            return folder
    known = ", ".join(card.id for _, card in voices)
    raise VoicePackageError(f"{speaker.name} has no voice {voice_id!r}. Their voices: {known} "
                            f"(`voicebank voice list --speaker {speaker.id}` shows more).")


def _confirm(what: str, token: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        print(f"Not deleted: add --yes to delete {what} without being asked.", file=sys.stderr)
        return False
    print(f"This deletes {what} for good; it cannot be undone.")
    return input(f"Type {token} to delete, or press Enter to keep it: ").strip() == token


def cmd_list(args) -> int:
    speaker = _speaker(args)
    voices = _voices(speaker)
    if not voices:
        print(f"{speaker.name} has no voices yet. Build one with `voicebank build --speaker {speaker.id}`.")
    for folder, card in voices:
        print(f"{card.id}\t{card.name}\t{card.kind}\t{card.data_minutes:g} min\t{card.created}\t{folder}")
    return 0


def cmd_export(args) -> int:
    from core.voices.export import export_voice

    speaker = _speaker(args)
    path = export_voice(_find_voice(speaker, args.voice), Path(args.out), speaker_name=speaker.name)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_import(args) -> int:
    from core.bank.speaker_lookup import find_speaker
    from core.bank.store import BankError
    from core.voices.package import import_voice

    bank = _bank(args)
    try:
        speaker = find_speaker(bank, args.speaker)
    except BankError as exc:
        if not args.create or any(s.name.casefold() == args.speaker.casefold() for s in bank.speakers()):
            hint = "" if args.create else " Or add --create to make a new speaker for this voice."
            raise BankError(f"{exc}{hint}") from None
        speaker = bank.create_speaker(args.speaker, ["zh", "en"])
        created = True
    else:
        created = False
    try:
        folder = import_voice(Path(args.file), speaker, name=args.name,
                              if_exists="refuse" if args.refuse_existing else "new-id")
    except BaseException:
        if created:     # the speaker was made for this voice alone: a refused import leaves none
            import shutil

            shutil.rmtree(speaker.folder, ignore_errors=True)
        raise
    print(f"imported voice {folder.name} into {speaker.id} ({folder})")
    return 0


def cmd_verify(args) -> int:
    from core.voices.package import verify_package

    manifest = verify_package(Path(args.file))
    card = manifest["card"]
    print(f"{args.file}: a sound voice package: {card.get('name')!r} ({card.get('kind')}), "
          f"{len(manifest['files'])} files, made {manifest.get('created')} by {manifest.get('app')}")
    return 0


def cmd_delete_voice(args) -> int:
    from core.voices.erase import delete_voice

    speaker = _speaker(args)
    folder = _find_voice(speaker, args.voice)
    if not _confirm(f"the voice {folder.name} of {speaker.id} (its models, reference, samples, "
                    "consent copy, cached phrases, what was said in it and the worker's scratch "
                    "files)", folder.name, args.yes):
        return 1
    print(delete_voice(folder, scratch=not args.keep_scratch).describe())
    return 0


def cmd_delete_speaker(args) -> int:
    from core.voices.erase import delete_speaker, speaker_files

    from core.bank.speaker_lookup import find_speaker

    bank = _bank(args)
    speaker = find_speaker(bank, args.speaker)
    paths = speaker_files(bank, speaker.id, scratch=not args.keep_scratch)
    listing = "\n".join(f"  {p}" for p in paths)
    if not _confirm(f"speaker {speaker.name} ({speaker.id}) and every file of theirs (recordings, voices, "
                    f"builds, caches, consent, what was said):\n{listing}\n", speaker.id, args.yes):
        return 1
    print(delete_speaker(bank, speaker.id, scratch=not args.keep_scratch).describe())
    return 0


def add_voice_parsers(sub) -> None:
    from core.bank.speaker_lookup import SPEAKER_HELP

    voice = sub.add_parser("voice", help="list, export, import or delete a speaker's voices")
    vsub = voice.add_subparsers(dest="voice_command", metavar="ACTION", required=True)

    p = vsub.add_parser("list", help="the speaker's voices")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.set_defaults(func=_handled(cmd_list))

    p = vsub.add_parser("export", help="write a voice as one .voicebank file")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.add_argument("--voice", help="the voice id (default: the newest)")
    p.add_argument("out", metavar="OUT.voicebank", help="the voice file to write")
    p.set_defaults(func=_handled(cmd_export))

    p = vsub.add_parser("import", help="check a .voicebank file and add its voice to a speaker")
    p.add_argument("file", metavar="FILE.voicebank", help="the voice file to import")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP + " (with --create: a new speaker's name)")
    p.add_argument("--create", action="store_true", help="create the speaker if there is none")
    p.add_argument("--name", help="a new display name for the voice")
    p.add_argument("--refuse-existing", action="store_true",
                   help="fail if the speaker has a voice with the same id (default: import under a new id)")
    p.set_defaults(func=_handled(cmd_import))

    p = vsub.add_parser("verify", help="check a .voicebank file without importing it")
    p.add_argument("file", metavar="FILE.voicebank", help="the voice file to check")
    p.set_defaults(func=_handled(cmd_verify))

    p = vsub.add_parser("delete", help="delete a voice and everything made from it")
    p.add_argument("--speaker", required=True, help=SPEAKER_HELP)
    p.add_argument("--voice", required=True, help="the voice id (`voicebank voice list` shows them)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--keep-scratch", action="store_true",
                   help="leave the worker's scratch folders (shared by all speakers) alone")
    p.set_defaults(func=_handled(cmd_delete_voice))

    speaker = sub.add_parser("speaker", help="delete a speaker and every file of theirs")
    ssub = speaker.add_subparsers(dest="speaker_command", metavar="ACTION", required=True)
    p = ssub.add_parser("delete", help="delete a speaker: recordings, voices, builds, caches, consent")
    p.add_argument("speaker", metavar="SPEAKER", help=SPEAKER_HELP)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--keep-scratch", action="store_true",
                   help="leave the worker's scratch folders (shared by all speakers) alone")
    p.set_defaults(func=_handled(cmd_delete_speaker))

