"""`voicebank system-voice install|remove|status`: the banked voice as a speech-dispatcher voice
(Linux), so that `spd-say -o voicebank` and Orca speak in it.

What install writes, for this user only, in ~/.config/speech-dispatcher/ ($XDG_CONFIG_HOME):

- modules/voicebank.conf: a configuration of speech-dispatcher's generic module (sd_generic). For
  each message it runs `voicebank/say_client.py` (stdlib only, started with `python -I -S`; the
  frozen app runs itself as `voicebank say`), which sends the text to the local speech service
  with the token and pipes the WAV that streams back to speech-dispatcher's $PLAY_COMMAND.
- speechd.conf: one block between two marker lines with `AddModule "voicebank" ...`. A missing
  speechd.conf starts as a copy of the system's; anything else in it is kept as it was. When the
  file has no AddModule line of its own, speech-dispatcher finds its modules by itself, and would
  stop doing so once one AddModule appears: the block then also names the modules it would have
  found (sd_* programs, and *-generic.conf files whose commands are installed).

Why a generic module and not one speaking speech-dispatcher's module protocol: the generic module
is speech-dispatcher's own, maintained code (its audio, its queue, killing the command on stop),
and all that is ours is a small configuration and a client of ~200 lines of standard library that
can be tested on its own. Stop is exact (the command's process group is killed, the connection
closes, the service cancels). What it cannot do is index marks, so pause is speech-dispatcher's
generic pause: the message being spoken finishes, and resume says it again from the start.

Install is idempotent (the block and the module file are written again, never twice) and remove
takes out exactly what install put in: the block, the module file, and speechd.conf itself when
install created it and nothing else was changed in it since.
"""
from __future__ import annotations

import glob
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MODULE = "voicebank"
MODULE_FILE = "voicebank.conf"
BEGIN = "# >>> voicebank system voice >>> (`voicebank system-voice remove` takes this block out)"
END = "# <<< voicebank system voice <<<"
HEADER = "# Written by `voicebank system-voice install`; `voicebank system-voice remove` deletes it."
SYSTEM_CONFIG = Path("/etc/speech-dispatcher")
MODULE_DIRS = ("/usr/lib/speech-dispatcher-modules", "/usr/lib/*/speech-dispatcher-modules",
               "/usr/libexec/speech-dispatcher-modules", "/usr/local/lib/speech-dispatcher-modules",
               "/usr/local/libexec/speech-dispatcher-modules")
ZH = ("zh", "zh-cn", "zh-tw", "zh-hk", "zh-sg", "cmn", "yue")
EN = ("en", "en-us", "en-gb", "en-au", "en-ca", "en-ie", "en-in", "en-nz", "en-za")
# Languages the generic module otherwise recodes to ISO-8859-1 (Chinese would become "???"):
# every one the module may be asked for is listed as UTF-8. The voice speaks Chinese and English;
# for any other, the text itself decides.
OTHER = ("c", "posix", "ar", "bg", "ca", "cs", "da", "de", "el", "es", "et", "fa", "fi", "fr", "he",
         "hi", "hr", "hu", "id", "is", "it", "ja", "ko", "lt", "lv", "ms", "nb", "nl", "no", "pl",
         "pt", "pt-br", "ro", "ru", "sk", "sl", "sr", "sv", "th", "tr", "uk", "vi")


class SystemVoiceError(Exception):
    """One line for the person."""


def speechd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "speech-dispatcher"


def _quoted(word: str) -> str:
    """A shell word inside GenericExecuteSynth's double-quoted string (which writes ' as \\')."""
    return shlex.quote(word).replace("'", "\\'")


def client_command() -> str:
    """How the generic module starts the client: fast, with nothing of the app loaded."""
    if getattr(sys, "frozen", False):
        return f"{_quoted(sys.executable)} say"
    script = Path(__file__).resolve().with_name("say_client.py")
    return f"{_quoted(sys.executable)} -I -S {_quoted(str(script))}"


def module_text(config: Path, port: int | None = None, voice: str | None = None) -> str:
    """modules/voicebank.conf. `config` is the folder with the service's token."""
    client = (f"{client_command()} --config {_quoted(str(config))}"
              + (f" --port {int(port)}" if port else "")
              + " --rate $RATE --volume $VOLUME --pitch $PITCH --language \\'$LANGUAGE\\' --voice \\'$VOICE\\'")
    lines = [
        HEADER,
        "# speech-dispatcher's generic module runs the command below for each message; the client",
        "# streams the WAV from the voicebank speech service to $PLAY_COMMAND. On stop, speech-",
        "# dispatcher kills the command, the connection closes and the service stops its work.",
        "Debug 0",
        f"GenericExecuteSynth \"printf %s \\'$DATA\\' | {client} | $PLAY_COMMAND\"",
        "GenericRateForceInteger 1",
        "GenericVolumeForceInteger 1",
        "GenericPitchForceInteger 1",
        # One message, one request: the service streams its sentences while the first plays. Cut
        # into pieces (the default, at ". "), each sentence would wait for the one before it to
        # finish playing before its synthesis even began, and a message recorded by the person
        # would no longer match. The divider and the characters to strip are a control
        # character no text holds (an empty string would mean the defaults).
        "GenericMaxChunkLength 2000",
        "GenericDelimiters \"\x1f\"",
        "GenericStripPunctChars \"\x1f\"",
    ]
    for code in ZH:
        lines.append(f'GenericLanguage "{code}" "zh" "utf-8"')
    for code in EN:
        lines.append(f'GenericLanguage "{code}" "en" "utf-8"')
    for code in OTHER:
        lines.append(f'GenericLanguage "{code}" "{code}" "utf-8"')
    name = voice or "default"
    lines += [f'AddVoice "zh" "FEMALE1" "{name}"', f'AddVoice "en" "FEMALE1" "{name}"',
              f'DefaultVoice "{name}"', ""]
    return "\n".join(lines)


def _active(line: str, keyword: str) -> bool:
    return line.strip().lower().startswith(keyword.lower()) and not line.strip().startswith("#")


def _without_block(text: str) -> tuple[str, bool]:
    out, inside, found = [], False, False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == BEGIN:
            inside = found = True
        elif inside and line.rstrip("\r\n") == END:
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out), found


def _dependencies_met(conf: Path) -> bool:
    try:
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if _active(line, "GenericCmdDependency"):
            command = line.split(None, 1)[1].strip().strip('"') if len(line.split(None, 1)) > 1 else ""
            if command and shutil.which(command) is None:
                return False
    return True


def detected_modules(user_dir: Path) -> list[tuple[str, str, str]]:
    """(name, binary, config) of the modules speech-dispatcher finds by itself when speechd.conf
    names none: its sd_* programs, and generic-module configurations whose commands exist."""
    found: dict[str, tuple[str, str, str]] = {}
    for pattern in (*MODULE_DIRS, str(Path.home() / ".local/libexec/speech-dispatcher-modules")):
        for binary in sorted(glob.glob(os.path.join(pattern, "sd_*"))):
            name = os.path.basename(binary)[3:]
            if name in ("generic", "dummy") or name in found or not os.access(binary, os.X_OK):
                continue
            found[name] = (name, os.path.basename(binary), f"{name}.conf")
    for folder in (SYSTEM_CONFIG / "modules", user_dir / "modules"):
        for conf in sorted(folder.glob("*-generic.conf")):
            name = conf.name[:-len(".conf")]
            if name not in found and _dependencies_met(conf):
                found[name] = (name, "sd_generic", conf.name)
    first = [found.pop(n) for n in ("espeak-ng", "espeak") if n in found]   # the usual default first
    return first + list(found.values()) + [("dummy", "sd_dummy", "")]


def _block(text_without: str, user_dir: Path) -> str:
    lines = [BEGIN]
    if not any(_active(line, "AddModule") for line in text_without.splitlines()):
        lines.append("# This file named no module, so speech-dispatcher found them itself; adding one")
        lines.append("# turns that off, so the ones it found are named here too.")
        for name, binary, conf in detected_modules(user_dir):
            lines.append(f'AddModule "{name}" "{binary}" "{conf}"')
    lines.append(f'AddModule "{MODULE}" "sd_generic" "{MODULE_FILE}"')
    lines.append(END)
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _system_conf_text() -> str:
    try:
        return (SYSTEM_CONFIG / "speechd.conf").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def install(config: Path, port: int | None = None, voice: str | None = None,
            user_dir: Path | None = None) -> Outcome:
    user_dir = user_dir or speechd_dir()
    outcome = Outcome()
    module = user_dir / "modules" / MODULE_FILE
    if module.exists() and HEADER not in module.read_text(encoding="utf-8", errors="replace"):
        raise SystemVoiceError(f"{module} exists and was not written by voicebank; move it away first")
    _write(module, module_text(config, port, voice))
    outcome.written.append(module)
    conf = user_dir / "speechd.conf"
    try:
        text = conf.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        text = _system_conf_text()
    rest, _ = _without_block(text)
    if rest and not rest.endswith("\n"):
        rest += "\n"
    mode = conf.stat().st_mode & 0o777 if conf.exists() else 0o644
    _write(conf, rest + _block(rest, user_dir), mode)
    outcome.written.append(conf)
    return outcome


def remove(user_dir: Path | None = None) -> Outcome:
    user_dir = user_dir or speechd_dir()
    outcome = Outcome()
    conf = user_dir / "speechd.conf"
    if conf.exists():
        rest, found = _without_block(conf.read_text(encoding="utf-8", errors="surrogateescape"))
        if found:
            if rest == _system_conf_text() or not rest.strip():
                conf.unlink()               # install made it from the system's; nothing else changed
                outcome.removed.append(conf)
            else:
                _write(conf, rest, conf.stat().st_mode & 0o777)
                outcome.kept.append(conf)
    module = user_dir / "modules" / MODULE_FILE
    if module.exists():
        if HEADER in module.read_text(encoding="utf-8", errors="replace"):
            module.unlink()
            outcome.removed.append(module)
            try:
                module.parent.rmdir()       # only when empty
            except OSError:
                pass
        else:
            outcome.kept.append(module)
    return outcome


def installed(user_dir: Path | None = None) -> bool:
    user_dir = user_dir or speechd_dir()
    conf = user_dir / "speechd.conf"
    try:
        return _without_block(conf.read_text(encoding="utf-8", errors="replace"))[1] \
            and (user_dir / "modules" / MODULE_FILE).exists()
    except OSError:
        return False


def add_system_voice_parser(sub) -> None:
    p = sub.add_parser("system-voice", help="your voice as a system voice for other programs "
                       "(Linux: speech-dispatcher, for spd-say and Orca)")
    p.add_argument("action", choices=("install", "remove", "status"),
                   help="install: add your voice to speech-dispatcher; remove: take it out; status: say which")
    p.add_argument("--port", type=int, help="the speech service's port, if not the default (9880)")
    p.add_argument("--voice", help="a voice id to speak with (default: the service's default voice)")
    p.set_defaults(func=cmd_system_voice)
    p = sub.add_parser("say", help="say a text through the speech service; WAV to stdout "
                       "(the system voice's client)")
    from voicebank.say_client import add_arguments
    add_arguments(p)
    p.set_defaults(func=cmd_say)


def cmd_say(args) -> int:
    from voicebank.say_client import run
    return run(args)


def cmd_system_voice(args) -> int:
    from core.service.security import token_path
    if sys.platform != "linux":
        print("voicebank system-voice: on this system, see docs/system-voices.md; only Linux "
              "(speech-dispatcher) is built so far.", file=sys.stderr)
        return 1
    if args.action == "status":
        print(f"the voicebank system voice is {'installed' if installed() else 'not installed'} "
              f"in {speechd_dir()}")
        return 0
    try:
        if args.action == "install":
            install(token_path().parent, args.port, args.voice)
            print(f"installed the speech-dispatcher voice \"{MODULE}\" in {speechd_dir()}. Keep the service "
                  "running (`voicebank serve`), restart speech-dispatcher (`killall speech-dispatcher`; "
                  f"it starts again when needed), then try: spd-say -o {MODULE} \"hello\". In Orca: "
                  f"Preferences, Voice, Speech synthesizer: {MODULE}.")
            if shutil.which("speech-dispatcher") is None:
                print("speech-dispatcher is not installed: sudo apt-get install speech-dispatcher")
        else:
            outcome = remove()
            print(f"removed the speech-dispatcher voice \"{MODULE}\" from {speechd_dir()}"
                  + ("" if outcome.removed or outcome.kept else " (it was not installed)")
                  + "; restart speech-dispatcher to forget it.")
    except (OSError, SystemVoiceError) as exc:
        print(f"voicebank system-voice: {exc}", file=sys.stderr)
        return 1
    return 0
